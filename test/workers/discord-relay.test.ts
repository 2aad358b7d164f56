/**
 * The Discord relay Durable Object in workerd: it opens its gateway
 * session with fetch (Upgrade: websocket) to the recorded stand-in, holds
 * it, hands each message for the bot on once, resumes after a drop, keeps
 * no sequence past a message it could not hand on, and ends the session on
 * release so the next holder identifies anew.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { discordStandIn } from './test-worker.ts';

const OWNER = '2200000000000000002';
const control = inject('discordControl');

interface StandInState {
  identified: string[];
  resumed: string[];
  connections: { closedWith: number | null }[];
  live: number;
}
const standInState = async () => (await (await fetch(`${control}/state`)).json()) as StandInState;
const send = async (m: Record<string, unknown>) =>
  ((await (await fetch(`${control}/message`, { method: 'POST', body: JSON.stringify(m) })).json()) as { id: string }).id;
const relay = (name: string) => env.DISCORD_RELAY.get(env.DISCORD_RELAY.idFromName(name));
const WAIT = { timeout: 20_000, interval: 50 };

describe('Discord relay (Durable Object, workerd)', { timeout: 60_000 }, () => {
  beforeAll(() => {
    discordStandIn.apiUrl = inject('discordApi');
  });
  afterEach(() => {
    discordStandIn.delivered.length = 0;
    discordStandIn.refuse = 0;
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
});
