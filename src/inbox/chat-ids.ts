/** TELEGRAM_ALLOWED_USER_IDS and DISCORD_ALLOWED_USER_IDS, read (a leaf: the settings table imports it). */
import { AppError } from '../errors.ts';

/** The numeric user ids in a comma- or space-separated list, each with an optional prefix (`tg:`, `discord:`, …). */
function parseIds(setting: string, value: string | undefined, prefix: RegExp, shape: RegExp, what: string): Set<string> {
  const ids = new Set<string>();
  for (const part of (value ?? '').split(/[\s,]+/)) {
    const id = part.replace(prefix, '');
    if (id === '') continue;
    if (!shape.test(id)) throw new AppError('not_configured', `${setting}: "${part}" is not ${what}`);
    ids.add(id);
  }
  return ids;
}

/** Telegram's user ids: numbers (`tg:` / `telegram:` prefixes allowed). */
export function parseTelegramIds(value: string | undefined): Set<string> {
  return parseIds('TELEGRAM_ALLOWED_USER_IDS', value, /^(tg|telegram):/i, /^\d{1,20}$/, 'a numeric Telegram user id');
}

/** Discord's user ids: snowflakes, 17 to 20 digits (`discord:` and a mention's `<@…>` allowed). */
export function parseDiscordIds(value: string | undefined): Set<string> {
  return parseIds(
    'DISCORD_ALLOWED_USER_IDS',
    value?.replace(/<@!?(\d+)>/g, '$1'),
    /^discord:/i,
    /^\d{17,20}$/,
    "a Discord user id (17–20 digits: Discord's Developer Mode, Copy User ID)",
  );
}
