/**
 * The Discord relay Durable Object in workerd: it opens its gateway
 * session with fetch (Upgrade: websocket) to the recorded stand-in, holds
 * it, hands each message for the bot on once, resumes after a drop, keeps
 * no sequence past a message it could not hand on, and ends the session on
 * release so the next holder identifies anew.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { DISCORD_API_ORIGIN } from '../../src/inbox/discord-rest.ts';
import { fakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { discordHookToken } from '../../src/inbox/discord-hooks.ts';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { discordStandIn, instances, testClock, type TestDiscordRelay } from './test-worker.ts';

const OWNER = '2200000000000000002';
const control = inject('discordControl');

interface StandInState {
  posted: { channel: string; kind: string; content: string | null }[];
  identified: string[];
  resumed: string[];
  connections: { closedWith: number | null }[];
  live: number;
}
const standInState = async () => (await (await fetch(`${control}/state`)).json()) as StandInState;
const send = async (m: Record<string, unknown>) =>
  ((await (await fetch(`${control}/message`, { method: 'POST', body: JSON.stringify(m) })).json()) as { id: string }).id;
// The tests' wrangler config binds DISCORD_RELAY to TestDiscordRelay (test-worker.ts).
const relays = env.DISCORD_RELAY as unknown as DurableObjectNamespace<TestDiscordRelay>;
const relay = (name: string) => relays.get(relays.idFromName(name));
const WAIT = { timeout: 20_000, interval: 50 };

describe('Discord relay (Durable Object, workerd)', { timeout: 60_000 }, () => {
  beforeAll(() => {
    discordStandIn.apiUrl = inject('discordApi');
  });
  afterEach(() => {
    discordStandIn.delivered.length = 0;
    discordStandIn.refuse = 0;
    discordStandIn.toAgent = false;
    discordStandIn.agentName = null;
    vi.restoreAllMocks();
    resetFakeContainers();
  });

  it('should hold the bot session from workerd, hand on a DM once, resume after a drop, and end the session on release', async () => {
    const stub = relay('hold-release');
    const before = await standInState();
    expect(await stub.hold()).toMatchObject({ holding: true, failure: null });
    await vi.waitFor(async () => expect((await stub.status()).phase).toBe('connected'), WAIT);
    expect((await standInState()).identified).toHaveLength(before.identified.length + 1);

    const dm = await send({ authorId: OWNER, content: 'are you awake?' });
    await vi.waitFor(() => expect(discordStandIn.delivered.map((m) => m.id)).toEqual([dm]), WAIT);
    expect(discordStandIn.delivered[0]).toMatchObject({ authorId: OWNER, guildId: null, content: 'are you awake?' });

    // A drop: the relay resumes and Discord replays what it missed.
    await fetch(`${control}/drop`, { method: 'POST' });
    const missed = await send({ authorId: OWNER, content: 'sent during the drop' });
    await vi.waitFor(() => expect(discordStandIn.delivered.map((m) => m.id)).toEqual([dm, missed]), WAIT);
    expect((await standInState()).resumed.length).toBeGreaterThanOrEqual(before.resumed.length + 1);
    expect(await stub.status()).toMatchObject({ received: 2 });

    expect(await stub.release()).toMatchObject({ holding: false, phase: 'closed' });
    await vi.waitFor(async () => expect((await standInState()).connections.at(-1)?.closedWith).toBe(1000), WAIT);
    await send({ authorId: OWNER, content: 'after the hand-over' });
    // Nothing comes to a relay that let go (the stand-in has no live session for it to replay either).
    expect((await standInState()).live).toBe(0);
    expect(discordStandIn.delivered).toHaveLength(2);
  });

  it('should meter the time it holds the session and its requests (frames from Discord, alarms), and stop counting time once released', async () => {
    const stub = relay('meter');
    const startedAt = Date.now();
    await stub.hold();
    await vi.waitFor(async () => expect((await stub.status()).phase).toBe('connected'), WAIT);
    const dm = await send({ authorId: OWNER, content: 'metered' });
    await vi.waitFor(() => expect(discordStandIn.delivered.map((m) => m.id)).toContain(dm), WAIT);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const held = await stub.usage();
    // HELLO, READY and the DM's dispatch came in, and the alarm ran: at least four requests.
    expect(held).toMatchObject({ month: new Date().toISOString().slice(0, 7), holding: true });
    expect(held.requests).toBeGreaterThanOrEqual(4);
    expect(held.heldSeconds).toBeGreaterThan(0);
    expect(held.heldSeconds).toBeLessThanOrEqual((Date.now() - startedAt) / 1000);

    await stub.release();
    const released = await stub.usage();
    expect(released.holding).toBe(false);
    expect(released.heldSeconds).toBeGreaterThanOrEqual(held.heldSeconds);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await stub.usage()).heldSeconds).toBe(released.heldSeconds);
  });

  it('should have Discord send again a message it could not hand on, and hand it on once', async () => {
    const stub = relay('refused-once');
    await stub.hold();
    await vi.waitFor(async () => expect((await stub.status()).phase).toBe('connected'), WAIT);
    discordStandIn.refuse = 1;
    const id = await send({ authorId: OWNER, content: 'kept by Discord until the inbox takes it' });
    await vi.waitFor(() => expect(discordStandIn.delivered.map((m) => m.id)).toEqual([id]), WAIT);
    expect(discordStandIn.refuse).toBe(0);
    await stub.release();
  });

  it("should take an allowed sender's DM into a sleeping assistant's inbox and wake it (typing… meanwhile), count a stranger, and tell a hibernated assistant's sender why, once", async () => {
    const name = `discord-${Date.now()}`;
    const agent = env.AGENT.get(env.AGENT.idFromName(name));
    const status = async () => ((await agent.lifecycleStatus()) as { ok: true; status: AgentStatus }).status;
    discordStandIn.agentName = name;
    discordStandIn.toAgent = true;
    // The Agent's own REST calls (its notes, typing…) go to Discord's origin: here, to the stand-in.
    const passThrough = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      const request = new Request(input as RequestInfo, init);
      if (!request.url.startsWith(DISCORD_API_ORIGIN)) return passThrough(request);
      return passThrough(new Request(request.url.replace(DISCORD_API_ORIGIN, inject('discordApi')), request));
    });
    const stub = relay(name);
    await stub.hold();
    await vi.waitFor(async () => expect((await stub.status()).phase).toBe('connected'), WAIT);

    const id = await send({ authorId: OWNER, content: 'wake up, please' });
    const dmChannel = `3${OWNER.slice(1)}`;
    await vi.waitFor(async () => expect((await status()).inbox).toMatchObject({ wakes: 1, lastWakeAt: expect.any(String) }), WAIT);
    expect(['booting', 'ready', 'idle']).toContain((await status()).state);
    await vi.waitFor(
      async () => expect((await standInState()).posted).toContainEqual({ at: expect.any(Number), channel: dmChannel, kind: 'typing', content: null }),
      WAIT,
    );
    expect(discordStandIn.delivered.map((m) => m.id)).toEqual([id]);

    await send({ authorId: '2200000000000000009', content: 'let me in' });
    await vi.waitFor(async () => expect((await status()).inbox?.lastRefused).toMatchObject({ channel: 'discord', sender: '2200000000000000009' }), WAIT);

    await agent.lifecycleCommand('hibernate', { reason: 'budget: projected $22 > $20', by: 'budget' });
    await vi.waitFor(async () => expect((await status()).state).toBe('hibernated'), WAIT);
    await send({ authorId: OWNER, content: 'still there?' });
    await send({ authorId: OWNER, content: 'hello?' });
    await vi.waitFor(() => expect(discordStandIn.delivered).toHaveLength(4), WAIT);
    const notes = (await standInState()).posted.filter((p) => p.kind === 'messages' && p.channel === dmChannel);
    expect(notes.map((n) => n.content)).toEqual([expect.stringContaining('hibernated (budget: projected $22 > $20)')]);
    expect((await status()).state).toBe('hibernated');
    await stub.release();
  });

  it("should hand a kept DM to the gateway's agent hook keyed by its id, keep it until the turn ran, and lose nothing across a restart of the Durable Object", async () => {
    const name = `discord-hook-${Date.now()}`;
    const agent = env.AGENT.get(env.AGENT.idFromName(name));
    const status = async (stub = agent) => ((await stub.lifecycleStatus()) as { ok: true; status: AgentStatus }).status;
    await agent.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status()).state).toBe('ready'), WAIT);
    const gateway = fakeContainer(name);
    gateway.hooksAnswer = 'failed';
    const dm = (id: string, content: string) => ({ id, channelId: '3300000000000000008', guildId: null, authorId: OWNER, content, raw: { id, content } });
    expect(await agent.inboxDiscord(dm('9001', 'remember this'))).toMatchObject({ ok: true, receipt: 'stored' });
    await vi.waitFor(() => expect(gateway.hooks).toHaveLength(1), WAIT);
    // The turn failed: the message stays, its try counted.
    await vi.waitFor(async () => expect((await status()).inbox).toMatchObject({ pending: 1, delivered: 0 }), WAIT);
    // The Durable Object restarts (a deploy) before OpenClaw ran the turn: the message is in its storage, not its memory.
    const made = instances.count;
    await runInDurableObject(agent, (_instance, state) => state.abort('restart for the test')).catch(() => {});
    const again = env.AGENT.get(env.AGENT.idFromName(name));
    expect((await status(again)).inbox).toMatchObject({ pending: 1, delivered: 0 });
    expect(instances.count).toBe(made + 1);
    // Past its backoff, the next message's drain hands it on first, then the new one; each turn runs.
    gateway.hooksAnswer = 'ran';
    testClock.offsetMs = 5_000;
    expect(await again.inboxDiscord(dm('9002', 'and this'))).toMatchObject({ ok: true, receipt: 'stored' });
    await vi.waitFor(async () => expect((await status(again)).inbox).toMatchObject({ pending: 0, delivered: 2 }), WAIT);
    expect(gateway.hooks.map((h) => [h.idempotencyKey, h.body.message])).toEqual([
      ['discord:9001', 'remember this'],
      ['discord:9001', 'remember this'],
      ['discord:9002', 'and this'],
    ]);
    // The hook's token is derived from the bot's; the answer goes to the DM's channel, in its own session.
    const token = await discordHookToken(env.DISCORD_BOT_TOKEN ?? '');
    expect(gateway.hooks.every((h) => h.authorization === `Bearer ${token}`)).toBe(true);
    expect(gateway.hooks[0]?.body).toMatchObject({ channel: 'discord', to: 'channel:3300000000000000008', sessionKey: 'hook:discord:3300000000000000008' });
    testClock.offsetMs = 0;
  });
});
