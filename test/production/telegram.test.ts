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
import { ensureAwake, inContainer, sleep, status, twinUrl, waitFor } from './twin-client.ts';
import { TWIN_EGRESS_SECRETS, TWIN_TELEGRAM } from './twin-vars.ts';

const TOKEN = TWIN_EGRESS_SECRETS.TELEGRAM_BOT_TOKEN;
const OWNER = Number(TWIN_TELEGRAM.TELEGRAM_ALLOWED_USER_IDS);
let updateId = 9000;

async function botCalls(): Promise<BotApiCall[]> {
  return (await (await fetch(`${inject('telegramStandIn')}${STANDIN_CALLS_PATH}`)).json()) as BotApiCall[];
}

function webhook(text: string, secret = TWIN_TELEGRAM.TELEGRAM_WEBHOOK_SECRET): Promise<Response> {
  updateId += 1;
  const update = {
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: OWNER, is_bot: false, first_name: 'Owner' },
      chat: { id: OWNER, type: 'private' },
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

describe.skipIf(inject('twinSkipped') !== '')('production twin: Telegram while it sleeps', () => {
  it('should refuse a forged webhook call', async () => {
    const forged = await webhook('let me in', 'guessed');
    expect(forged.status).toBe(401);
  });

  it("should wake a sleeping assistant for a message and answer it in the chat through OpenClaw's Telegram channel, the bot token added at egress", async () => {
    await ensureAwake();
    await sleep();
    const before = (await status()).inbox;
    const stored = await webhook('hello from telegram on the twin, marker-5a8f');
    expect(await stored.json()).toEqual({ ok: true, receipt: 'stored' });
    const answer = await until(
      async () => (await botCalls()).find((c) => c.method === 'sendMessage' && String(c.body.text ?? '').includes('marker-5a8f')),
      300_000,
      'the answer in the chat',
    ).catch(async (error: Error) => {
      const s = await status();
      throw new Error(
        `${error.message}; the Bot API saw ${JSON.stringify((await botCalls()).map((c) => c.method))}; ${s.state}, inbox ${JSON.stringify(s.inbox)}`,
      );
    });
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

  it('should lose nothing when the gateway dies between receipt and delivery: the message is answered once, after the retried boot', async () => {
    await sleep();
    const asleep = await status();
    // The sleep drained the gateway (its SIGTERM, exit 0): OpenClaw counts only the crash below as unclean.
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0 });
    const before = asleep.inbox;
    expect(await (await webhook('through a crash on the twin, marker-7c2e')).json()).toEqual({ ok: true, receipt: 'stored' });
    // The wake's gateway, once the start script has handed over to it: killed before it serves.
    const booting = await waitFor((s) => s.state === 'booting' && s.phase === 'starting-gateway', 'the gateway starting', 240_000);
    expect(booting.inbox?.pending).toBe(1);
    inContainer('kill -9 "$(cat /tmp/openclaw-boot/gateway.pid)"');
    const answer = await until(
      async () => (await botCalls()).find((c) => c.method === 'sendMessage' && String(c.body.text ?? '').includes('marker-7c2e')),
      600_000,
      'the answer after the crash',
    ).catch(async (error: Error) => {
      const s = await status();
      throw new Error(
        `${error.message}; the Bot API saw ${JSON.stringify((await botCalls()).map((c) => c.method))}; ${s.state}, inbox ${JSON.stringify(s.inbox)}`,
      );
    });
    expect(answer).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER), text: 'mock answer: through a crash on the twin, marker-7c2e' } });
    const s = await until(async () => ((await status()).inbox?.pending === 0 ? status() : undefined), 60_000, 'the message forgotten');
    // The kill was seen and the boot retried (its second attempt, not a new wake): the message was delivered once.
    expect(['ready', 'idle']).toContain(s.state);
    expect(s.bootAttempt).toBe(2);
    expect(s.inbox).toMatchObject({ pending: 0, deadLetters: [] });
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 1);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
    const answers = (await botCalls()).filter((c) => c.method === 'sendMessage' && String(c.body.text ?? '').includes('marker-7c2e'));
    expect(answers).toHaveLength(1);
  }, 900_000);
});
