/**
 * The relay's Discord gateway session against the recorded stand-in, over
 * real WebSockets (Node's own client): identify, heartbeats, the messages
 * it passes on, and each way a connection ends (a drop, a zombie, a
 * reconnect request, an invalid session, a bad token, a hand-over).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiscordGatewaySession } from '../../src/inbox/discord-gateway.ts';
import {
  type DiscordInbound,
  type GatewaySessionState,
  type GatewaySocket,
  NO_SESSION,
  RELAY_INTENTS,
  standardSocket,
} from '../../src/inbox/discord-frames.ts';
import { type DiscordStandIn, startDiscordStandIn } from '../support/discord-standin.ts';
import { until } from '../../scripts/lib/local-stack.ts';

const TOKEN = 'discord-standin-token';
const OWNER = '2200000000000000002';

function openSocket(url: string): Promise<GatewaySocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.addEventListener('open', () => resolve(standardSocket(ws)), { once: true });
    ws.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)), { once: true });
  });
}

describe('Discord gateway session (relay)', { timeout: 60_000 }, () => {
  let discord: DiscordStandIn;
  let sessions: DiscordGatewaySession[];
  beforeEach(async () => {
    discord = await startDiscordStandIn({ token: TOKEN, heartbeatMs: 150 });
    sessions = [];
  });
  afterEach(async () => {
    for (const s of sessions) s.stop();
    await discord.close();
  });

  function session(state: GatewaySessionState = NO_SESSION, token = TOKEN, refuseFirst = 0) {
    const got: DiscordInbound[] = [];
    const saved: GatewaySessionState[] = [];
    const failures: string[] = [];
    let refused = 0;
    const s = new DiscordGatewaySession(token, discord.gatewayUrl, state, {
      open: openSocket,
      message: async (m) => {
        if (refused < refuseFirst) {
          refused++;
          throw new Error('the inbox is unreachable');
        }
        got.push(m);
      },
      save: async (st) => void saved.push(st),
      failed: (reason) => void failures.push(reason),
    });
    sessions.push(s);
    s.start();
    return { s, got, saved, failures };
  }
  const connected = (s: DiscordGatewaySession) => until(async () => (s.phase === 'connected' ? true : undefined), 10_000, 'connected');

  it('should identify with the DM and guild-message intents, heartbeat with the last sequence, and pass on the messages meant for the bot', async () => {
    const { s, got, saved } = session();
    await connected(s);
    const identify = discord.received.find((f) => f.op === 2);
    expect(identify?.d).toMatchObject({ token: '<the token>', intents: RELAY_INTENTS });
    expect(saved.at(-1)).toMatchObject({ sessionId: discord.identified[0], botUserId: discord.botUserId, seq: 1 });

    const dm = discord.message({ authorId: OWNER, content: 'hello from a DM' });
    discord.message({ authorId: OWNER, content: 'chatter in a guild', guildId: '33', channelId: '44' });
    const mention = discord.message({ authorId: OWNER, content: '<@bot> are you there?', guildId: '33', channelId: '44', mentionsBot: true });
    discord.message({ authorId: '9', content: 'another bot', bot: true });
    discord.message({ authorId: discord.botUserId, content: 'its own answer' });
    await until(async () => (got.length >= 2 ? true : undefined), 10_000, 'two messages');
    expect(got.map((m) => [m.id, m.guildId, m.authorId, m.content])).toEqual([
      [dm, null, OWNER, 'hello from a DM'],
      [mention, '33', OWNER, '<@bot> are you there?'],
    ]);
    // Heartbeats carry the last sequence it saw (READY is 1, then the five messages).
    await until(async () => (discord.received.some((f) => f.op === 1 && f.d === 6) ? true : undefined), 10_000, 'a heartbeat with seq 6');
    expect(got).toHaveLength(2);
  });

  it('should resume after a dropped connection and get what was sent meanwhile, once', async () => {
    const { s, got } = session();
    await connected(s);
    discord.drop();
    const away = discord.message({ authorId: OWNER, content: 'sent while the relay was away' });
    await until(async () => (got.length === 1 ? true : undefined), 10_000, 'the replayed message');
    expect(got[0]?.id).toBe(away);
    expect(discord.resumed).toEqual([discord.identified[0]]);
    expect(discord.identified).toHaveLength(1);
    expect(discord.received.filter((f) => f.op === 6).at(-1)?.d).toMatchObject({ session_id: discord.identified[0], seq: 1 });
  });

  it('should not keep the sequence of a message it could not hand on: the resume has Discord send it again', async () => {
    const { s, got, saved } = session(NO_SESSION, TOKEN, 2);
    await connected(s);
    const id = discord.message({ authorId: OWNER, content: 'kept by Discord until handed on' });
    await until(async () => (got.length === 1 ? true : undefined), 20_000, 'handed on after two refusals');
    expect(got[0]?.id).toBe(id);
    // Two refusals, two resumes from the sequence before the message; never saved past it until it was handed on.
    expect(discord.resumed).toHaveLength(2);
    expect(discord.received.filter((f) => f.op === 6).map((f) => (f.d as { seq: number }).seq)).toEqual([1, 1]);
    expect(saved.map((st) => st.seq).filter((q) => q !== null && q >= 2)[0]).toBeGreaterThanOrEqual(2);
    await until(async () => (s.phase === 'connected' ? true : undefined), 10_000, 'connected');
    expect(got).toHaveLength(1);
  });

  it('should close a connection whose heartbeats go unacknowledged, and resume', async () => {
    const { s } = session();
    await connected(s);
    discord.acknowledgeHeartbeats(false);
    await until(async () => (discord.connections[0]?.closedWith !== null ? true : undefined), 10_000, 'the zombie closed');
    discord.acknowledgeHeartbeats(true);
    await until(async () => (discord.resumed.length === 1 && s.phase === 'connected' ? true : undefined), 10_000, 'resumed');
    expect(discord.connections[0]?.closedWith).not.toBe(1000);
  });

  it('should resume when asked to reconnect, and identify anew when the session is invalid', async () => {
    const { s } = session();
    await connected(s);
    discord.requestReconnect();
    await until(async () => (discord.resumed.length === 1 && s.phase === 'connected' ? true : undefined), 10_000, 'resumed');
    discord.invalidate(false);
    await until(async () => (discord.identified.length === 2 && s.phase === 'connected' ? true : undefined), 15_000, 'identified anew');
    expect(s.state.sessionId).toBe(discord.identified[1]);
  });

  it('should stop for good on a bad token, saying why', async () => {
    const { s, failures } = session(NO_SESSION, 'not-the-token');
    await until(async () => (failures.length ? true : undefined), 10_000, 'failed');
    expect(s.phase).toBe('failed');
    expect(failures[0]).toMatch(/4004/);
    expect(discord.connections).toHaveLength(1);
  });

  it('should end the session on a hand-over, and resume a kept session after a restart', async () => {
    const first = session();
    await connected(first.s);
    const kept = first.s.state;
    // A restart of what runs it (a Durable Object evicted): a new session object from the saved state resumes.
    const second = session(kept);
    await connected(second.s);
    expect(discord.resumed).toEqual([kept.sessionId]);
    first.s.stop();
    second.s.stop();
    await until(async () => (discord.live() === 0 ? true : undefined), 5_000, 'closed');
    expect(discord.connections.at(-1)?.closedWith).toBe(1000);
    // Ended on Discord's side too: the next holder identifies.
    const third = session(kept);
    await connected(third.s);
    expect(discord.identified).toHaveLength(2);
  });
});
