/**
 * Telegram's side of the inbox: the webhook Telegram calls (checked by the
 * secret token Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`,
 * set when the webhook was registered), the sender list the Worker
 * enforces (a message replayed into the gateway skips OpenClaw's own
 * pairing), and the Bot API calls the Worker makes itself while the
 * assistant cannot: "typing…" and short notes. The bot token stays in the
 * Worker.
 */
import { AppError } from '../errors.ts';
import { derivedSecret } from './derived-secret.ts';
export { sameSecret } from '../contract/local-host.ts';
export { parseTelegramIds } from './chat-ids.ts';
import type { TelegramBot, TelegramUpdate } from './inbox-types.ts';
export type { TelegramBot, TelegramUpdate };

export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';
/** The largest update the webhook reads (Telegram's are a few KiB; a photo arrives as a file id). */
export const TELEGRAM_MAX_UPDATE_BYTES = 256 * 1024;
export const TELEGRAM_API_ORIGIN = 'https://api.telegram.org';

/** Telegram's rule for a webhook secret: 1–256 of A–Z, a–z, 0–9, `_` and `-`. */
export function validWebhookSecret(secret: string): boolean {
  return /^[A-Za-z0-9_-]{1,256}$/.test(secret);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown): string | null => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : null);

/**
 * The sender and chat of an update from a person (a message, an edit, a
 * button press); null for what is not one (a channel post, a bot's, a
 * membership change), which the webhook answers and drops.
 */
export function parseTelegramUpdate(raw: string): TelegramUpdate | null {
  let update: unknown;
  try {
    update = JSON.parse(raw);
  } catch {
    throw new AppError('bad_request', 'a Telegram update is JSON');
  }
  if (!isObject(update) || typeof update.update_id !== 'number' || !Number.isSafeInteger(update.update_id)) {
    throw new AppError('bad_request', 'a Telegram update has a numeric update_id');
  }
  const message = [update.message, update.edited_message].find(isObject);
  const callback = isObject(update.callback_query) ? update.callback_query : null;
  const from = message?.from ?? callback?.from;
  const chat = message?.chat ?? (isObject(callback?.message) ? callback.message.chat : undefined);
  if (!isObject(from) || from.is_bot === true || !isObject(chat)) return null;
  const sender = idOf(from.id);
  const chatId = idOf(chat.id);
  if (!sender || !chatId) return null;
  return { updateId: update.update_id, sender, chat: chatId, raw };
}

/**
 * Calls a Bot API method with the Worker's token. Telegram answers
 * `{ok: false, description}` on a refusal; that is an error here.
 */
export async function telegramCall(
  token: string,
  method: 'sendMessage' | 'sendChatAction',
  body: Json,
  origin: string = TELEGRAM_API_ORIGIN,
  fetcher: typeof fetch = fetch,
): Promise<void> {
  const r = await fetcher(`${origin}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await r.json().catch(() => null)) as { ok?: boolean; description?: string } | null;
  if (!r.ok || answer?.ok !== true) throw new Error(`Telegram ${method}: ${r.status} ${answer?.description ?? ''}`.trim());
}

/**
 * The Telegram bot from the Worker's secrets; null when none is connected.
 * `apiOrigin`: where the Bot API is (the local mode's LOCAL_EGRESS_UPSTREAMS
 * may stand a loopback origin in for api.telegram.org).
 * @throws AppError `not_configured` when one of the two secrets is missing or the webhook secret is not one Telegram takes.
 */
export async function telegramBot(
  env: { TELEGRAM_BOT_TOKEN?: string | undefined; TELEGRAM_WEBHOOK_SECRET?: string | undefined },
  apiOrigin?: string,
): Promise<TelegramBot | null> {
  const token = env.TELEGRAM_BOT_TOKEN ?? '';
  const secret = env.TELEGRAM_WEBHOOK_SECRET ?? '';
  if (token === '' && secret === '') return null;
  if (token === '' || secret === '') {
    throw new AppError('not_configured', `Telegram needs both secrets: ${token === '' ? 'TELEGRAM_BOT_TOKEN' : 'TELEGRAM_WEBHOOK_SECRET'} is missing`);
  }
  if (!validWebhookSecret(secret)) throw new AppError('not_configured', 'TELEGRAM_WEBHOOK_SECRET must be 1–256 of A–Z, a–z, 0–9, _ and - (Telegram’s rule)');
  return { token, listenerSecret: await derivedSecret(secret, 'openclaw-ondemand telegram listener'), ...(apiOrigin ? { apiOrigin } : {}) };
}
