/** The inbox's shapes that cross the Worker, the Agent's RPC and its controller (a leaf: it imports nothing). */

/** The Telegram bot, as the Worker holds it. */
export interface TelegramBot {
  token: string;
  /** What the gateway's listener checks (derived from the webhook secret; never Telegram's own). */
  listenerSecret: string;
  apiOrigin?: string;
}

/** The Discord bot, as the Worker holds it (the relay's token; the notes it sends itself). */
export interface DiscordBot {
  token: string;
  /** What the gateway's agent hook checks (derived from the token; never Discord's own). */
  hookToken: string;
  apiOrigin?: string;
}

/** What the inbox needs of an update. */
export interface TelegramUpdate {
  updateId: number;
  sender: string;
  chat: string;
  /** The raw update, as Telegram sent it (what the gateway's listener is handed). */
  raw: string;
}

/** What the webhook answers the platform, and what it did. */
export type Receipt = 'stored' | 'duplicate' | 'full' | 'too_large' | 'hibernated';
