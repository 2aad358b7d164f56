/**
 * Discord while it sleeps, on the production path: the production Worker's
 * relay (DiscordRelay, bound as in wrangler.jsonc) holds the bot's gateway
 * session against a recorded stand-in at discord.com; a DM from the allowed
 * sender waits in the production Agent's inbox while the container wakes,
 * and is handed to the gateway's agent hook in the container; the answer
 * leaves the container for discord.com through the Worker's outbound
 * handler, which adds the bot's token (the container holds a placeholder)
 * and refuses OpenClaw's own gateway lookup.
 */
import { describe, expect, inject, it } from 'vitest';
import { until } from '../../scripts/lib/local-stack.ts';
import { command, ensureAwake, inContainer, sleep, status, waitFor } from './twin-client.ts';
import { TWIN_DISCORD } from './twin-vars.ts';

const OWNER = TWIN_DISCORD.DISCORD_ALLOWED_USER_IDS;
const STRANGER = '2200000000000000777';
const DM = '3300000000000000004';
const STRANGER_DM = '3300000000000000005';

interface StandInState {
  identified: string[];
  live: number;
  posted: { channel: string; kind: string; content: string | null }[];
  calls: { method: string; path: string; token: boolean }[];
}
const control = () => inject('discordStandIn');
const state = async () => (await (await fetch(`${control()}/state`)).json()) as StandInState;
const dm = async (content: string, authorId = OWNER, channelId = DM) =>
  (await fetch(`${control()}/message`, { method: 'POST', body: JSON.stringify({ authorId, content, channelId }) })).json();
/** OpenClaw's answer in the owner's DM that carries `marker` (with what Discord and the Agent saw, when it does not come). */
const answered = (marker: string, timeoutMs: number) =>
  until(
    async () => (await state()).posted.find((p) => p.channel === DM && p.kind === 'messages' && (p.content ?? '').includes(marker)),
    timeoutMs,
    `the answer to ${marker} in the DM`,
  ).catch(async (error: Error) => {
    const s = await status();
    throw new Error(`${error.message}; Discord saw ${JSON.stringify((await state()).calls)}; ${s.state}, inbox ${JSON.stringify(s.inbox)}`);
  });
const answersTo = async (marker: string) => (await state()).posted.filter((p) => p.kind === 'messages' && (p.content ?? '').includes(marker));
const forgotten = () => until(async () => ((await status()).inbox?.pending === 0 ? status() : undefined), 60_000, 'the message forgotten');

// Only in a twin with the bot (TWIN_DISCORD=1; `npm test` and `npm run test:production` give it a pass of its own): said loudly otherwise.
if (inject('twinSkipped') === '' && inject('discordStandIn') === '') {
  console.warn('production twin: the Discord scenario is not run in a twin without a bot (TWIN_DISCORD=1 runs it)');
}

describe.skipIf(inject('twinSkipped') !== '' || inject('discordStandIn') === '')('production twin: Discord while it sleeps', () => {
  it("should wake a sleeping assistant for a DM and answer in the DM through OpenClaw's Discord channel, the relay the only receiver", async () => {
    await ensureAwake();
    await sleep();
    // The Worker's first request made the relay hold the bot's session.
    await until(async () => ((await state()).live === 1 ? true : undefined), 60_000, 'the relay holding the session');
    const before = (await status()).inbox;
    // A stranger's DM is refused by the Worker: counted, nothing stored, nothing woken, nothing answered.
    await dm('hi bot, marker-5a11', STRANGER, STRANGER_DM);
    const refused = await until(
      async () => ((await status()).inbox?.refused === (before?.refused ?? 0) + 1 ? status() : undefined),
      60_000,
      'the stranger counted',
    );
    expect(refused.state).toBe('sleeping');
    expect(refused.inbox).toMatchObject({ pending: 0, lastRefused: { sender: STRANGER } });
    await dm('hello from discord on the twin, marker-7c3d');
    const answer = await answered('marker-7c3d', 300_000);
    expect(answer.content).toBe('mock answer: hello from discord on the twin, marker-7c3d');
    const seen = await state();
    expect(seen.posted.find((p) => p.kind === 'typing' && p.channel === DM)).toBeDefined();
    // Every REST call carried the real token; OpenClaw's gateway lookup never reached Discord; one session, the relay's.
    expect(seen.calls.filter((c) => !c.token)).toEqual([]);
    expect(seen.calls.filter((c) => c.path === '/api/v10/gateway/bot')).toHaveLength(1);
    expect(seen.identified).toHaveLength(1);
    // The inbox forgets the message once the hook reports the turn ran, just after the answer went out.
    const s = await forgotten();
    expect(s.inbox).toMatchObject({ pending: 0, deadLetters: [] });
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 1);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
    // The container holds a placeholder of the token and the hook's derived token, never the real one.
    const env = inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | grep ^DISCORD_ || true');
    expect(env).toContain('DISCORD_BOT_TOKEN=ondemand-placeholder-discord-bot-token');
    expect(env).toMatch(/^DISCORD_HOOK_TOKEN=[0-9a-f]{64}$/m);
    expect(env).not.toContain('must-stay-in-the-worker');
    expect(seen.posted.filter((p) => p.channel === STRANGER_DM && p.kind === 'messages')).toEqual([]);
  });

  it('should answer a DM while it runs without waking it again, once', async () => {
    const before = (await status()).inbox;
    await dm('and again on the twin, marker-91be');
    await answered('marker-91be', 180_000);
    const s = await forgotten();
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 1);
    expect(s.inbox?.wakes).toBe(before?.wakes ?? 0);
    expect(await answersTo('marker-91be')).toHaveLength(1);
  });

  it('should lose nothing of a burst when the gateway dies between receipt and delivery: each DM answered once, in order, after the retried boot', async () => {
    await sleep();
    const before = (await status()).inbox;
    const markers = ['tburst-1-c1', 'tburst-2-d2', 'tburst-3-e3'];
    for (const marker of markers) await dm(`through a crash on the twin, ${marker}`);
    // The wake's gateway, once the start script has handed over to it: killed before it serves.
    const booting = await waitFor((s) => s.state === 'booting' && s.phase === 'starting-gateway', 'the gateway starting', 240_000);
    expect(booting.inbox?.pending).toBe(markers.length);
    inContainer('kill -9 "$(cat /tmp/openclaw-boot/gateway.pid)"');
    for (const marker of markers) expect((await answered(marker, 600_000)).content).toBe(`mock answer: through a crash on the twin, ${marker}`);
    const s = await forgotten();
    // The kill was seen and the boot retried (its second attempt, not a new wake): each DM delivered once, in the order sent.
    expect(['ready', 'idle']).toContain(s.state);
    expect(s.bootAttempt).toBe(2);
    expect(s.inbox).toMatchObject({ pending: 0, deadLetters: [] });
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + markers.length);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
    const posted = (await state()).posted.filter((p) => p.channel === DM && p.kind === 'messages' && (p.content ?? '').includes('tburst-'));
    expect(posted.map((p) => p.content?.match(/tburst-\d-[a-z0-9]+/)?.[0])).toEqual(markers);
    expect((await state()).identified).toHaveLength(1);
  }, 900_000);

  it('should not wake a hibernated assistant for a DM: the sender is told why, once, and the kept DMs are answered after the resume', async () => {
    await ensureAwake();
    const before = (await status()).inbox;
    expect((await command('hibernate', { reason: 'budget: projected $41 > $40' })).status).toBe(202);
    await waitFor((s) => s.state === 'hibernated', 'hibernated', 240_000);
    const postedBefore = (await state()).posted.length;
    await dm('are you there? marker-h1');
    await dm('hello? marker-h2');
    const note = await until(
      async () => (await state()).posted.slice(postedBefore).find((p) => p.channel === DM && p.kind === 'messages'),
      60_000,
      'the note to the sender',
    );
    expect(note.content).toContain('budget: projected $41 > $40');
    await until(async () => ((await status()).inbox?.pending === 2 ? true : undefined), 60_000, 'both DMs kept');
    const notes = (await state()).posted.slice(postedBefore).filter((p) => p.channel === DM && p.kind === 'messages');
    expect(notes).toHaveLength(1);
    expect((await status()).state).toBe('hibernated');
    // The owner resumes it: the kept DMs wake it and are answered.
    expect((await command('resume', { override: true })).status).toBe(200);
    await answered('marker-h1', 600_000);
    await answered('marker-h2', 600_000);
    const s = await forgotten();
    expect(s.inbox?.delivered).toBe((before?.delivered ?? 0) + 2);
    expect(s.inbox?.wakes).toBe((before?.wakes ?? 0) + 1);
  }, 900_000);
});
