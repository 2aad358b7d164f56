/**
 * The assistant's durable inbox: chat messages (Telegram, Discord) that
 * arrive while the gateway cannot take them are kept in the Durable
 * Object's storage, in the order they came, until the gateway has adopted
 * each one durably. A message is stored before the platform is answered,
 * so nothing is lost across a crash of the container, a restart of the
 * Durable Object or a deploy between receipt and delivery.
 *
 * Each message is its own storage key (`inbox/m/<sequence>`), so one large
 * message never makes the index too big to store; the index (`inbox/meta`)
 * keeps the counters, the recent ids for refusing a platform's redelivery,
 * the dead letters and the once-a-day notices.
 */

/** The channels the inbox takes messages from. */
export type InboxChannel = 'telegram' | 'discord';

/** A message waiting for the gateway. */
export interface InboxMessage {
  /** `<channel>:<the platform's event id>` (Telegram's update_id, Discord's message id). */
  id: string;
  channel: InboxChannel;
  /** The sender's platform user id. */
  sender: string;
  /** Where an answer or a note goes (Telegram's chat id, Discord's channel id). */
  chat: string;
  receivedAt: number;
  /** What the gateway is handed: the platform's own payload, as received. */
  payload: string;
  attempts: number;
  /** Not before this time (a backoff after a failed try). */
  nextAt: number;
  lastError: string | null;
}

/** A message given up on: what the status shows, without its payload. */
export type DeadLetter = Omit<InboxMessage, 'payload' | 'nextAt'> & { deadAt: number };

export interface InboxMeta {
  /** The next message's sequence number. */
  sequence: number;
  /** Ids taken in the last DUPLICATE_WINDOW_MS, newest last (a platform redelivers what it thinks was not answered). */
  seen: Array<[id: string, at: number]>;
  delivered: number;
  lastDelivery: { id: string; at: number; attempts: number } | null;
  dead: DeadLetter[];
  refused: number;
  lastRefused: { channel: InboxChannel; sender: string; reason: string; at: number } | null;
  /** When each sender was last told the assistant is hibernated (once a day). */
  notices: Record<string, number>;
  /** Wakes a message started, and the last one. */
  wakes: number;
  lastWakeAt: number | null;
}

/** What the key-value storage of a Durable Object offers, as much as the inbox uses. */
export interface InboxStorage {
  get<T>(key: string): Promise<T | undefined>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T>(options: { prefix: string; limit?: number }): Promise<Map<string, T>>;
}

/** At most this many messages wait; the next is refused (the platform is answered with an error and retries). */
export const INBOX_MAX_PENDING = 200;
/** The largest payload kept. */
export const INBOX_MAX_PAYLOAD_BYTES = 256 * 1024;
/** Tries before a message is dead-lettered (and its sender told). */
export const INBOX_MAX_ATTEMPTS = 8;
/** The first retry's wait; each next one doubles, up to INBOX_MAX_BACKOFF_MS. */
export const INBOX_FIRST_BACKOFF_MS = 2_000;
export const INBOX_MAX_BACKOFF_MS = 5 * 60_000;
/** How long a delivered or stored id refuses a redelivery of itself. */
const DUPLICATE_WINDOW_MS = 24 * 3600_000;
const MAX_SEEN = 2_000;
const MAX_DEAD = 50;
const NOTICE_EVERY_MS = 24 * 3600_000;

const META_KEY = 'inbox/meta';
const MESSAGE_PREFIX = 'inbox/m/';

/** What `accept` did with a message. */
export type Accepted = 'stored' | 'duplicate' | 'full' | 'too_large';

/** The inbox's part of the status. */
export interface InboxStatus {
  pending: number;
  oldestPendingAt: string | null;
  nextTryAt: string | null;
  delivered: number;
  lastDelivery: { id: string; at: string; attempts: number } | null;
  deadLetters: Array<{ id: string; channel: InboxChannel; sender: string; attempts: number; lastError: string | null; deadAt: string }>;
  refused: number;
  lastRefused: { channel: InboxChannel; sender: string; reason: string; at: string } | null;
  wakes: number;
  lastWakeAt: string | null;
}

function emptyMeta(): InboxMeta {
  return { sequence: 1, seen: [], delivered: 0, lastDelivery: null, dead: [], refused: 0, lastRefused: null, notices: {}, wakes: 0, lastWakeAt: null };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The wait before try `attempts + 1`, after `attempts` failed. */
export function backoffMs(attempts: number): number {
  return Math.min(INBOX_FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), INBOX_MAX_BACKOFF_MS);
}

export class Inbox {
  readonly #storage: InboxStorage;
  readonly #now: () => number;

  constructor(storage: InboxStorage, now: () => number = Date.now) {
    this.#storage = storage;
    this.#now = now;
  }

  async #meta(): Promise<InboxMeta> {
    return { ...emptyMeta(), ...((await this.#storage.get<InboxMeta>(META_KEY)) ?? {}) };
  }

  /** The waiting messages, oldest first. */
  async pending(): Promise<InboxMessage[]> {
    return [...(await this.#storage.list<InboxMessage>({ prefix: MESSAGE_PREFIX, limit: INBOX_MAX_PENDING + 1 })).values()];
  }

  /**
   * Stores a message that passed its platform's check and the sender list.
   * A redelivery of an id taken in the last day is a `duplicate` (the
   * platform is answered as for the first).
   */
  async accept(message: Pick<InboxMessage, 'id' | 'channel' | 'sender' | 'chat' | 'payload'>): Promise<Accepted> {
    if (new TextEncoder().encode(message.payload).byteLength > INBOX_MAX_PAYLOAD_BYTES) return 'too_large';
    const now = this.#now();
    const meta = await this.#meta();
    meta.seen = meta.seen.filter(([, at]) => now - at < DUPLICATE_WINDOW_MS);
    if (meta.seen.some(([id]) => id === message.id)) return 'duplicate';
    const waiting = await this.#storage.list({ prefix: MESSAGE_PREFIX, limit: INBOX_MAX_PENDING });
    if (waiting.size >= INBOX_MAX_PENDING) return 'full';
    const key = `${MESSAGE_PREFIX}${String(meta.sequence).padStart(12, '0')}`;
    meta.sequence += 1;
    meta.seen.push([message.id, now]);
    if (meta.seen.length > MAX_SEEN) meta.seen.splice(0, meta.seen.length - MAX_SEEN);
    const stored: InboxMessage = { ...message, receivedAt: now, attempts: 0, nextAt: now, lastError: null };
    // One write: the message and the index that remembers its id land together.
    await this.#storage.put({ [key]: stored, [META_KEY]: meta });
    return 'stored';
  }

  /** Counts a message refused before it was stored (a sender not allowed, a forged request). */
  async refused(channel: InboxChannel, sender: string, reason: string): Promise<void> {
    const meta = await this.#meta();
    meta.refused += 1;
    meta.lastRefused = { channel, sender: sender.slice(0, 40), reason: reason.slice(0, 200), at: this.#now() };
    await this.#storage.put({ [META_KEY]: meta });
  }

  /**
   * Hands the waiting messages to `deliver`, oldest first, while it
   * succeeds: a failed try waits its backoff and holds the ones behind it
   * (the order is kept); after INBOX_MAX_ATTEMPTS it is dead-lettered and
   * `onDead` is told (a note to its sender).
   * @returns when to try again (null: nothing waits).
   */
  async drain(deliver: (message: InboxMessage) => Promise<void>, onDead: (letter: DeadLetter) => Promise<void> = async () => {}): Promise<number | null> {
    for (;;) {
      const entries = await this.#storage.list<InboxMessage>({ prefix: MESSAGE_PREFIX, limit: 1 });
      const first = [...entries][0];
      if (!first) return null;
      const [key, message] = first;
      if (message.nextAt > this.#now()) return message.nextAt;
      try {
        await deliver(message);
      } catch (error) {
        const attempts = message.attempts + 1;
        const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 300);
        if (attempts < INBOX_MAX_ATTEMPTS) {
          await this.#storage.put({ [key]: { ...message, attempts, lastError, nextAt: this.#now() + backoffMs(attempts) } });
          return this.#now() + backoffMs(attempts);
        }
        const meta = await this.#meta();
        const { payload: _payload, nextAt: _nextAt, ...rest } = message;
        const letter: DeadLetter = { ...rest, attempts, lastError, deadAt: this.#now() };
        meta.dead.push(letter);
        if (meta.dead.length > MAX_DEAD) meta.dead.splice(0, meta.dead.length - MAX_DEAD);
        await this.#storage.put({ [META_KEY]: meta });
        await this.#storage.delete([key]);
        await onDead(letter).catch(() => undefined);
        continue;
      }
      const meta = await this.#meta();
      meta.delivered += 1;
      meta.lastDelivery = { id: message.id, at: this.#now(), attempts: message.attempts + 1 };
      await this.#storage.put({ [META_KEY]: meta });
      await this.#storage.delete([key]);
    }
  }

  /**
   * Whether `sender` is due a "hibernated" notice (at most one a day), and
   * if so remembers that it got one now.
   */
  async noticeDue(channel: InboxChannel, sender: string): Promise<boolean> {
    const now = this.#now();
    const meta = await this.#meta();
    const key = `${channel}:${sender}`;
    const last = meta.notices[key];
    if (last !== undefined && now - last < NOTICE_EVERY_MS) return false;
    meta.notices = Object.fromEntries(Object.entries(meta.notices).filter(([, at]) => now - at < NOTICE_EVERY_MS));
    meta.notices[key] = now;
    await this.#storage.put({ [META_KEY]: meta });
    return true;
  }

  /** Counts a wake a message started. */
  async wokeFor(): Promise<void> {
    const meta = await this.#meta();
    meta.wakes += 1;
    meta.lastWakeAt = this.#now();
    await this.#storage.put({ [META_KEY]: meta });
  }

  async status(): Promise<InboxStatus> {
    const meta = await this.#meta();
    const pending = await this.pending();
    const next = pending[0];
    return {
      pending: pending.length,
      oldestPendingAt: next ? iso(next.receivedAt) : null,
      nextTryAt: next ? iso(next.nextAt) : null,
      delivered: meta.delivered,
      lastDelivery: meta.lastDelivery ? { ...meta.lastDelivery, at: iso(meta.lastDelivery.at) } : null,
      deadLetters: meta.dead.map((d) => ({
        id: d.id,
        channel: d.channel,
        sender: d.sender,
        attempts: d.attempts,
        lastError: d.lastError,
        deadAt: iso(d.deadAt),
      })),
      refused: meta.refused,
      lastRefused: meta.lastRefused ? { ...meta.lastRefused, at: iso(meta.lastRefused.at) } : null,
      wakes: meta.wakes,
      lastWakeAt: meta.lastWakeAt === null ? null : iso(meta.lastWakeAt),
    };
  }
}
