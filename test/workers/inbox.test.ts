/**
 * The Telegram inbox in workerd: the webhook route as Telegram calls it
 * (outside Access, its secret checked, the sender list the Worker's), and
 * the Agent's inbox in its Durable Object storage: a message to a sleeping
 * assistant is stored, wakes it, and is handed to the gateway's listener
 * once it serves; a hibernated one says why, once; nothing is lost when the
 * Durable Object restarts between receipt and delivery. The Bot API is the
 * test's (global fetch, spied on); the gateway's listener is the fake
 * container's.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import type { Env } from '../../src/env.ts';
import { telegramBot } from '../../src/inbox/telegram.ts';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhook } from '../../src/inbox/telegram-webhook.ts';
import { fakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { instances, testClock } from './test-worker.ts';
import { SETTLED } from './settled.ts';

const SECRET = 'workers-webhook-secret';
const ALLOWED = 4242;
let counter = 0;
let updateId = 1000;

function freshAgent() {
  const name = `inbox-${Date.now()}-${counter++}`;
  const testEnv: Env = { ...(env as unknown as Env), AGENT_NAME: name };
  return { name, testEnv, stub: env.AGENT.get(env.AGENT.idFromName(name)) };
}

async function status(stub: ReturnType<typeof freshAgent>['stub']): Promise<AgentStatus> {
  return ((await stub.lifecycleStatus()) as { ok: true; status: AgentStatus }).status;
}

/** A private message from `from`, as Telegram sends it. */
function update(text: string, from = ALLOWED): string {
  updateId += 1;
  return JSON.stringify({
    update_id: updateId,
    message: { message_id: updateId, from: { id: from, is_bot: false, first_name: 'Op' }, chat: { id: from, type: 'private' }, date: 1_796_600_000, text },
  });
}

function telegramCall(body: string, secret = SECRET): Request {
  return new Request(`https://poc.example.com${TELEGRAM_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret, 'cf-connecting-ip': '149.154.167.197' },
    body,
  });
}

/** The Bot API calls the Worker made (sendChatAction, sendMessage), with the token it used. */
function spyBotApi(): Array<{ method: string; token: string; body: Record<string, unknown> }> {
  const calls: Array<{ method: string; token: string; body: Record<string, unknown> }> = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const m = /^https:\/\/api\.telegram\.org\/bot([^/]+)\/(\w+)$/.exec(request.url);
    if (!m) return new Response('not the Bot API', { status: 599 });
    calls.push({ token: m[1] as string, method: m[2] as string, body: (await request.json()) as Record<string, unknown> });
    return Response.json({ ok: true, result: true });
  });
  return calls;
}

describe('the Telegram inbox (workerd)', () => {
  beforeEach(() => {
    testClock.offsetMs = 0;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    resetFakeContainers();
  });

  it('should take the webhook from outside Access, and refuse a forged call before anything is stored', async () => {
    const worker = (exports as unknown as { default: Fetcher }).default;
    // Not a loopback client and no Access token: the route is Telegram's, authenticated by its secret alone.
    const forged = await worker.fetch(telegramCall(update('let me in'), 'guessed-secret'));
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toContain('x-telegram-bot-api-secret-token');
    // The same client elsewhere is refused by the owner check, as before.
    expect((await worker.fetch(new Request('https://poc.example.com/api/status', { headers: { 'cf-connecting-ip': '149.154.167.197' } }))).status).toBe(403);
    const get = await worker.fetch(new Request(`https://poc.example.com${TELEGRAM_WEBHOOK_PATH}`, { headers: { 'cf-connecting-ip': '149.154.167.197' } }));
    expect(get.status).toBe(405);
  });

  it('should refuse a sender not on TELEGRAM_ALLOWED_USER_IDS (answered, counted, not stored, nothing woken)', async () => {
    const { name, testEnv, stub } = freshAgent();
    const bot = spyBotApi();
    const r = await telegramWebhook(telegramCall(update('hello', 666)), testEnv, stub);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, receipt: 'refused' });
    const s = await status(stub);
    expect(s.state).toBe('stopped');
    expect(s.inbox).toMatchObject({ pending: 0, refused: 1, lastRefused: { sender: '666', reason: expect.stringContaining('TELEGRAM_ALLOWED_USER_IDS') } });
    expect(fakeContainer(name).starts).toBe(0);
    expect(bot).toEqual([]);
  });

  it('should store a message to a sleeping assistant, say "typing", wake it and hand the update to the gateway once it serves — once, in order, with a redelivery dropped', async () => {
    const { name, testEnv, stub } = freshAgent();
    const bot = spyBotApi();
    const first = update('first');
    const second = update('second');
    const r1 = await telegramWebhook(telegramCall(first), testEnv, stub);
    expect(await r1.json()).toEqual({ ok: true, receipt: 'stored' });
    const r2 = await telegramWebhook(telegramCall(second), testEnv, stub);
    expect(await r2.json()).toEqual({ ok: true, receipt: 'stored' });
    // Telegram sends the first again (it thought the answer lost): dropped.
    expect(await (await telegramWebhook(telegramCall(first), testEnv, stub)).json()).toEqual({ ok: true, receipt: 'duplicate' });
    expect(bot.filter((c) => c.method === 'sendChatAction')).toEqual([
      { method: 'sendChatAction', token: '123456789:workers-real-bot-token', body: { chat_id: String(ALLOWED), action: 'typing' } },
      { method: 'sendChatAction', token: '123456789:workers-real-bot-token', body: { chat_id: String(ALLOWED), action: 'typing' } },
    ]);
    const gateway = fakeContainer(name);
    await vi.waitFor(() => expect(gateway.telegram).toHaveLength(2), SETTLED);
    expect(gateway.telegram.map((t) => t.update)).toEqual([first, second]);
    // The listener's secret is derived from the webhook secret, never Telegram's own.
    const expected = (await telegramBot(testEnv))?.listenerSecret;
    expect(gateway.telegram.every((t) => t.secret === expected && t.secret !== SECRET)).toBe(true);
    expect(gateway.lastEnv).not.toMatchObject({ TELEGRAM_WEBHOOK_SECRET: SECRET });
    await vi.waitFor(async () => expect((await status(stub)).inbox).toMatchObject({ pending: 0, delivered: 2 }), SETTLED);
    const s = await status(stub);
    expect(s.state).toBe('ready');
    expect(s.inbox).toMatchObject({ wakes: 1, lastDelivery: { attempts: 1 } });
    expect(gateway.starts).toBe(1);
    // While it serves, the next message goes straight through (no typing, no wake).
    const third = update('third');
    await telegramWebhook(telegramCall(third), testEnv, stub);
    await vi.waitFor(() => expect(gateway.telegram.map((t) => t.update)).toEqual([first, second, third]), SETTLED);
    expect(bot.filter((c) => c.method === 'sendChatAction')).toHaveLength(2);
  });

  it('should keep a message until the gateway adopts it durably: a plain 200 is not adoption, and a restart of the Durable Object loses nothing', async () => {
    const { name, testEnv, stub } = freshAgent();
    spyBotApi();
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('ready'), SETTLED);
    const gateway = fakeContainer(name);
    gateway.telegramAnswer = 'plain';
    const first = update('are you there?');
    await telegramWebhook(telegramCall(first), testEnv, stub);
    await vi.waitFor(async () => expect((await status(stub)).inbox).toMatchObject({ pending: 1, delivered: 0 }), SETTLED);
    await vi.waitFor(() => expect(gateway.telegram).toHaveLength(1), SETTLED);
    // The Durable Object restarts (a deploy) before the gateway adopted it: the message is in its storage, not its memory.
    const made = instances.count;
    await runInDurableObject(stub, (_instance, state) => state.abort('restart for the test')).catch(() => {});
    const again = env.AGENT.get(env.AGENT.idFromName(name));
    expect((await status(again)).inbox).toMatchObject({ pending: 1, delivered: 0 });
    expect(instances.count).toBe(made + 1);
    const stored = await runInDurableObject(again, async (_instance, state) => [...(await state.storage.list({ prefix: 'inbox/m/' })).values()]);
    expect(stored).toEqual([expect.objectContaining({ id: `telegram:${updateId}`, attempts: 1, payload: first })]);
    // Past its backoff, the next message's drain tries it first, and the gateway adopts both in order.
    gateway.telegramAnswer = 'durable';
    testClock.offsetMs = 5_000;
    const second = update('hello?');
    await telegramWebhook(telegramCall(second), testEnv, again);
    await vi.waitFor(async () => expect((await status(again)).inbox).toMatchObject({ pending: 0, delivered: 2 }), SETTLED);
    expect(gateway.telegram.map((t) => t.update)).toEqual([first, first, second]);
    expect((await status(again)).inbox?.lastDelivery?.attempts).toBe(1);
  });

  it('should not wake a hibernated assistant: the sender is told why once a day, and the messages kept wake it at the resume', async () => {
    const { name, testEnv, stub } = freshAgent();
    const bot = spyBotApi();
    await stub.lifecycleCommand('hibernate', { reason: 'budget: projected $22 > $20', by: 'budget' });
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('hibernated'), SETTLED);
    for (const text of ['wake up', 'please']) {
      const r = await telegramWebhook(telegramCall(update(text)), testEnv, stub);
      expect(await r.json()).toEqual({ ok: true, receipt: 'hibernated' });
    }
    const notes = bot.filter((c) => c.method === 'sendMessage');
    expect(notes).toHaveLength(1);
    expect(notes[0]?.body).toMatchObject({ chat_id: String(ALLOWED), text: expect.stringContaining('budget: projected $22 > $20') });
    expect(notes[0]?.body.text).toContain('the owner can resume it');
    const s = await status(stub);
    expect(s.state).toBe('hibernated');
    expect(s.inbox).toMatchObject({ pending: 2, wakes: 0 });
    expect(fakeContainer(name).starts).toBe(0);
    // The owner resumes it: the kept messages wake it and are handed over, in order.
    const resumed = await stub.lifecycleCommand('resume', { override: true });
    expect(resumed.ok).toBe(true);
    const gateway = fakeContainer(name);
    await vi.waitFor(() => expect(gateway.telegram).toHaveLength(2), SETTLED);
    expect(gateway.telegram.map((t) => (JSON.parse(t.update) as { message: { text: string } }).message.text)).toEqual(['wake up', 'please']);
    await vi.waitFor(async () => expect((await status(stub)).inbox).toMatchObject({ pending: 0, delivered: 2, wakes: 1 }), SETTLED);
    expect(gateway.starts).toBe(1);
  });
});
