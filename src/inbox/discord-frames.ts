/**
 * Discord's gateway protocol as the relay speaks it (API v10, JSON): the
 * opcodes and close codes, the frames, the session state kept across a
 * restart, and which MESSAGE_CREATE is for the bot. A leaf: it imports
 * nothing.
 */
/** Gateway opcodes (discord.com/developers/docs/topics/opcodes-and-status-codes). */
export const OP = { dispatch: 0, heartbeat: 1, identify: 2, resume: 6, reconnect: 7, invalidSession: 9, hello: 10, heartbeatAck: 11 } as const;
/** GUILD_MESSAGES | DIRECT_MESSAGES: a mention's and a DM's content come without the privileged MESSAGE_CONTENT intent. */
export const RELAY_INTENTS = (1 << 9) | (1 << 12);
/** Close codes after which Discord says not to reconnect: a bad token, a bad shard, a bad API version, bad or disallowed intents. */
export const FATAL_CLOSES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
/** Close codes after which the session is gone (a bad sequence, a timed-out session): identify anew. */
export const SESSION_LOST_CLOSES = new Set([4007, 4009]);
/** Our own close when we mean to resume (not 1000/1001, which end the session on Discord's side). */
export const CLOSE_TO_RESUME = 4900;
export const MAX_RECONNECT_DELAY_MS = 60_000;

/** What the session keeps across a restart of whatever runs it (enough to resume). */
export interface GatewaySessionState {
  sessionId: string | null;
  resumeUrl: string | null;
  seq: number | null;
  botUserId: string | null;
}

export const NO_SESSION: GatewaySessionState = { sessionId: null, resumeUrl: null, seq: null, botUserId: null };

/** A message for the bot: a direct message, or a mention of it in a guild channel, from a person. */
export interface DiscordInbound {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  /** The dispatch's `d`, as Discord sent it. */
  raw: unknown;
}

/** The socket the session is handed (workerd's and Node's WebSocket, each behind a small adapter). */
export interface GatewaySocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onMessage(listener: (data: unknown) => void): void;
  onClose(listener: (code: number, reason: string) => void): void;
}

/** The adapter for a standard WebSocket (workerd's after accept(), Node's global one). */
export function standardSocket(ws: WebSocket): GatewaySocket {
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    onMessage: (listener) => ws.addEventListener('message', (event) => listener(event.data)),
    onClose: (listener) => ws.addEventListener('close', (event) => listener(event.code, event.reason)),
  };
}

export interface GatewayHooks {
  /** Opens a socket to a gateway URL (`?v=10&encoding=json` already on it). */
  open(url: string): Promise<GatewaySocket>;
  /** A message for the bot arrived. Awaited before the session's state is saved past it. */
  message(message: DiscordInbound): Promise<void>;
  /** The state to keep (after READY, RESUMED and each dispatch). */
  save(state: GatewaySessionState): Promise<void>;
  /** Why the session stopped for good (a fatal close); it does not reconnect. */
  failed(reason: string): void;
  log?(line: string): void;
  random?(): number;
  /** A frame came in from Discord (each one a request the relay's object is billed for). */
  received?(): void;
}

export type GatewayPhase = 'closed' | 'connecting' | 'identifying' | 'resuming' | 'connected' | 'failed';

export interface Frame {
  op: number;
  d?: unknown;
  s?: number | null;
  t?: string | null;
}

export function parseFrame(data: unknown): Frame | null {
  if (typeof data !== 'string' || data.length > 1_048_576) return null;
  try {
    const frame = JSON.parse(data) as Frame;
    return typeof frame === 'object' && frame !== null && typeof frame.op === 'number' ? frame : null;
  } catch {
    return null;
  }
}

export const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : null);

/** A MESSAGE_CREATE for the bot, or null: from a bot (itself included), or in a guild without mentioning it. */
export function inboundFor(d: unknown, botUserId: string | null): DiscordInbound | null {
  if (typeof d !== 'object' || d === null) return null;
  const m = d as { id?: unknown; channel_id?: unknown; guild_id?: unknown; author?: { id?: unknown; bot?: unknown }; content?: unknown; mentions?: unknown };
  const id = str(m.id);
  const channelId = str(m.channel_id);
  const authorId = str(m.author?.id);
  if (!id || !channelId || !authorId || m.author?.bot === true || authorId === botUserId) return null;
  const guildId = str(m.guild_id);
  const mentioned = Array.isArray(m.mentions) && m.mentions.some((u) => typeof u === 'object' && u !== null && (u as { id?: unknown }).id === botUserId);
  if (guildId !== null && !mentioned) return null;
  return { id, channelId, guildId, authorId, content: typeof m.content === 'string' ? m.content : '', raw: d };
}

/** A gateway URL (Discord's, or the resume URL READY gave) with the version and encoding the session speaks. */
export function gatewayUrlFor(base: string): string {
  const url = new URL(base);
  url.searchParams.set('v', '10');
  url.searchParams.set('encoding', 'json');
  return url.href;
}

export interface RelayStatus {
  holding: boolean;
  phase: GatewayPhase;
  /** When the relay last started holding. */
  since: string | null;
  /** Messages handed to the inbox since the relay was created. */
  received: number;
  lastMessageAt: string | null;
  /** Why it stopped for good (a bad token, disallowed intents), until the next hold. */
  failure: string | null;
}

/**
 * The relay's own meter of a calendar month (UTC), what the cost guard prices:
 * how long it held the session (billed duration) and the requests it was
 * billed for (each alarm, each frame from Discord).
 */
export interface RelayUsage {
  /** `YYYY-MM`. */
  month: string;
  heldSeconds: number;
  requests: number;
  holding: boolean;
}

/** What the Worker asks of the relay (src/inbox/discord-relay.ts). */
export interface DiscordRelayApi {
  hold(): Promise<RelayStatus>;
  release(): Promise<RelayStatus>;
  status(): Promise<RelayStatus>;
  usage(): Promise<RelayUsage>;
}

/** The relay's namespace binding, whichever class it binds. */
export type RelayNamespace = DurableObjectNamespace<DiscordRelayApi & Rpc.DurableObjectBranded>;
