/**
 * The Discord relay: a Durable Object that holds the bot's gateway session
 * while the assistant cannot (it sleeps, boots or is hibernated) and hands
 * each message for the bot (a DM, or a mention) to the Agent's inbox.
 *
 * - `hold()` connects (resuming a session it kept), `release()` ends the
 *   session on Discord's side (close 1000), so whoever connects next
 *   identifies anew and nothing is replayed twice.
 * - An outbound WebSocket keeps the object in memory, but a restart of the
 *   runtime may still evict it: an alarm every KEEPALIVE_MS brings the
 *   session back (resumed from its kept sequence, so Discord replays what
 *   the gap missed).
 * - A message is handed on before its sequence is kept: a crash between the
 *   two replays it on the resume, and the inbox drops the duplicate by id.
 *
 * Its cost: the object stays in memory while it holds the session (billed
 * duration), and each alarm and each frame it gets is a request. It meters
 * both itself (src/inbox/relay-meter.ts, `usage()`), and the cost guard
 * prices the meter; `npm run simulate` prices a month of it.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.ts';
import type { AgentRpcApi } from '../contract/agent-rpc.ts';
import { parseConfig } from '../config.ts';
import { AppError, errorMessage, fromErrorBody } from '../errors.ts';
import { setting } from '../settings.ts';
import { boundLog } from '../log.ts';

const log = boundLog({ channel: 'discord' });
import {
  type DiscordInbound,
  type DiscordRelayApi,
  type GatewaySessionState,
  type GatewaySocket,
  NO_SESSION,
  type RelayStatus,
  type RelayUsage,
  standardSocket,
} from './discord-frames.ts';
import { advanceMeter, meterUsage, newMeter, type RelayMeter } from './relay-meter.ts';
export type { RelayStatus };
import { DiscordGatewaySession } from './discord-gateway.ts';
import { DISCORD_API_ORIGIN } from './discord-rest.ts';
import { parseUpstreams } from '../egress/local-egress.ts';

/** How often the alarm checks that a held session is up (and brings it back after an eviction). */
export const KEEPALIVE_MS = 30_000;
const META_KEY = 'relay/meta';

interface RelayMeta extends Omit<RelayStatus, 'phase'> {
  session: GatewaySessionState;
  gatewayUrl: string | null;
  meter: RelayMeter;
}

const NEW_META: Omit<RelayMeta, 'meter'> = {
  holding: false,
  since: null,
  received: 0,
  lastMessageAt: null,
  failure: null,
  session: NO_SESSION,
  gatewayUrl: null,
};

/** Opens a WebSocket from workerd (fetch with Upgrade; ws:/wss: become http:/https:). */
async function openFromWorker(url: string): Promise<GatewaySocket> {
  const response = await fetch(url.replace(/^ws/, 'http'), { headers: { Upgrade: 'websocket' } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`the gateway answered ${response.status} instead of a WebSocket`);
  socket.accept();
  return standardSocket(socket);
}

export class DiscordRelay extends DurableObject<Env> implements DiscordRelayApi {
  #session: DiscordGatewaySession | null = null;
  #meta: RelayMeta | null = null;
  /** Frames from Discord not yet on the meter (it is saved at each alarm: an eviction loses at most KEEPALIVE_MS of them). */
  #frames = 0;

  /** Starts holding the bot's session (a no-op when it already does). */
  async hold(): Promise<RelayStatus> {
    const meta = await this.#load();
    if (!meta.holding)
      await this.#save({ ...meta, holding: true, since: new Date().toISOString(), failure: null, meter: advanceMeter(meta.meter, Date.now(), true) });
    await this.#ensureSession();
    await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
    return this.status();
  }

  /** Ends the session (Discord cannot resume it) and stops holding. */
  async release(): Promise<RelayStatus> {
    const meta = await this.#load();
    this.#session?.stop();
    this.#session = null;
    await this.#save({ ...meta, holding: false, session: NO_SESSION, meter: this.#metered(meta, false) });
    await this.ctx.storage.deleteAlarm();
    return this.status();
  }

  async status(): Promise<RelayStatus> {
    const { session: _s, gatewayUrl: _g, ...meta } = await this.#load();
    return { ...meta, phase: this.#session?.phase ?? (meta.failure ? 'failed' : 'closed') };
  }

  /** The meter of this month so far. */
  async usage(): Promise<RelayUsage> {
    const meta = await this.#load();
    const meter = this.#metered(meta, meta.holding);
    await this.#save({ ...meta, meter });
    return meterUsage(meter, meta.holding);
  }

  override async alarm(): Promise<void> {
    const loaded = await this.#load();
    if (!loaded.holding) return;
    // The alarm is a request too.
    const meta = { ...loaded, meter: this.#metered(loaded, true, 1) };
    await this.#save(meta);
    // The bot was disconnected (its secret deleted): stop holding instead of failing every 30 s.
    if ((this.env.DISCORD_BOT_TOKEN ?? '') === '') {
      log('relay:released', { reason: 'DISCORD_BOT_TOKEN is not set any more' });
      await this.release();
      return;
    }
    await this.#ensureSession();
    await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
  }

  /** The Agent whose inbox takes the messages (the Worker's one). */
  protected agentName(): string {
    return parseConfig(this.env).agentName;
  }

  /** Where Discord's REST API is (tests point it at a stand-in). */
  protected apiOrigin(): string {
    return DISCORD_API_ORIGIN;
  }

  /**
   * Hands a message on: a sender not on DISCORD_ALLOWED_USER_IDS is counted
   * and dropped (the Worker enforces the list: OpenClaw's own pairing never
   * sees these messages); an allowed one goes into the Agent's inbox. A
   * refusal of the inbox (an error, a full inbox) throws, so the session
   * keeps no sequence past the message and Discord replays it later.
   */
  protected async deliver(message: DiscordInbound): Promise<void> {
    const agent: Pick<AgentRpcApi, 'inboxDiscord' | 'inboxRefused'> = this.env.AGENT.get(this.env.AGENT.idFromName(this.agentName()));
    if (!setting(this.env, 'DISCORD_ALLOWED_USER_IDS').includes(message.authorId)) {
      await agent.inboxRefused(message.authorId, 'not on DISCORD_ALLOWED_USER_IDS', 'discord');
      return;
    }
    const result = await agent.inboxDiscord(message);
    if (!result.ok) throw fromErrorBody(result);
    if (result.receipt === 'full') throw new AppError('rate_limited', 'the inbox is full; Discord replays the message later');
  }

  async #ensureSession(): Promise<void> {
    const token = this.env.DISCORD_BOT_TOKEN ?? '';
    if (token === '') throw new Error('no Discord bot is connected (DISCORD_BOT_TOKEN is not set)');
    if (this.#session && this.#session.phase !== 'closed' && this.#session.phase !== 'failed') return;
    const meta = await this.#load();
    if (meta.failure) return;
    const gatewayUrl = meta.gatewayUrl ?? (await this.#gatewayUrl(token));
    if (meta.gatewayUrl !== gatewayUrl) await this.#save({ ...meta, gatewayUrl });
    const session = new DiscordGatewaySession(token, gatewayUrl, meta.session, {
      open: openFromWorker,
      message: async (m) => {
        await this.deliver(m);
        const now = await this.#load();
        await this.#save({ ...now, received: now.received + 1, lastMessageAt: new Date().toISOString() });
      },
      save: async (state) => {
        if (this.#session === session) await this.#save({ ...(await this.#load()), session: state });
      },
      failed: (reason) => {
        log('relay:failed', { reason });
        void this.#load().then((m) => this.#save({ ...m, failure: reason }));
      },
      log: (line) => log('relay:gateway', { line }),
      received: () => {
        this.#frames++;
      },
    });
    this.#session = session;
    session.start();
  }

  /** GET /gateway/bot: the URL to connect to (Discord asks bots to cache it). */
  async #gatewayUrl(token: string): Promise<string> {
    const response = await fetch(`${this.apiOrigin()}/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`Discord answered ${response.status} to GET /gateway/bot${response.status === 401 ? ' (is DISCORD_BOT_TOKEN right?)' : ''}`);
    }
    const body = (await response.json().catch((e: unknown) => ({ error: errorMessage(e) }))) as { url?: unknown };
    if (typeof body.url !== 'string' || !/^wss?:\/\//.test(body.url)) throw new Error('Discord gave no gateway URL');
    return body.url;
  }

  /** The meter advanced to now, with the frames counted since the last save (and `requests` more). */
  #metered(meta: RelayMeta, holding: boolean, requests = 0): RelayMeter {
    const frames = this.#frames;
    this.#frames = 0;
    return advanceMeter(meta.meter, Date.now(), holding, requests + frames);
  }

  async #load(): Promise<RelayMeta> {
    this.#meta ??= { ...NEW_META, meter: newMeter(Date.now()), ...((await this.ctx.storage.get<RelayMeta>(META_KEY)) ?? {}) };
    return this.#meta;
  }

  async #save(meta: RelayMeta): Promise<void> {
    this.#meta = meta;
    await this.ctx.storage.put(META_KEY, meta);
  }
}

/** The relay's one object: one bot per Worker. */
export const RELAY_NAME = 'relay';

/**
 * Keeps the relay holding while a bot is connected (the cron, a wake): a
 * no-op for a relay that holds. Best effort: a failure is logged, and the
 * next cron tries again.
 */
export async function keepDiscordHeld(env: Env): Promise<void> {
  if (!env.DISCORD_RELAY || (env.DISCORD_BOT_TOKEN ?? '') === '') return;
  try {
    const status = await env.DISCORD_RELAY.get(env.DISCORD_RELAY.idFromName(RELAY_NAME)).hold();
    if (status.failure) log('relay:not-holding', { reason: status.failure });
  } catch (error) {
    log('relay:hold-failed', { message: errorMessage(error) });
  }
}

/** The relay's status while a bot is connected; null without one, or when the relay does not answer (best effort: a status read never fails on it). */
export async function discordRelayStatus(env: Env): Promise<RelayStatus | null> {
  if (!env.DISCORD_RELAY || (env.DISCORD_BOT_TOKEN ?? '') === '') return null;
  try {
    return await env.DISCORD_RELAY.get(env.DISCORD_RELAY.idFromName(RELAY_NAME)).status();
  } catch (error) {
    log('relay:status-failed', { message: errorMessage(error) });
    return null;
  }
}

/** The local mode's relay: Discord's REST API where LOCAL_EGRESS_UPSTREAMS stands an origin in for discord.com. */
export class LocalDiscordRelay extends DiscordRelay {
  protected override apiOrigin(): string {
    const upstream = parseUpstreams(setting(this.env, 'LOCAL_EGRESS_UPSTREAMS')).get('discord.com');
    return upstream ? `${upstream.replace(/\/$/, '')}/api/v10` : DISCORD_API_ORIGIN;
  }
}
