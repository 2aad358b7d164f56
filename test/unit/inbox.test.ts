/**
 * The durable inbox (src/inbox/inbox.ts) over a storage that behaves as a
 * Durable Object's (keys listed in order, values copied on write), and
 * Telegram's webhook checks (src/inbox/telegram.ts).
 */
import { describe, expect, it } from 'vitest';
import { backoffMs, Inbox, INBOX_MAX_ATTEMPTS, INBOX_MAX_PENDING, type InboxMessage, type InboxStorage } from '../../src/inbox/inbox.ts';
import { parseDiscordIds } from '../../src/inbox/chat-ids.ts';
import { parseTelegramIds, parseTelegramUpdate, sameSecret, telegramCall, validWebhookSecret } from '../../src/inbox/telegram.ts';

/** A Durable Object's key-value storage as the inbox sees it: ordered listing, structured copies. */
class MemoryStorage implements InboxStorage {
  readonly data = new Map<string, unknown>();
  writes = 0;
  async get<T>(key: string): Promise<T | undefined> {
    return structuredClone(this.data.get(key)) as T | undefined;
  }
  async put(entries: Record<string, unknown>): Promise<void> {
    this.writes += 1;
    for (const [k, v] of Object.entries(entries)) this.data.set(k, structuredClone(v));
  }
  async delete(keys: string[]): Promise<number> {
    return keys.filter((k) => this.data.delete(k)).length;
  }
  async list<T>(options: { prefix: string; limit?: number }): Promise<Map<string, T>> {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(options.prefix)).sort();
    return new Map(keys.slice(0, options.limit ?? keys.length).map((k) => [k, structuredClone(this.data.get(k)) as T]));
  }
}

const message = (n: number, sender = '42') => ({ id: `telegram:${n}`, channel: 'telegram' as const, sender, chat: sender, payload: `{"update_id":${n}}` });

describe('the durable inbox', () => {
  it('should keep messages in the order they came, refuse a redelivery, and survive a new instance over the same storage', async () => {
    const storage = new MemoryStorage();
    let now = 1_000_000;
    const inbox = new Inbox(storage, () => now);
    expect(await inbox.accept(message(1))).toBe('stored');
    now += 10;
    expect(await inbox.accept(message(2))).toBe('stored');
    expect(await inbox.accept(message(1))).toBe('duplicate');
    // A restart of the Durable Object: a new inbox over what was stored.
    const again = new Inbox(storage, () => now);
    expect((await again.pending()).map((m) => m.id)).toEqual(['telegram:1', 'telegram:2']);
    const handed: string[] = [];
    expect(await again.drain(async (m) => void handed.push(m.id))).toBeNull();
    expect(handed).toEqual(['telegram:1', 'telegram:2']);
    expect(await again.accept(message(2))).toBe('duplicate');
    const s = await again.status();
    expect(s).toMatchObject({ pending: 0, delivered: 2, lastDelivery: { id: 'telegram:2', attempts: 1 } });
  });

  it('should hold the order behind a failed try, back off doubling, and dead-letter after the last try with its sender told', async () => {
    let now = 0;
    const inbox = new Inbox(new MemoryStorage(), () => now);
    await inbox.accept(message(1));
    await inbox.accept(message(2));
    const handed: string[] = [];
    const dead: string[] = [];
    const failing = async (m: InboxMessage) => {
      handed.push(m.id);
      if (m.id === 'telegram:1') throw new Error('gateway not ready');
    };
    const waits: number[] = [];
    for (let attempt = 1; attempt < INBOX_MAX_ATTEMPTS; attempt += 1) {
      const next = await inbox.drain(failing, async (d) => void dead.push(d.id));
      expect(next).toBe(now + backoffMs(attempt));
      waits.push((next as number) - now);
      // Not before its time: nothing is tried.
      expect(await inbox.drain(failing)).toBe(next);
      now = next as number;
    }
    expect(handed.every((id) => id === 'telegram:1')).toBe(true);
    expect(waits.slice(0, 3)).toEqual([2_000, 4_000, 8_000]);
    expect(Math.max(...waits)).toBeLessThanOrEqual(5 * 60_000);
    // The last try fails: dead-lettered, its sender told, and the one behind it goes through.
    expect(await inbox.drain(failing, async (d) => void dead.push(d.id))).toBeNull();
    expect(dead).toEqual(['telegram:1']);
    expect(handed.at(-1)).toBe('telegram:2');
    const s = await inbox.status();
    expect(s.deadLetters).toEqual([expect.objectContaining({ id: 'telegram:1', attempts: INBOX_MAX_ATTEMPTS, lastError: 'gateway not ready' })]);
    expect(s).toMatchObject({ pending: 0, delivered: 1 });
  });

  it('should refuse past its bound and an oversized payload, storing nothing', async () => {
    const storage = new MemoryStorage();
    const inbox = new Inbox(storage, () => 0);
    expect(await inbox.accept({ ...message(0), payload: 'x'.repeat(300 * 1024) })).toBe('too_large');
    for (let n = 1; n <= INBOX_MAX_PENDING; n += 1) expect(await inbox.accept(message(n))).toBe('stored');
    expect(await inbox.accept(message(INBOX_MAX_PENDING + 1))).toBe('full');
    expect((await inbox.status()).pending).toBe(INBOX_MAX_PENDING);
  });

  it('should tell a sender the assistant is hibernated once a day, not once a message', async () => {
    let now = 0;
    const inbox = new Inbox(new MemoryStorage(), () => now);
    expect(await inbox.noticeDue('telegram', '42')).toBe(true);
    now += 3600_000;
    expect(await inbox.noticeDue('telegram', '42')).toBe(false);
    expect(await inbox.noticeDue('telegram', '43')).toBe(true);
    now += 24 * 3600_000;
    expect(await inbox.noticeDue('telegram', '42')).toBe(true);
  });

  it('should count what it refused, with the last reason', async () => {
    const inbox = new Inbox(new MemoryStorage(), () => 5);
    await inbox.refused('telegram', '666', 'sender not in TELEGRAM_ALLOWED_USER_IDS');
    expect(await inbox.status()).toMatchObject({ refused: 1, lastRefused: { sender: '666', reason: expect.stringContaining('TELEGRAM_ALLOWED_USER_IDS') } });
  });
});

describe("Telegram's webhook checks", () => {
  it('should compare secrets whole, and know a valid one', () => {
    expect(sameSecret('abc-123', 'abc-123')).toBe(true);
    expect(sameSecret('abc-123', 'abc-124')).toBe(false);
    expect(sameSecret('abc', 'abc-123')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
    expect(validWebhookSecret('a_B-9'.repeat(10))).toBe(true);
    expect(validWebhookSecret('has space')).toBe(false);
    expect(validWebhookSecret('x'.repeat(257))).toBe(false);
  });

  it('should read the sender list, refusing what is not a numeric user id', () => {
    expect([...parseTelegramIds('123, tg:456 telegram:789')]).toEqual(['123', '456', '789']);
    expect(parseTelegramIds(undefined).size).toBe(0);
    expect(() => parseTelegramIds('123,@someone')).toThrow(/@someone/);
  });

  it("should find a person's message, edit or button press, and drop what is not from one", () => {
    const msg = (extra: object) => JSON.stringify({ update_id: 7, ...extra });
    expect(
      parseTelegramUpdate(msg({ message: { message_id: 1, from: { id: 42, is_bot: false }, chat: { id: 42, type: 'private' }, text: 'hi' } })),
    ).toMatchObject({
      updateId: 7,
      sender: '42',
      chat: '42',
    });
    expect(parseTelegramUpdate(msg({ edited_message: { from: { id: 42 }, chat: { id: -100 } } }))).toMatchObject({ sender: '42', chat: '-100' });
    expect(parseTelegramUpdate(msg({ callback_query: { from: { id: 42 }, message: { chat: { id: 9 } } } }))).toMatchObject({ chat: '9' });
    expect(parseTelegramUpdate(msg({ message: { from: { id: 5, is_bot: true }, chat: { id: 5 } } }))).toBeNull();
    expect(parseTelegramUpdate(msg({ channel_post: { chat: { id: -1 } } }))).toBeNull();
    expect(parseTelegramUpdate(msg({ message: { from: { id: 'x' }, chat: { id: 1 } } }))).toBeNull();
    expect(() => parseTelegramUpdate('not json')).toThrow(/JSON/);
    expect(() => parseTelegramUpdate('{"message":{}}')).toThrow(/update_id/);
  });

  it("should call the Bot API with the Worker's token, and fail on Telegram's refusal", async () => {
    const calls: Array<{ url: string; body: unknown }> = [];
    const fake = (ok: boolean) =>
      (async (url: string, init?: RequestInit) => {
        calls.push({ url, body: JSON.parse(String(init?.body)) });
        return Response.json(ok ? { ok: true, result: true } : { ok: false, description: 'Forbidden: bot was blocked by the user' }, {
          status: ok ? 200 : 403,
        });
      }) as unknown as typeof fetch;
    await telegramCall('123:real', 'sendChatAction', { chat_id: '42', action: 'typing' }, 'https://tg.example', fake(true));
    expect(calls[0]).toEqual({ url: 'https://tg.example/bot123:real/sendChatAction', body: { chat_id: '42', action: 'typing' } });
    await expect(telegramCall('123:real', 'sendMessage', { chat_id: '42', text: 'x' }, 'https://tg.example', fake(false))).rejects.toThrow(/blocked/);
  });
});

describe('the allowed-sender lists', () => {
  it("should read Discord's user ids (a mention's form and a prefix allowed) and refuse anything that is not one, naming the setting", () => {
    expect([...parseDiscordIds('220000000000000002, <@!220000000000000003> discord:220000000000000004')]).toEqual([
      '220000000000000002',
      '220000000000000003',
      '220000000000000004',
    ]);
    expect(parseDiscordIds('').size).toBe(0);
    expect(() => parseDiscordIds('4242')).toThrow(/DISCORD_ALLOWED_USER_IDS: "4242"/);
    expect(() => parseTelegramIds('abc')).toThrow(/TELEGRAM_ALLOWED_USER_IDS: "abc"/);
  });
});
