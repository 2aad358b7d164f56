/**
 * Telegram while the assistant sleeps, in the local mode with the real
 * OpenClaw: Telegram's webhook call reaches the Worker (its secret checked,
 * the sender list the Worker's), the update is stored in the Agent's inbox,
 * the sender sees "typing", the assistant wakes, and once the gateway
 * serves the Worker hands the update to OpenClaw's own Telegram listener
 * (webhook mode), which adopts it durably and answers in the chat through
 * the Bot API — reached through the Worker's egress, which adds the bot's
 * token (the gateway holds a placeholder) and keeps the webhook its own.
 * The Bot API is a recorded stand-in (test/support/telegram-standin.ts),
 * the model the bundled mock.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { TELEGRAM_WEBHOOK_PATH } from '../../src/inbox/telegram-webhook.ts';
import { post, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { readStatus } from '../support/stack-client.ts';
import { clawctl } from '../support/clawctl-run.ts';
import { chromiumMissing, withChromiumPage } from '../support/control-ui.ts';
import { startTelegramStandIn, type TelegramStandIn } from '../support/telegram-standin.ts';

const TOKEN = '7000000001:AAH-local-bot-token-must-stay-in-the-worker';
const SECRET = 'local-webhook-secret-4c1e';
const OWNER = 4242;
let stack: LocalStack;
let bot: TelegramStandIn;
let updateId = 5000;

/** A private message from `from`, as Telegram posts it to the webhook. */
function message(text: string, from = OWNER): string {
  updateId += 1;
  return JSON.stringify({
    update_id: updateId,
    message: {
      message_id: updateId,
      from: { id: from, is_bot: false, first_name: 'Owner', language_code: 'en' },
      chat: { id: from, first_name: 'Owner', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  });
}

function webhook(body: string, secret = SECRET): Promise<Response> {
  return fetch(`${stack.url}${TELEGRAM_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body,
  });
}

const status = (): Promise<AgentStatus> => readStatus(stack.url);

describe('Telegram while it sleeps (local mode, real OpenClaw)', () => {
  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), 'telegram-local-'));
    bot = await startTelegramStandIn(TOKEN);
    const secrets = join(work, 'secrets.env');
    writeFileSync(secrets, `TELEGRAM_BOT_TOKEN=${TOKEN}\nTELEGRAM_WEBHOOK_SECRET=${SECRET}\n`, { mode: 0o600 });
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      LOCAL_BROWSER: 'off',
      SLEEP_AFTER: '10m',
      LOCAL_SECRETS_FILE: secrets,
      TELEGRAM_ALLOWED_USER_IDS: String(OWNER),
      LOCAL_EGRESS_UPSTREAMS: JSON.stringify({ 'api.telegram.org': bot.origin }),
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await bot?.close();
  });

  it('should refuse a forged webhook call and a sender not on the list, waking nothing', async () => {
    const forged = await webhook(message('let me in'), 'not-the-secret');
    expect(forged.status).toBe(401);
    const stranger = await webhook(message('hi bot', 666));
    expect(await stranger.json()).toEqual({ ok: true, receipt: 'refused' });
    const s = await status();
    expect(s.state).toBe('stopped');
    expect(s.inbox).toMatchObject({ pending: 0, refused: 1, lastRefused: { sender: '666' } });
    expect(bot.calls).toEqual([]);
  });

  it('should wake a sleeping assistant for a message, say "typing", and answer it in the chat through OpenClaw\'s Telegram channel', async () => {
    const stored = await webhook(message('hello from telegram, marker-71c2'));
    expect(await stored.json()).toEqual({ ok: true, receipt: 'stored' });
    expect(['booting', 'ready']).toContain((await status()).state);
    expect(bot.calls.find((c) => c.method === 'sendChatAction')).toMatchObject({ token: TOKEN, body: { chat_id: String(OWNER), action: 'typing' } });
    const answer = await until(
      async () => bot.sent().find((m) => m.chat === String(OWNER) && m.text.includes('marker-71c2')),
      240_000,
      'the answer in the chat',
    ).catch(async (error: Error) => {
      throw new Error(
        `${error.message}; the Bot API saw ${JSON.stringify(bot.calls.map((c) => [c.method, c.token === TOKEN]))}; the inbox ${JSON.stringify((await status()).inbox)}`,
      );
    });
    expect(answer.text).toBe('mock answer: hello from telegram, marker-71c2');
    const s = await status();
    expect(s.inbox).toMatchObject({ pending: 0, delivered: 1, wakes: 1, deadLetters: [] });
    // The gateway never moved the webhook: the Worker answered its setWebhook itself.
    expect(bot.calls.filter((c) => c.method === 'setWebhook' || c.method === 'deleteWebhook')).toEqual([]);
    // Every call carried the real token, which the gateway never held.
    expect(bot.calls.every((c) => c.token === TOKEN)).toBe(true);
    const pid = readFileSync(join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid'), 'utf8').trim();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toContain('TELEGRAM_BOT_TOKEN=7000000001:ondemand-placeholder-telegram-bot-token');
    expect(environ).not.toContain('must-stay-in-the-worker');
    expect(environ).not.toContain(SECRET);
  });

  it('should answer a message while it runs without waking anything, once for a redelivered update', async () => {
    const body = message('and again, marker-9e05');
    expect(await (await webhook(body)).json()).toEqual({ ok: true, receipt: 'stored' });
    expect(await (await webhook(body)).json()).toEqual({ ok: true, receipt: 'duplicate' });
    await until(async () => bot.sent().find((m) => m.text.includes('marker-9e05')), 120_000, 'the second answer');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(bot.sent().filter((m) => m.text.includes('marker-9e05'))).toHaveLength(1);
    expect((await status()).inbox).toMatchObject({ delivered: 2, wakes: 1 });
  });

  it('should take a burst of messages to a sleeping assistant while it boots, and answer each once, in order', async () => {
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    const markers = ['burst-1-a41', 'burst-2-b52', 'burst-3-c63'];
    for (const marker of markers) expect(await (await webhook(message(`in a row ${marker}`))).json()).toEqual({ ok: true, receipt: 'stored' });
    await until(async () => (markers.every((m) => bot.sent().some((x) => x.text.includes(m))) ? true : undefined), 240_000, 'three answers');
    // OpenClaw may take messages that came together in one turn (its inbound debounce): each is answered once, in order.
    const answered = bot
      .sent()
      .filter((x) => x.text.includes('burst-'))
      .map((x) => x.text)
      .join('\n');
    for (const m of markers) expect(answered.split(m).length - 1, answered).toBe(1);
    expect(markers.map((m) => answered.indexOf(m))).toEqual(markers.map((m) => answered.indexOf(m)).sort((a, b) => a - b));
    expect((await status()).inbox).toMatchObject({ pending: 0, delivered: 5, wakes: 2 });
  }, 360_000);

  it('should show the inbox in `clawctl inbox`, `clawctl status` and on the status page', async (context) => {
    const inbox = await clawctl(['inbox', '--url', stack.url]);
    expect(inbox.code, inbox.stderr).toBe(0);
    expect(inbox.stdout).toMatch(
      /^inbox: 0 waiting, 5 delivered \(last [^)]+\), 2 wakes from messages, 1 refused \(last: 666, not on TELEGRAM_ALLOWED_USER_IDS\)$/m,
    );
    expect((await clawctl(['status', '--url', stack.url])).stdout).toContain('  inbox: 0 waiting, 5 delivered');
    const missing = chromiumMissing();
    if (missing) return context.skip(missing);
    const shown = await withChromiumPage(async (page) => {
      await page.goto(`${stack.url}/_ondemand/`);
      return until(
        async () =>
          (await page
            .getByTestId('inbox')
            .textContent()
            .catch(() => null)) || undefined,
        30_000,
        'the inbox on the status page',
      );
    });
    expect(shown).toContain('5 delivered');
    expect(shown).toContain('2 wakes from messages');
  });

  it('should not wake a hibernated assistant: the sender is told why, once, and the kept messages are answered after the resume', async () => {
    const before = (await status()).inbox;
    expect((await post(`${stack.url}/api/hibernate`, { reason: 'budget: projected $31 > $30' })).status).toBe(202);
    await until(async () => ((await status()).state === 'hibernated' ? true : undefined), 120_000, 'hibernated');
    const notesBefore = bot.sent().length;
    for (const text of ['are you there?', 'hello?']) expect(await (await webhook(message(text))).json()).toEqual({ ok: true, receipt: 'hibernated' });
    const notes = bot.sent().slice(notesBefore);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.text).toContain('budget: projected $31 > $30');
    expect((await status()).state).toBe('hibernated');
    // The owner resumes it: the two kept messages wake it and are answered.
    expect((await post(`${stack.url}/api/resume`, { override: true })).status).toBe(200);
    // Both kept messages reach OpenClaw (in one turn or two: its inbound debounce may take them together) and are answered.
    await until(
      async () => {
        const after = bot
          .sent()
          .slice(notesBefore + 1)
          .map((m) => m.text)
          .join('\n');
        return after.includes('are you there?') && after.includes('hello?') ? true : undefined;
      },
      240_000,
      'the kept messages answered after the resume',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; the chat: ${JSON.stringify(bot.sent().slice(notesBefore))}; ${JSON.stringify(await status())}`);
    });
    expect((await status()).inbox).toMatchObject({ pending: 0, delivered: (before?.delivered ?? 0) + 2, wakes: (before?.wakes ?? 0) + 1 });
  }, 360_000);

  it('should lose nothing when the gateway dies between receipt and delivery: the message is answered once, after the retried boot', async () => {
    const pidFile = join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid');
    if ((await status()).state === 'stopped') {
      await post(`${stack.url}/api/wake`);
      await until(async () => ((await status()).state === 'ready' ? true : undefined), 240_000, 'ready');
    }
    const previous = readFileSync(pidFile, 'utf8').trim();
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    // The sleep stopped the gateway cleanly (its SIGTERM, exit 0): OpenClaw counts only the crash below as unclean.
    // Its restart-loop breaker (3 unclean starts in 5 min) would otherwise start the retried gateway without its Telegram channel.
    const asleep = await status();
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0 });
    const before = asleep.inbox;
    expect(await (await webhook(message('through a crash, marker-3f8d'))).json()).toEqual({ ok: true, receipt: 'stored' });
    // The wake's gateway, once its start script has handed over to it (its pid written): killed before it serves.
    const pid = await until(
      async () => {
        const now = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
        return now !== '' && now !== previous && existsSync(`/proc/${now}`) ? now : undefined;
      },
      120_000,
      "the wake's gateway started",
    );
    const atKill = await status();
    expect(atKill.state).toBe('booting');
    expect(atKill.inbox?.pending).toBe(1);
    process.kill(Number(pid), 'SIGKILL');
    const answer = await until(async () => bot.sent().find((m) => m.text.includes('marker-3f8d')), 300_000, 'the answer after the crash').catch(
      async (error: Error) => {
        const s = await status();
        throw new Error(
          `${error.message}; ${s.state} (attempt ${s.bootAttempt}, ${JSON.stringify(s.lastError)}), inbox ${JSON.stringify(s.inbox)}; the Bot API saw ${JSON.stringify(bot.calls.map((c) => c.method))}`,
        );
      },
    );
    expect(answer.text).toBe('mock answer: through a crash, marker-3f8d');
    await until(async () => ((await status()).inbox?.pending === 0 ? true : undefined), 60_000, 'the message forgotten');
    const after = await status();
    // The kill was seen and the boot retried (its second attempt, not a new wake): the message was delivered once.
    expect(after.bootAttempt).toBe(2);
    expect(after.inbox).toMatchObject({ pending: 0, delivered: (before?.delivered ?? 0) + 1, wakes: (before?.wakes ?? 0) + 1, deadLetters: [] });
    expect(bot.sent().filter((m) => m.text.includes('marker-3f8d'))).toHaveLength(1);
  }, 420_000);
});
