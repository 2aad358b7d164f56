/**
 * Discord while the assistant sleeps, in the local mode with the real
 * OpenClaw and its Discord channel plugin: the Worker's relay holds the bot's
 * one gateway session (the local mode's relay reaches the recorded stand-in,
 * test/support/discord-standin.ts, where LOCAL_EGRESS_UPSTREAMS puts
 * discord.com); a DM from an allowed sender goes into the Agent's inbox, the
 * sender sees "typing…", the assistant wakes, and once the gateway serves
 * the inbox hands the message to the gateway's agent hook, whose turn
 * answers in the DM through OpenClaw's Discord channel — its REST calls
 * through the Worker's egress, which adds the bot's token (the gateway holds
 * a placeholder) and refuses its gateway lookup, so the relay stays the only
 * receiver. The model is the bundled mock.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { post, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { readStatus } from '../support/stack-client.ts';
import { startDiscordStandIn, type DiscordStandIn } from '../support/discord-standin.ts';
import { clawctl } from '../support/clawctl-run.ts';

const TOKEN = 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.local-discord-bot-token-must-stay-in-the-worker';
const OWNER = '2200000000000000002';
const STRANGER = '2200000000000000666';
const DM = '3300000000000000003';
let stack: LocalStack;
let discord: DiscordStandIn;

const status = (): Promise<AgentStatus> => readStatus(stack.url);
/** What the bot posted in the DM channel (the Worker's notes and OpenClaw's answers). */
const said = () => discord.posted.filter((p) => p.channel === DM && p.kind === 'messages').map((p) => p.content ?? '');
const dm = (content: string, authorId = OWNER) => discord.message({ authorId, content, channelId: DM });

async function answered(marker: string, timeoutMs: number): Promise<string> {
  return until(async () => said().find((t) => t.includes(marker)), timeoutMs, `the answer to ${marker}`).catch(async (error: Error) => {
    throw new Error(
      `${error.message}; the REST calls ${JSON.stringify(discord.calls.map((c) => [c.method, c.path, c.token]))}; the inbox ${JSON.stringify((await status()).inbox)}`,
    );
  });
}

describe('Discord while it sleeps (local mode, real OpenClaw)', () => {
  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), 'discord-local-'));
    // Discord's own heartbeat interval is ~41 s; a short one exercises the relay's heartbeats within the test.
    discord = await startDiscordStandIn({ token: TOKEN, heartbeatMs: 5_000 });
    const secrets = join(work, 'secrets.env');
    writeFileSync(secrets, `DISCORD_BOT_TOKEN=${TOKEN}\n`, { mode: 0o600 });
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      LOCAL_BROWSER: 'off',
      SLEEP_AFTER: '10m',
      LOCAL_SECRETS_FILE: secrets,
      DISCORD_ALLOWED_USER_IDS: OWNER,
      LOCAL_EGRESS_UPSTREAMS: JSON.stringify({ 'discord.com': discord.apiUrl.replace(/\/api\/v10$/, '') }),
    });
    // The Worker's first request made sure the relay holds: it identifies once.
    await until(async () => (discord.identified.length > 0 && discord.live() === 1 ? true : undefined), 60_000, 'the relay holding the gateway session');
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await discord?.close();
  });

  it('should refuse a sender not on DISCORD_ALLOWED_USER_IDS, waking nothing and answering nothing', async () => {
    dm('hi bot', STRANGER);
    await until(async () => ((await status()).inbox?.refused === 1 ? true : undefined), 30_000, 'the stranger counted');
    const s = await status();
    expect(s.state).toBe('stopped');
    expect(s.inbox).toMatchObject({ pending: 0, refused: 1, lastRefused: { sender: STRANGER } });
    expect(said()).toEqual([]);
  });

  it('should wake a sleeping assistant for a DM, say "typing…", and answer in the DM through OpenClaw\'s Discord channel', async () => {
    dm('hello from discord, marker-5d21');
    await until(async () => (discord.posted.some((p) => p.kind === 'typing' && p.channel === DM) ? true : undefined), 30_000, '"typing…"');
    expect(['booting', 'ready']).toContain((await status()).state);
    const answer = await answered('marker-5d21', 240_000);
    expect(answer).toBe('mock answer: hello from discord, marker-5d21');
    // The inbox forgets the message once the hook reports the turn ran, just after the answer went out.
    await until(async () => ((await status()).inbox?.pending === 0 ? true : undefined), 60_000, 'the message forgotten');
    expect((await status()).inbox).toMatchObject({ pending: 0, delivered: 1, wakes: 1, deadLetters: [] });
    // Every REST call carried the real token, which the gateway never held.
    expect(discord.calls.every((c) => c.token)).toBe(true);
    const pid = readFileSync(join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid'), 'utf8').trim();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toContain('DISCORD_BOT_TOKEN=ondemand-placeholder-discord-bot-token');
    expect(environ).not.toContain('must-stay-in-the-worker');
    // OpenClaw's channel asked for a gateway of its own; the Worker's egress refused it, so the relay's is the only session.
    expect(discord.calls.filter((c) => c.path === '/api/v10/gateway/bot')).toHaveLength(1);
    expect(discord.identified).toHaveLength(1);
  }, 300_000);

  it('should answer a DM while it runs without waking it again, once', async () => {
    dm('and again, marker-a7e0');
    await answered('marker-a7e0', 120_000);
    await until(async () => ((await status()).inbox?.delivered === 2 ? true : undefined), 60_000, 'the message forgotten');
    expect(said().filter((t) => t.includes('marker-a7e0'))).toHaveLength(1);
    expect((await status()).inbox).toMatchObject({ delivered: 2, wakes: 1 });
  }, 180_000);

  it("should show the relay's session and the inbox in `clawctl inbox` and `clawctl status`", async () => {
    const inbox = await clawctl(['inbox', '--url', stack.url]);
    expect(inbox.code, inbox.stderr).toBe(0);
    expect(inbox.stdout).toMatch(
      /^inbox: 0 waiting, 2 delivered \(last [^)]+\), 1 wakes from messages, 1 refused \(last: 2200000000000000666, not on DISCORD_ALLOWED_USER_IDS\)$/m,
    );
    // The relay took the stranger's DM too (then refused it): three received.
    expect(inbox.stdout).toMatch(/^discord relay: connected since \S+, 3 messages received \(last \S+\)$/m);
    expect((await clawctl(['status', '--url', stack.url])).stdout).toContain('  discord relay: connected since');
  });

  it('should take a burst of DMs to a sleeping assistant while it boots, and answer each once, in order', async () => {
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    const markers = ['dburst-1-e11', 'dburst-2-f22', 'dburst-3-a33'];
    for (const marker of markers) dm(`in a row ${marker}`);
    for (const marker of markers) await answered(marker, 240_000);
    const answers = said().filter((t) => t.includes('dburst-'));
    // One turn per message (the hook serializes a channel's turns): each answered once, in the order sent.
    expect(answers.map((t) => t.match(/dburst-\d-[a-z0-9]+/)?.[0])).toEqual(markers);
    await until(async () => ((await status()).inbox?.pending === 0 ? true : undefined), 60_000, 'the messages forgotten');
    expect((await status()).inbox).toMatchObject({ pending: 0, delivered: 5, wakes: 2 });
    // The relay kept its one session through the sleep and the wake.
    expect(discord.identified).toHaveLength(1);
  }, 360_000);

  it('should lose nothing when the gateway dies between receipt and delivery: the DM is answered once, after the retried boot', async () => {
    const pidFile = join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid');
    const before = readFileSync(pidFile, 'utf8').trim();
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    dm('through a crash, marker-c4a5');
    // The wake's gateway, once its start script has handed over to it (its pid written): killed before it serves.
    const pid = await until(
      async () => {
        const now = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
        return now !== '' && now !== before && existsSync(`/proc/${now}`) ? now : undefined;
      },
      120_000,
      "the wake's gateway started",
    );
    const atKill = await status();
    expect(atKill.state).toBe('booting');
    expect(atKill.inbox).toMatchObject({ pending: 1 });
    process.kill(Number(pid), 'SIGKILL');
    const answer = await answered('marker-c4a5', 300_000);
    expect(answer).toBe('mock answer: through a crash, marker-c4a5');
    await until(async () => ((await status()).inbox?.pending === 0 ? true : undefined), 60_000, 'the message forgotten');
    const after = await status();
    // The kill was seen and the boot retried (its second attempt, not a new wake): the DM was delivered once.
    expect(after.state).toBe('ready');
    expect(after.bootAttempt).toBe(2);
    expect(after.inbox).toMatchObject({ pending: 0, delivered: 6, wakes: 3, deadLetters: [] });
    expect(said().filter((t) => t.includes('marker-c4a5'))).toHaveLength(1);
    expect(discord.identified).toHaveLength(1);
  }, 420_000);
});
