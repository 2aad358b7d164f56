/**
 * What the Agent does with its inbox: takes a message the Worker checked
 * (stored before the platform is answered), tells a hibernated
 * assistant's sender why it does not answer (once a day), wakes a
 * sleeping one (counted, and limited like every wake), and, once the
 * gateway serves, hands the messages over in order through the channel's
 * own durable path, retrying with backoff and dead-lettering with a note
 * to the sender.
 *
 * Telegram's path: the gateway's Telegram webhook listener (OpenClaw's
 * webhook mode), which answers `x-openclaw-delivery-accepted: durable` once
 * the update is in its own durable queue; only then is it forgotten here.
 * Discord's: the gateway's agent hook, once the turn ran (discord-hooks.ts).
 */
import type { LifecycleState } from '../../machines/lifecycle-types.ts';
import { AppError, errorMessage } from '../errors.ts';
import type { DiscordInbound } from './discord-frames.ts';
import { DISCORD_API_ORIGIN, discordCall } from './discord-rest.ts';
import { discordHookAdopted, discordHookRequest, type KeptDiscordMessage } from './discord-hooks.ts';
import type { DeadLetter, Inbox, InboxChannel, InboxMessage, InboxStatus } from './inbox.ts';
import { TELEGRAM_API_ORIGIN, TELEGRAM_SECRET_HEADER, telegramCall } from './telegram.ts';
import type { DiscordBot, Receipt, TelegramBot, TelegramUpdate } from './inbox-types.ts';
export type { Receipt };

/** The header OpenClaw sets once an update is in its durable ingress queue. */
export const DELIVERY_ACCEPTED_HEADER = 'x-openclaw-delivery-accepted';
/** The path of the gateway's Telegram webhook listener (OpenClaw's default). */
export const TELEGRAM_LISTENER_PATH = '/telegram-webhook';

export interface InboxWorkDeps {
  inbox: Inbox;
  telegram: TelegramBot | null;
  discord?: DiscordBot | null;
  state: () => LifecycleState;
  /** Whether the gateway takes requests now (ready or idle, no stop under way). */
  serving: () => boolean;
  hibernationReason: () => string | null;
  /** Wakes the assistant for `identity`; throws when the wake limit or the budget refuses. */
  wake: (identity: string, reason: string) => Promise<void>;
  /** Sends a request to the gateway's listener for a channel. */
  toListener: (channel: 'telegram', request: Request) => Promise<Response>;
  /** Sends a request to the gateway itself (its agent hook). */
  toGateway: (request: Request) => Promise<Response>;
  log: (event: string, fields: Record<string, unknown>) => void;
  fetcher?: typeof fetch;
}

export class InboxWork {
  readonly #deps: InboxWorkDeps;
  #draining: Promise<void> | null = null;
  /** The inbox's status as last read (the Agent's status is built without waiting on storage). */
  snapshot: InboxStatus | null = null;

  constructor(deps: InboxWorkDeps) {
    this.#deps = deps;
  }

  /** Rereads the status snapshot. */
  async refresh(): Promise<InboxStatus> {
    this.snapshot = await this.#deps.inbox.status();
    return this.snapshot;
  }

  /** A Telegram update from an allowed sender (the Worker checked the secret and the sender list). */
  async telegram(update: TelegramUpdate): Promise<Receipt> {
    return this.#received({ id: `telegram:${update.updateId}`, channel: 'telegram', sender: update.sender, chat: update.chat, payload: update.raw });
  }

  /** A Discord message for the bot from an allowed sender (the relay checked the sender list). */
  async discord(message: DiscordInbound): Promise<Receipt> {
    if (!this.#deps.discord) throw new AppError('not_configured', 'no Discord bot is connected (DISCORD_BOT_TOKEN)');
    const kept: KeptDiscordMessage = {
      id: message.id,
      channelId: message.channelId,
      guildId: message.guildId,
      authorId: message.authorId,
      content: message.content,
    };
    const payload = JSON.stringify(kept);
    return this.#received({ id: `discord:${message.id}`, channel: 'discord', sender: message.authorId, chat: message.channelId, payload });
  }

  async #received(message: Pick<InboxMessage, 'id' | 'channel' | 'sender' | 'chat' | 'payload'>): Promise<Receipt> {
    try {
      return await this.#receive(message);
    } finally {
      await this.refresh().catch(() => undefined);
    }
  }

  /** A sender the Worker refused (not on the sender list). */
  async refused(channel: InboxChannel, sender: string, reason: string): Promise<void> {
    await this.#deps.inbox.refused(channel, sender, reason);
    this.#deps.log('inbox:refused', { channel, sender, reason });
    await this.refresh().catch(() => undefined);
  }

  async #receive(message: Pick<InboxMessage, 'id' | 'channel' | 'sender' | 'chat' | 'payload'>): Promise<Receipt> {
    const { inbox } = this.#deps;
    const { channel, sender, chat } = message;
    const accepted = await inbox.accept(message);
    this.#deps.log('inbox:received', { channel, sender, result: accepted, state: this.#deps.state() });
    if (accepted === 'too_large') await this.#note(channel, chat, 'That message is too large for the assistant to take; please send something shorter.');
    if (accepted !== 'stored') return accepted;
    const state = this.#deps.state();
    if (state === 'hibernated') {
      // Kept for when the owner resumes it; the sender hears why once a day.
      if (await inbox.noticeDue(channel, sender)) {
        const reason = this.#deps.hibernationReason() ?? 'hibernated';
        await this.#note(channel, chat, `The assistant is hibernated (${reason}); the owner can resume it. Your message is kept until then.`);
      }
      return 'hibernated';
    }
    if (this.#deps.serving()) {
      this.kick();
      return 'stored';
    }
    await this.#typing(channel, chat);
    if (state === 'stopped' || state === 'sleeping') {
      try {
        await this.#deps.wake(`${channel}:${sender}`, `a ${CHANNEL_NAMES[channel]} message`);
        await inbox.wokeFor();
      } catch (error) {
        // Kept: delivered at the next wake. The sender hears why now.
        this.#deps.log('inbox:wake-refused', { channel, message: errorMessage(error) });
        await this.#note(channel, chat, `The assistant could not wake now (${errorMessage(error)}); your message is kept and answered once it runs.`);
      }
    }
    return 'stored';
  }

  /**
   * The owner resumed a hibernated assistant: messages kept through the
   * hibernation (their senders were told they would be) wake it now.
   */
  async resumed(): Promise<void> {
    const waiting = (await this.refresh()).pending;
    if (waiting === 0) return;
    this.#deps.log('inbox:wake-after-resume', { pending: waiting });
    try {
      await this.#deps.wake('inbox', `${waiting} message(s) kept through the hibernation`);
      await this.#deps.inbox.wokeFor();
    } catch (error) {
      this.#deps.log('inbox:wake-refused', { message: errorMessage(error) });
    }
    await this.refresh().catch(() => undefined);
  }

  /** Starts a drain unless one runs (the gateway just became ready, a message came, a retry is due). */
  kick(): Promise<void> {
    if (!this.#deps.serving()) return Promise.resolve();
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  /** A retry waits for its time: the next drain (the Agent starts one at every change check while the gateway serves) tries again. */
  async #drain(): Promise<void> {
    try {
      await this.#deps.inbox.drain(
        (m) => this.#deliver(m),
        (d) => this.#dead(d),
      );
    } catch (error) {
      this.#deps.log('inbox:drain-failed', { message: errorMessage(error) });
    } finally {
      await this.refresh().catch(() => undefined);
    }
  }

  async #deliver(message: InboxMessage): Promise<void> {
    if (!this.#deps.serving()) throw new Error('the gateway stopped serving');
    if (message.channel === 'discord') return this.#deliverDiscord(message);
    const telegram = this.#deps.telegram;
    if (!telegram) throw new Error(`no ${message.channel} channel is configured`);
    const request = new Request(`http://gateway${TELEGRAM_LISTENER_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TELEGRAM_SECRET_HEADER]: telegram.listenerSecret },
      body: message.payload,
    });
    const answer = await this.#deps.toListener('telegram', request);
    await answer.body?.cancel().catch(() => undefined);
    if (answer.status !== 200 || answer.headers.get(DELIVERY_ACCEPTED_HEADER) !== 'durable') {
      throw new Error(`the gateway's Telegram listener answered ${answer.status} without durable adoption`);
    }
    this.#deps.log('inbox:delivered', { id: message.id, attempts: message.attempts + 1 });
  }

  /** A Discord message, through the gateway's agent hook; forgotten once its turn ran. */
  async #deliverDiscord(message: InboxMessage): Promise<void> {
    const discord = this.#deps.discord;
    if (!discord) throw new Error('no Discord bot is connected');
    await discordHookAdopted(await this.#deps.toGateway(discordHookRequest(message.payload, discord.hookToken)));
    this.#deps.log('inbox:delivered', { id: message.id, attempts: message.attempts + 1 });
  }

  async #dead(letter: DeadLetter): Promise<void> {
    this.#deps.log('inbox:dead-letter', { id: letter.id, attempts: letter.attempts, message: letter.lastError });
    await this.#note(
      letter.channel,
      letter.chat,
      `Your message could not be handed to the assistant after ${letter.attempts} tries (${letter.lastError ?? 'no answer'}). Please send it again later.`,
    );
  }

  /** A short note from the Worker itself (the assistant cannot send it now). Best effort. */
  async #note(channel: InboxChannel, chat: string, text: string): Promise<void> {
    await this.#say(channel, chat, text);
  }

  /** "typing…" while the assistant wakes. Best effort. */
  async #typing(channel: InboxChannel, chat: string): Promise<void> {
    await this.#say(channel, chat, null);
  }

  /** A note (`text`) or "typing…" (null) on the channel's own API, with the Worker's token. */
  async #say(channel: InboxChannel, chat: string, text: string | null): Promise<void> {
    const { telegram, discord, fetcher } = this.#deps;
    try {
      if (channel === 'telegram' && telegram) {
        const origin = telegram.apiOrigin ?? TELEGRAM_API_ORIGIN;
        if (text === null) await telegramCall(telegram.token, 'sendChatAction', { chat_id: chat, action: 'typing' }, origin, fetcher);
        else await telegramCall(telegram.token, 'sendMessage', { chat_id: chat, text }, origin, fetcher);
      } else if (channel === 'discord' && discord) {
        const call = text === null ? { kind: 'typing' as const, channel: chat } : { kind: 'message' as const, channel: chat, text };
        await discordCall(discord.token, call, discord.apiOrigin ?? DISCORD_API_ORIGIN, fetcher);
      }
    } catch (error) {
      this.#deps.log('inbox:note-failed', { channel, message: errorMessage(error) });
    }
  }
}

const CHANNEL_NAMES: Record<InboxChannel, string> = { telegram: 'Telegram', discord: 'Discord' };
