/**
 * POST /_ondemand/inbox/telegram: the webhook Telegram calls for the bot.
 * Outside Cloudflare Access (Telegram cannot sign in): it is authenticated
 * by the secret token Telegram sends back (TELEGRAM_WEBHOOK_SECRET, set when
 * the webhook was registered). An update from an allowed sender is stored
 * in the Agent's inbox before Telegram gets its 200; Telegram retries
 * anything else than a 2xx, so an update the inbox could not store comes
 * again.
 */
import { readLimited } from '../auth/request-guard.ts';
import type { AgentRpcApi } from '../contract/agent-rpc.ts';
import type { Env } from '../env.ts';
import { AppError, errorResponse, fromErrorBody } from '../errors.ts';
import { boundLog } from '../log.ts';

const log = boundLog({ channel: 'telegram' });
import { setting } from '../settings.ts';
import { parseTelegramUpdate, sameSecret, TELEGRAM_MAX_UPDATE_BYTES, TELEGRAM_SECRET_HEADER } from './telegram.ts';

export const TELEGRAM_WEBHOOK_PATH = '/_ondemand/inbox/telegram';
/** What Telegram is told to wait before it retries when the inbox is full. */
const FULL_RETRY_AFTER_S = 60;

const answer = (body: Record<string, unknown>, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });

export async function telegramWebhook(request: Request, env: Env, agent: Pick<AgentRpcApi, 'inboxTelegram' | 'inboxRefused'>): Promise<Response> {
  const secret = env.TELEGRAM_WEBHOOK_SECRET ?? '';
  if (secret === '' || !env.TELEGRAM_BOT_TOKEN) throw new AppError('not_found', 'no Telegram bot is connected to this assistant');
  if (!sameSecret(request.headers.get(TELEGRAM_SECRET_HEADER) ?? '', secret)) {
    // Not counted in the Agent's storage: a flood of forged calls must not write it.
    log('inbox:forged', { from: request.headers.get('cf-connecting-ip') ?? null });
    throw new AppError('unauthorized', `not from Telegram: the ${TELEGRAM_SECRET_HEADER} header does not match`);
  }
  const update = parseTelegramUpdate(await readLimited(request, TELEGRAM_MAX_UPDATE_BYTES));
  // Not a person's message (a channel post, a bot's, a membership change): answered, so Telegram does not send it again.
  if (!update) return answer({ ok: true, receipt: 'ignored' });
  if (!setting(env, 'TELEGRAM_ALLOWED_USER_IDS').includes(update.sender)) {
    await agent.inboxRefused(update.sender, 'not on TELEGRAM_ALLOWED_USER_IDS');
    return answer({ ok: true, receipt: 'refused' });
  }
  const result = await agent.inboxTelegram(update);
  if (!result.ok) return errorResponse(fromErrorBody(result));
  if (result.receipt === 'full') {
    return errorResponse(new AppError('rate_limited', 'the inbox is full; Telegram sends the update again later'), {
      'retry-after': String(FULL_RETRY_AFTER_S),
    });
  }
  return answer({ ok: true, receipt: result.receipt });
}
