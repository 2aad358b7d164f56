/**
 * A stand-in for Discord's gateway (v10, JSON) and the REST routes a bot's
 * relay uses, on 127.0.0.1 (or the address given: the twin's Docker bridge). Its frames follow Discord's documented shapes:
 * HELLO with a heartbeat interval, READY with the session and the resume
 * URL, HEARTBEAT_ACK, RESUMED after a replay of what the session missed,
 * INVALID_SESSION for a session it does not know, RECONNECT on request, and
 * the close codes for a bad token (4004) and disallowed intents (4014).
 * REST: the gateway lookup, the bot's identity (`/users/@me`,
 * `/oauth2/applications/@me`, what OpenClaw's Discord channel asks at its
 * start), a channel's lookup, and a channel's messages and typing; every
 * call is recorded with whether it carried the bot's token.
 * A test dispatches MESSAGE_CREATE to the bot's sessions, drops a
 * connection, stops acknowledging heartbeats, and reads what it was sent.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface DiscordStandInOptions {
  token: string;
  botUserId?: string;
  heartbeatMs?: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** Intents bits the application may not ask for (closes 4014). Default: MESSAGE_CONTENT. */
  disallowedIntents?: number;
}

interface Session {
  id: string;
  seq: number;
  /** Every dispatch of the session, for a resume's replay. */
  sent: { s: number; t: string; d: unknown }[];
  socket: WebSocket | null;
  intents: number;
}

export interface StandInFrame {
  at: number;
  session: string | null;
  op: number;
  d: unknown;
}

export interface DiscordStandIn {
  /** The REST base (`…/api/v10`). */
  apiUrl: string;
  /** The gateway URL GET /gateway/bot answers. */
  gatewayUrl: string;
  botUserId: string;
  /** What clients sent (token fields redacted), in order. */
  received: StandInFrame[];
  /** Connections opened and how each closed. */
  connections: { at: number; closedWith: number | null }[];
  /** Sessions identified (their ids), in order. */
  identified: string[];
  /** Sessions resumed. */
  resumed: string[];
  /** Every REST call (method, path, whether it carried the bot's token), in order. */
  calls: { at: number; method: string; path: string; token: boolean }[];
  /** What the bot posted over REST: messages (their content) and typing indicators. */
  posted: { at: number; channel: string; kind: string; content: string | null }[];
  /** Sends MESSAGE_CREATE to every live session (kept for a resume by one that is away); returns the message id. */
  message(m: { authorId: string; content: string; channelId?: string; guildId?: string; mentionsBot?: boolean; bot?: boolean }): string;
  /** Closes the live connections from the server side without ending their sessions (a network drop). */
  drop(code?: number): void;
  /** Asks the live connections to reconnect (op 7). */
  requestReconnect(): void;
  /** Sends op 9 with `resumable`. */
  invalidate(resumable: boolean): void;
  /** Stops (or restarts) answering heartbeats. */
  acknowledgeHeartbeats(on: boolean): void;
  /** Live connections now. */
  live(): number;
  close(): Promise<void>;
}

let snowflake = BigInt(Date.now() - 1420070400000) << 22n;
const nextId = () => String(++snowflake);

export async function startDiscordStandIn(options: DiscordStandInOptions): Promise<DiscordStandIn> {
  const botUserId = options.botUserId ?? '1100000000000000001';
  const host = options.host ?? '127.0.0.1';
  const heartbeatMs = options.heartbeatMs ?? 41_250;
  const disallowed = options.disallowedIntents ?? 1 << 15;
  const sessions = new Map<string, Session>();
  const received: StandInFrame[] = [];
  const connections: DiscordStandIn['connections'] = [];
  const identified: string[] = [];
  const resumed: string[] = [];
  const posted: DiscordStandIn['posted'] = [];
  const calls: DiscordStandIn['calls'] = [];
  let acking = true;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url?.startsWith('/_standin/')) return control(req, json);
    calls.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', token: req.headers.authorization === `Bot ${options.token}` });
    if (req.headers.authorization !== `Bot ${options.token}`) return json(401, { message: '401: Unauthorized', code: 0 });
    if (req.method === 'GET' && req.url === '/api/v10/users/@me')
      return json(200, { id: botUserId, username: 'ondemand-standin', discriminator: '0', bot: true });
    if (req.method === 'GET' && req.url === '/api/v10/oauth2/applications/@me') return json(200, { id: botUserId, name: 'ondemand-standin', flags: 0 });
    const channelLookup = /^\/api\/v10\/channels\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && channelLookup) return json(200, { id: channelLookup[1], type: 1, recipients: [] });
    if (req.method === 'GET' && req.url === '/api/v10/gateway/bot')
      return json(200, { url: gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } });
    const channelCall = /^\/api\/v10\/channels\/(\d+)\/(messages|typing)$/.exec(req.url ?? '');
    if (req.method === 'POST' && channelCall) {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const [, channel = '', kind = ''] = channelCall;
        posted.push({
          at: Date.now(),
          channel,
          kind,
          content: kind === 'messages' ? String((JSON.parse(body || '{}') as { content?: unknown }).content ?? '') : null,
        });
        if (kind === 'typing') {
          res.writeHead(204);
          res.end();
        } else json(200, { id: nextId(), channel_id: channel, content: JSON.parse(body || '{}').content, author: { id: botUserId, bot: true } });
      });
      return;
    }
    json(404, { message: '404: Not Found', code: 0 });
  });
  const wss = new WebSocketServer({ server, path: '/gateway' });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const gatewayUrl = `ws://${host}:${port}/gateway`;

  const dispatch = (session: Session, t: string, d: unknown) => {
    const s = ++session.seq;
    session.sent.push({ s, t, d });
    session.socket?.send(JSON.stringify({ op: 0, t, s, d }));
  };

  wss.on('connection', (socket: WebSocket) => {
    const connection = { at: Date.now(), closedWith: null as number | null };
    connections.push(connection);
    let session: Session | null = null;
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: heartbeatMs, _trace: ['["gateway-prd-standin",{"micros":0.0}]'] }, s: null, t: null }));
    // Like Discord, the server ends the connection once the close handshake is done (a client that keeps its
    // side open, as workerd does, would otherwise leave it open until ws's 30 s close timeout).
    const closing = setInterval(() => {
      if (socket.readyState === socket.CLOSING) socket.terminate();
    }, 100);
    socket.on('close', (code) => {
      clearInterval(closing);
      connection.closedWith = code;
      if (session?.socket === socket) session.socket = null;
      // 1000 and 1001 from the client end the session: it cannot be resumed.
      if (session && (code === 1000 || code === 1001)) sessions.delete(session.id);
    });
    socket.on('message', (raw) => {
      let frame: { op?: number; d?: Record<string, unknown> | number | null };
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        socket.close(4002, 'Error while decoding payload.');
        return;
      }
      const d = frame.d;
      const redacted = typeof d === 'object' && d !== null && 'token' in d ? { ...d, token: d.token === options.token ? '<the token>' : '<another token>' } : d;
      received.push({ at: Date.now(), session: session?.id ?? null, op: frame.op ?? -1, d: redacted });
      if (frame.op === 1) {
        if (acking) socket.send(JSON.stringify({ op: 11 }));
      } else if (frame.op === 2 && typeof d === 'object' && d !== null) {
        if (d.token !== options.token) return socket.close(4004, 'Authentication failed.');
        const intents = typeof d.intents === 'number' ? d.intents : 0;
        if ((intents & disallowed) !== 0) return socket.close(4014, 'Disallowed intent(s).');
        session = { id: randomUUID().replaceAll('-', ''), seq: 0, sent: [], socket, intents };
        sessions.set(session.id, session);
        identified.push(session.id);
        dispatch(session, 'READY', {
          v: 10,
          user: { id: botUserId, username: 'ondemand-standin', discriminator: '0', bot: true },
          guilds: [],
          session_id: session.id,
          resume_gateway_url: gatewayUrl,
          application: { id: botUserId, flags: 0 },
        });
      } else if (frame.op === 6 && typeof d === 'object' && d !== null) {
        const kept = sessions.get(String(d.session_id));
        if (d.token !== options.token) return socket.close(4004, 'Authentication failed.');
        if (!kept) return socket.send(JSON.stringify({ op: 9, d: false }));
        session = kept;
        kept.socket = socket;
        resumed.push(kept.id);
        const from = typeof d.seq === 'number' ? d.seq : 0;
        for (const e of kept.sent.filter((e) => e.s > from)) socket.send(JSON.stringify({ op: 0, t: e.t, s: e.s, d: e.d }));
        dispatch(kept, 'RESUMED', { _trace: ['gateway-prd-standin'] });
      }
    });
  });

  /**
   * The stand-in's own routes, for a test that runs elsewhere (in workerd):
   * POST /_standin/message (the message's fields), /_standin/drop,
   * GET /_standin/state (identified, resumed, connections, posted, REST calls, live).
   */
  function control(req: IncomingMessage, json: (status: number, body: unknown) => void) {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/_standin/message') return json(200, { id: standIn.message(JSON.parse(body)) });
      if (req.method === 'POST' && req.url === '/_standin/drop') {
        standIn.drop();
        return json(200, { dropped: true });
      }
      if (req.method === 'GET' && req.url === '/_standin/state') return json(200, { identified, resumed, connections, posted, calls, live: standIn.live() });
      json(404, { message: 'no such stand-in route' });
    });
  }

  const standIn: DiscordStandIn = {
    apiUrl: `http://${host}:${port}/api/v10`,
    gatewayUrl,
    botUserId,
    received,
    connections,
    identified,
    resumed,
    posted,
    calls,
    message: (m) => {
      const id = nextId();
      const d = {
        id,
        type: 0,
        // A DM's channel: a snowflake of its own (derived from the sender, so a sender keeps one DM channel).
        channel_id: m.channelId ?? `3${m.authorId.slice(1)}`,
        ...(m.guildId ? { guild_id: m.guildId } : {}),
        author: { id: m.authorId, username: `user${m.authorId.slice(-4)}`, discriminator: '0', ...(m.bot ? { bot: true } : {}) },
        content: m.content,
        mentions: m.mentionsBot ? [{ id: botUserId, username: 'ondemand-standin', bot: true }] : [],
        timestamp: new Date().toISOString(),
        tts: false,
        attachments: [],
        embeds: [],
      };
      for (const session of sessions.values()) dispatch(session, 'MESSAGE_CREATE', d);
      return id;
    },
    drop: (code = 1006) => {
      for (const session of sessions.values()) {
        const socket = session.socket;
        session.socket = null;
        if (code === 1006) socket?.terminate();
        else socket?.close(code, 'dropped by the stand-in');
      }
    },
    requestReconnect: () => {
      for (const session of sessions.values()) session.socket?.send(JSON.stringify({ op: 7, d: null }));
    },
    invalidate: (resumable) => {
      for (const session of sessions.values()) {
        session.socket?.send(JSON.stringify({ op: 9, d: resumable }));
        if (!resumable) sessions.delete(session.id);
      }
    },
    acknowledgeHeartbeats: (on) => {
      acking = on;
    },
    live: () => [...sessions.values()].filter((s) => s.socket !== null).length,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIn;
}
