/**
 * Telegram while it sleeps, on the production path: Telegram's webhook call
 * reaches the Worker, the update waits in the production Agent's inbox (its
 * Durable Object storage) while the container wakes, and is handed to
 * OpenClaw's Telegram listener in the container (its own port, reached with
 * containerFetch); the answer leaves the container for api.telegram.org
 * through the Worker's outbound handler, which puts the bot's token in the
 * path (the container holds a placeholder) and keeps the webhook the
 * Worker's. The Bot API is a recorded stand-in at its real hostname.
 */
import { describe, expect, inject, it } from 'vitest';
import { TELEGRAM_WEBHOOK_PATH } from '../../src/inbox/telegram-webhook.ts';
import { until } from '../../scripts/lib/local-stack.ts';
import { STANDIN_CALLS_PATH, type BotApiCall } from '../support/telegram-standin.ts';
import { command, ensureAwake, inContainer, sleep, status, twinUrl, waitFor } from './twin-client.ts';
import { TWIN_EGRESS_SECRETS, TWIN_TELEGRAM } from './twin-vars.ts';

const TOKEN = TWIN_EGRESS_SECRETS.TELEGRAM_BOT_TOKEN;
const OWNER = Number(TWIN_TELEGRAM.TELEGRAM_ALLOWED_USER_IDS);
const STRANGER = 666;
let updateId = 9000;

async function botCalls(): Promise<BotApiCall[]> {
  return (await (await fetch(`${inject('telegramStandIn')}${STANDIN_CALLS_PATH}`)).json()) as BotApiCall[];
}

function webhook(text: string, secret = TWIN_TELEGRAM.TELEGRAM_WEBHOOK_SECRET, from = OWNER): Promise<Response> {
  updateId += 1;
  const update = {
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: from, is_bot: false, first_name: 'Owner' },
      chat: { id: from, type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
  return fetch(`${twinUrl()}${TELEGRAM_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(update),
  });
}

/** What the bot sent to the owner's chat that carries `marker`. */
async function sentWith(marker: string): Promise<BotApiCall[]> {
  return (await botCalls()).filter((c) => c.method === 'sendMessage' && String(c.body.text ?? '').includes(marker));
}

/** The answer in the chat that carries `marker` (with what the Bot API and the Agent saw, when it does not come). */
function answered(marker: string, timeoutMs: number): Promise<BotApiCall> {
  return until(async () => (await sentWith(marker))[0], timeoutMs, `the answer to ${marker} in the chat`).catch(async (error: Error) => {
    const s = await status();
    throw new Error(
      `${error.message}; the Bot API saw ${JSON.stringify((await botCalls()).map((c) => c.method))}; ${s.state}, inbox ${JSON.stringify(s.inbox)}`,
    );
  });
}

const forgotten = () => until(async () => ((await status()).inbox?.pending === 0 ? status() : undefined), 60_000, 'the message forgotten');

describe.skipIf(inject('twinSkipped') !== '')('production twin: Telegram while it sleeps', () => {
  it('should refuse a forged webhook call and a sender not on the list, waking nothing', async () => {
    const before = await status();
    const forged = await webhook('let me in', 'guessed');
    expect(forged.status).toBe(401);
    const stranger = await webhook('hi bot', TWIN_TELEGRAM.TELEGRAM_WEBHOOK_SECRET, STRANGER);
    expect(await stranger.json()).toEqual({ ok: true, receipt: 'refused' });
    const s = await status();
    expect(s.inbox).toMatchObject({
      pending: 0,
      wakes: before.inbox?.wakes ?? 0,
      refused: (before.inbox?.refused ?? 0) + 1,
      lastRefused: { sender: String(STRANGER) },
    });
    expect((await botCalls()).filter((c) => String(c.body.chat_id ?? '') === String(STRANGER))).toEqual([]);
  });

  it("should wake a sleeping assistant for a message and answer it in the chat through OpenClaw's Telegram channel, the bot token added at egress", async () => {
    await ensureAwake();
    await sleep();
    const before = (await status()).inbox;
    const stored = await webhook('hello from telegram on the twin, marker-5a8f');
    expect(await stored.json()).toEqual({ ok: true, receipt: 'stored' });
    const answer = await answered('marker-5a8f', 300_000);
    expect(answer).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER), text: 'mock answer: hello from telegram on the twin, marker-5a8f' } });
    const calls = await botCalls();
    expect(calls.find((c) => c.method === 'sendChatAction')).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER), action: 'typing' } });
    // Every call carried the real token; the container's setWebhook never reached Telegram.
    expect(calls.filter((c) => c.token !== TOKEN)).toEqual([]);
    expect(calls.filter((c) => c.method === 'setWebhook' || c.method === 'deleteWebhook')).toEqual([]);
    const s = await status();
    expect(s.inbox).toMatchObject({ pending: 0, deadLetters: [] });
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 1);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
    // The container holds a placeholder of the token and a listener secret derived from the webhook's, never either real one.
    const env = inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | grep ^TELEGRAM_ || true');
    expect(env).toContain('TELEGRAM_BOT_TOKEN=7000000002:ondemand-placeholder-telegram-bot-token');
    expect(env).not.toContain('must-stay-in-the-worker');
  });

  it('should lose nothing of a burst when the gateway dies between receipt and delivery: each message answered once, in order, after the retried boot', async () => {
    await sleep();
    const asleep = await status();
    // The sleep drained the gateway (its SIGTERM, exit 0): OpenClaw counts only the crash below as unclean.
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0 });
    const before = asleep.inbox;
    const markers = ['tgburst-1-a7', 'tgburst-2-b8', 'tgburst-3-c9'];
    for (const marker of markers) expect(await (await webhook(`through a crash on the twin, ${marker}`)).json()).toEqual({ ok: true, receipt: 'stored' });
    // The wake's gateway, once the start script has handed over to it: killed before it serves.
    const booting = await waitFor((s) => s.state === 'booting' && s.phase === 'starting-gateway', 'the gateway starting', 240_000);
    expect(booting.inbox?.pending).toBe(markers.length);
    inContainer('kill -9 "$(cat /tmp/openclaw-boot/gateway.pid)"');
    for (const marker of markers) expect(await answered(marker, 600_000)).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER) } });
    const s = await forgotten();
    // The kill was seen and the boot retried (its second attempt, not a new wake): each message delivered once, in the order sent.
    expect(['ready', 'idle']).toContain(s.state);
    expect(s.bootAttempt).toBe(2);
    expect(s.inbox).toMatchObject({ pending: 0, deadLetters: [] });
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + markers.length);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
    // OpenClaw may take messages that came together in one turn (its inbound debounce): each is answered once, in order.
    const answers = (await sentWith('tgburst-')).map((c) => String(c.body.text)).join('\n');
    for (const marker of markers) expect(answers.split(marker).length - 1, answers).toBe(1);
    expect(markers.map((m) => answers.indexOf(m))).toEqual(markers.map((m) => answers.indexOf(m)).sort((x, y) => x - y));
    expect(answers).toContain(`mock answer: through a crash on the twin, ${markers[0]}`);
  }, 900_000);

  it('should not wake a hibernated assistant: the sender is told why, once, and the kept messages are answered after the resume', async () => {
    await ensureAwake();
    const before = (await status()).inbox;
    expect((await command('hibernate', { reason: 'budget: projected $43 > $40' })).status).toBe(202);
    await waitFor((s) => s.state === 'hibernated', 'hibernated', 240_000);
    const callsBefore = (await botCalls()).length;
    for (const text of ['are you there? marker-th1', 'hello? marker-th2'])
      expect(await (await webhook(text)).json()).toEqual({ ok: true, receipt: 'hibernated' });
    const notes = (await botCalls()).slice(callsBefore).filter((c) => c.method === 'sendMessage');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER) } });
    expect(String(notes[0]?.body.text)).toContain('budget: projected $43 > $40');
    const kept = await status();
    expect(kept.state).toBe('hibernated');
    expect(kept.inbox?.pending).toBe(2);
    // The owner resumes it: the kept messages wake it and are answered (in one turn or two: OpenClaw's inbound debounce may take them together).
    expect((await command('resume', { override: true })).status).toBe(200);
    await answered('marker-th1', 600_000);
    await answered('marker-th2', 600_000);
    const s = await forgotten();
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 2);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
  }, 900_000);
});
