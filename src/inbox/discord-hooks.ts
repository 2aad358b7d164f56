/**
 * Discord's path into OpenClaw: OpenClaw's Discord channel does not receive
 * here (the Worker's relay holds the bot's only gateway session), so each
 * message the inbox keeps is handed to the gateway's agent hook
 * (`POST /hooks/agent`, OpenClaw's documented ingress for a channel it cannot
 * receive itself), with the message's id as its `Idempotency-Key` and the
 * channel as the destination: the answer goes out through OpenClaw's Discord
 * channel (REST, its token added at the Worker's egress).
 *
 * The inbox forgets a message only once OpenClaw finished its turn
 * (`waitForCompletion`): a crash of the container before that replays it at
 * the next wake, and a retry within OpenClaw's replay window is answered
 * from its replay state, not run twice.
 */
import { boundedText } from '../contract/untrusted-input.ts';
import { derivedSecret } from './derived-secret.ts';

/** The hook's path (container/configure-openclaw.mjs sets `hooks.path` to `/hooks`). */
export const DISCORD_HOOK_PATH = '/hooks/agent';
/** The longest turn the hook waits for (OpenClaw's `timeoutSeconds`); the inbox retries after it. */
export const DISCORD_TURN_TIMEOUT_S = 600;
/** The label the hook's token is derived under (from the bot's token, which the container never holds). */
const HOOK_TOKEN_LABEL = 'openclaw-ondemand discord hook';

/** The token the gateway's hooks check: derived from the bot's token. */
export function discordHookToken(botToken: string): Promise<string> {
  return derivedSecret(botToken, HOOK_TOKEN_LABEL);
}

/** A Discord message as the inbox keeps it (its payload). */
export interface KeptDiscordMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
}

/** The hook call for a kept message (`payload` as the inbox stored it). */
export function discordHookRequest(payload: string, hookToken: string): Request {
  const m = JSON.parse(payload) as KeptDiscordMessage;
  return new Request(`http://gateway${DISCORD_HOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${hookToken}`, 'idempotency-key': `discord:${m.id}` },
    body: JSON.stringify({
      message: m.content,
      name: 'Discord',
      channel: 'discord',
      to: `channel:${m.channelId}`,
      // One conversation per Discord channel (a DM is a channel), as OpenClaw's own Discord channel keeps them.
      sessionMode: 'persistent',
      sessionKey: `hook:discord:${m.channelId}`,
      waitForCompletion: true,
      timeoutSeconds: DISCORD_TURN_TIMEOUT_S,
    }),
  });
}

/**
 * Whether OpenClaw took the message for good: its turn ran (`completion.status`
 * `ok`, answered or not). Anything else throws with what it said, bounded: the
 * answer comes from the container.
 */
export async function discordHookAdopted(answer: Response): Promise<void> {
  const text = await boundedText(answer.body, 4096).catch(() => '');
  let body: { ok?: unknown; error?: unknown; completion?: { status?: unknown } } | null = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: an early refusal (401, 404) is plain text
  }
  if (answer.status === 200 && body?.ok === true && body.completion?.status === 'ok') return;
  const said = typeof body?.error === 'string' ? body.error : typeof body?.completion?.status === 'string' ? `turn ${body.completion.status}` : text;
  throw new Error(`the gateway's agent hook answered ${answer.status}${said ? `: ${said.slice(0, 200)}` : ''}`);
}
