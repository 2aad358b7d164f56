/** TELEGRAM_ALLOWED_USER_IDS, read (a leaf: the settings table imports it). */
import { AppError } from '../errors.ts';

/** The numeric user ids in a comma- or space-separated list (`tg:` / `telegram:` prefixes allowed). */
export function parseTelegramIds(value: string | undefined): Set<string> {
  const ids = new Set<string>();
  for (const part of (value ?? '').split(/[\s,]+/)) {
    const id = part.replace(/^(tg|telegram):/i, '');
    if (id === '') continue;
    if (!/^\d{1,20}$/.test(id)) throw new AppError('not_configured', `TELEGRAM_ALLOWED_USER_IDS: "${part}" is not a numeric Telegram user id`);
    ids.add(id);
  }
  return ids;
}
