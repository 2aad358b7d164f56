/**
 * The two Discord REST calls the Worker makes itself for the inbox, with
 * the bot's token (it never enters the container): a short note to a
 * channel (the assistant is hibernated, a message could not be handed on)
 * and "typing…" while the assistant wakes.
 */
import type { DiscordBot } from './inbox-types.ts';
import { discordHookToken } from './discord-hooks.ts';

export const DISCORD_API_ORIGIN = 'https://discord.com/api/v10';

/**
 * The Discord bot from the Worker's secret; null when none is connected.
 * `upstream`: an origin standing in for discord.com (the local mode's
 * LOCAL_EGRESS_UPSTREAMS), its REST API under `/api/v10` as Discord's.
 */
export async function discordBot(env: { DISCORD_BOT_TOKEN?: string | undefined }, upstream?: string): Promise<DiscordBot | null> {
  const token = env.DISCORD_BOT_TOKEN ?? '';
  if (token === '') return null;
  return { token, hookToken: await discordHookToken(token), ...(upstream ? { apiOrigin: `${upstream.replace(/\/$/, '')}/api/v10` } : {}) };
}

export async function discordCall(
  token: string,
  call: { kind: 'message'; channel: string; text: string } | { kind: 'typing'; channel: string },
  origin: string = DISCORD_API_ORIGIN,
  fetcher: typeof fetch = fetch,
): Promise<void> {
  const path = `/channels/${encodeURIComponent(call.channel)}/${call.kind === 'message' ? 'messages' : 'typing'}`;
  const r = await fetcher(`${origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bot ${token}`, 'content-type': 'application/json' },
    // No mentions from a note: it must not ping anyone.
    body: call.kind === 'message' ? JSON.stringify({ content: call.text.slice(0, 2000), allowed_mentions: { parse: [] } }) : '{}',
  });
  const answer = (await r.json().catch(() => null)) as { message?: string } | null;
  if (!r.ok) throw new Error(`Discord POST ${path.replace(/\d{5,}/, '…')}: ${r.status} ${answer?.message ?? ''}`.trim());
}
