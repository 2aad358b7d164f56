/**
 * The local mode's front door: `npm start` listens on the public port itself
 * and lets through only the owner — the Unix account that ran it — to the
 * Worker (wrangler dev, on a private loopback port).
 *
 * Who is the owner, per TCP connection:
 *
 * - **the owner's own processes** (`LOCAL_AUTH=account`, the default on
 *   Linux): the kernel says which account opened the client's socket
 *   (`/proc/net/tcp` and `tcp6`, the `uid` column of the socket whose local
 *   address is the peer's). curl, clawctl, tests and the owner's browser need
 *   no credential, as before;
 * - **a browser with the login cookie**: `npm start` prints a one-time login
 *   link (`/_ondemand/login?token=…`); opening it sets an HttpOnly,
 *   SameSite=Strict session cookie (per run) and redirects to `/`. A used link
 *   is spent; the next one is printed and written to `access.json`;
 * - **a client with the run's access token** (`Authorization: Bearer`), which
 *   `npm start` writes to `<state dir>/access.json` (0600); clawctl reads it
 *   itself for the local target.
 *
 * Everyone else gets 401 (a page for browsers, JSON for the rest), WebSocket
 * upgrades included. Where the kernel cannot say (no /proc: macOS, BSD) or
 * with `LOCAL_AUTH=token`, every client needs the cookie or the token.
 *
 * What the gate forwards carries the run's owner secret in OWNER_HEADER,
 * which the Worker requires in local mode (src/auth/access.ts), so wrangler's
 * own port, reachable by every account on loopback, answers nobody else. The
 * gate's own credentials (the cookie, the bearer token) and any client copy
 * of OWNER_HEADER are removed first: neither the Worker nor the gateway sees them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { LOCAL_OWNER_HEADER, sameSecret } from '../../src/contract/local-host.ts';

export const LOGIN_PATH = '/_ondemand/login';
/** Sessions a run keeps (each login link opened once makes one); the oldest goes first. */
const MAX_SESSIONS = 64;

export type LocalAuthMode = 'account' | 'token';

export interface OwnerGateOptions {
  /** The public port on 127.0.0.1 (0: any free one). */
  port: number;
  /** wrangler dev's private port on 127.0.0.1. */
  upstreamPort: number;
  /** The secret the Worker requires in OWNER_HEADER (never given to a client). */
  ownerSecret: string;
  /** `account`: the owner's own processes need no credential (where /proc tells); `token`: every client needs one. */
  mode: LocalAuthMode;
  /** Where the access token and the current login link are written (0600). */
  accessFile: string;
  /** Told each fresh login link after one is used. */
  onLogin?: (nextLoginUrl: string) => void;
  /** Where the kernel's socket tables are (tests point it elsewhere). */
  procNet?: string;
}

export interface OwnerGate {
  url: string;
  port: number;
  /** Whether the owner's own processes get in without a credential (account mode on a system with /proc). */
  byAccount: boolean;
  /** The reusable access token (Authorization: Bearer). */
  token: string;
  /** The current one-time login link. */
  loginUrl(): string;
  close(): Promise<void>;
}

export interface AccessFile {
  url: string;
  token: string;
  loginUrl: string;
}

const secret = () => randomBytes(32).toString('hex');

/** 127.0.0.1 as /proc/net/tcp writes it: the 32-bit words in host order (little-endian here), then the port in hex. */
function decodeProcAddress(field: string): { address: string; port: number } | null {
  const [hex, portHex] = field.split(':');
  if (!hex || !portHex) return null;
  const port = parseInt(portHex, 16);
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return { address: bytes.join('.'), port };
  if (bytes.length !== 16) return null;
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return { address: bytes.slice(12).join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return { address: groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::'), port };
}

const plainAddress = (address: string) => address.replace(/^::ffff:/, '');

/**
 * The Unix uid that owns the client end of a loopback TCP connection to us:
 * the socket whose local address is `peer` and whose remote address is `us`,
 * in /proc/net/tcp or tcp6. null when the kernel does not say (no /proc, or
 * the client is gone).
 */
export function peerUid(peer: { address: string; port: number }, us: { address: string; port: number }, procNet = '/proc/net'): number | null {
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(join(procNet, table), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 8) continue;
      const local = decodeProcAddress(cols[1]!);
      const remote = decodeProcAddress(cols[2]!);
      if (!local || !remote) continue;
      if (local.port === peer.port && remote.port === us.port && local.address === plainAddress(peer.address) && remote.address === plainAddress(us.address)) {
        const uid = Number(cols[7]);
        return Number.isInteger(uid) ? uid : null;
      }
    }
  }
  return null;
}

/** Whether this system tells socket owners (Linux /proc/net/tcp). */
export function kernelTellsPeers(procNet = '/proc/net'): boolean {
  return existsSync(join(procNet, 'tcp'));
}

/**
 * Makes `dir` and everything under it the owner's alone: `dir` itself 0700
 * (nobody else enters), and no group or other bits on anything below (the
 * owner's own bits stay as they were). Symbolic links are left alone (their
 * targets are not ours to change).
 */
export function restrictToOwner(dir: string): void {
  const walk = (path: string) => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = path === dir ? 0o700 : st.mode & 0o700;
    try {
      if ((st.mode & 0o777) !== mode) chmodSync(path, mode);
    } catch (error) {
      // Below the top, best effort (a file another account owns is not ours to change); the top must close.
      if (path === dir) throw error;
    }
    if (!st.isDirectory()) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const entry of entries) walk(join(path, entry));
  };
  walk(dir);
}

/** Reads the run's access file (the token clawctl sends to the local target). null when absent or unreadable. */
export function readAccessFile(path: string): AccessFile | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<AccessFile>;
    return typeof value.url === 'string' && typeof value.token === 'string' && typeof value.loginUrl === 'string' ? (value as AccessFile) : null;
  } catch {
    return null;
  }
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

function wantsPage(req: IncomingMessage): boolean {
  return !req.headers.upgrade && (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
}

function refusal(req: IncomingMessage, status: number, message: string): { status: number; headers: Record<string, string>; body: string } {
  if (wantsPage(req)) {
    const body = `<!doctype html><meta charset="utf-8"><title>Not signed in</title><style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}</style><h1>Not signed in</h1><p>${message}</p>`;
    return { status, headers: PAGE_HEADERS, body };
  }
  const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : 'forbidden', message } });
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }, body };
}

/**
 * The answer while the local Worker does not answer. Refused connections:
 * wrangler is still starting (the gate listens first) or restarting after a
 * change: 503 + Retry-After, and for a browser a page that tries again by
 * itself. Anything else: 502, saying what failed.
 */
function unreachable(req: IncomingMessage, error: NodeJS.ErrnoException): { status: number; headers: Record<string, string>; body: string } {
  const starting = error.code === 'ECONNREFUSED';
  const message = starting
    ? 'the local Worker (wrangler dev) is not answering yet: it is starting, or restarting after a change; retry in a moment'
    : `the local Worker (wrangler dev) does not answer: ${error.code ?? error.message}`;
  if (starting && wantsPage(req)) {
    const body = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Starting</title><style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}</style><h1>Starting</h1><p>${message}. This page tries again every 2 seconds.</p>`;
    return { status: 503, headers: { ...PAGE_HEADERS, 'retry-after': '2' }, body };
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (starting) headers['retry-after'] = '2';
  return { status: starting ? 503 : 502, headers, body: JSON.stringify({ error: { code: starting ? 'starting' : 'runtime_unreachable', message } }) };
}

const NOT_OWNER =
  "this is another account's assistant (local mode): open the login link `npm start` printed (also in access.json in its state directory, readable by its owner only), or send its access token as Authorization: Bearer";

export async function startOwnerGate(options: OwnerGateOptions): Promise<OwnerGate> {
  if (options.ownerSecret.length < 32) throw new Error('the owner gate needs an owner secret of at least 32 characters');
  const ownerUid = process.getuid?.() ?? null;
  const byAccount = options.mode === 'account' && ownerUid !== null && kernelTellsPeers(options.procNet);
  const token = secret();
  let loginToken = secret();
  const sessions: string[] = [];
  let listening = 0;
  let cookieName = 'ondemand_local';
  const loginUrl = () => `http://127.0.0.1:${listening}${LOGIN_PATH}?token=${loginToken}`;
  const writeAccessFile = () => {
    const tmp = `${options.accessFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ url: `http://127.0.0.1:${listening}`, token, loginUrl: loginUrl() } satisfies AccessFile, null, 2)}\n`, {
      mode: 0o600,
    });
    chmodSync(tmp, 0o600);
    renameSync(tmp, options.accessFile);
  };

  /** Who opened each connection: decided once, when it is accepted. */
  const ownerSockets = new WeakSet<Socket>();
  const noteConnection = (socket: Socket) => {
    if (!byAccount || !socket.remoteAddress || !socket.remotePort || !socket.localAddress || !socket.localPort) return;
    const uid = peerUid({ address: socket.remoteAddress, port: socket.remotePort }, { address: socket.localAddress, port: socket.localPort }, options.procNet);
    if (uid !== null && uid === ownerUid) ownerSockets.add(socket);
  };

  const cookieSession = (req: IncomingMessage): string | null => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === cookieName) return part.slice(eq + 1).trim();
    }
    return null;
  };
  const hasSession = (value: string | null) => {
    if (!value) return false;
    let found = false;
    for (const s of sessions) found = sameSecret(value, s) || found;
    return found;
  };
  const bearer = (req: IncomingMessage) => /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
  const isOwner = (req: IncomingMessage) => ownerSockets.has(req.socket as Socket) || hasSession(cookieSession(req)) || sameSecret(bearer(req) ?? '', token);

  /** The request's headers as the Worker gets them: the owner secret set, the gate's own credentials gone. */
  const upstreamHeaders = (req: IncomingMessage): Record<string, string | string[]> => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === LOCAL_OWNER_HEADER) continue;
      if (name === 'authorization' && sameSecret(bearer(req) ?? '', token)) continue;
      if (name === 'cookie') {
        const kept = String(value)
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c && !c.startsWith(`${cookieName}=`));
        if (kept.length) headers.cookie = kept.join('; ');
        continue;
      }
      headers[name] = value;
    }
    headers[LOCAL_OWNER_HEADER] = options.ownerSecret;
    return headers;
  };

  const login = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const given = url.searchParams.get('token') ?? '';
    const host = req.headers.host ?? '';
    if (req.method !== 'GET' || (host !== `127.0.0.1:${listening}` && host !== `localhost:${listening}`) || !sameSecret(given, loginToken)) {
      const r = refusal(
        req,
        401,
        'this login link is not valid, or was used already: `npm start` printed a fresh one (and wrote it to access.json in its state directory)',
      );
      res.writeHead(r.status, r.headers);
      return res.end(r.body);
    }
    const session = secret();
    sessions.push(session);
    if (sessions.length > MAX_SESSIONS) sessions.shift();
    loginToken = secret();
    writeAccessFile();
    options.onLogin?.(loginUrl());
    res.writeHead(303, {
      location: '/',
      'set-cookie': `${cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
  };

  const upstreamAgent = new Agent({ keepAlive: true });
  const server: Server = createServer({ requestTimeout: 0 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate');
    if (url.pathname === LOGIN_PATH) return login(req, res, url);
    if (!isOwner(req)) {
      const r = refusal(req, 401, NOT_OWNER);
      res.writeHead(r.status, r.headers);
      return res.end(r.body);
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: options.upstreamPort, method: req.method, path: req.url, headers: upstreamHeaders(req), agent: upstreamAgent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) return res.destroy();
      const r = unreachable(req, error as NodeJS.ErrnoException);
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.on('connection', noteConnection);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!isOwner(req)) {
      const r = refusal(req, 401, NOT_OWNER);
      socket.end(
        `HTTP/1.1 ${r.status} Unauthorized\r\ncontent-type: ${r.headers['content-type']}\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`,
      );
      return;
    }
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: options.upstreamPort,
      method: req.method,
      path: req.url,
      headers: upstreamHeaders(req),
      agent: false,
    });
    upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
      const lines = [`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstreamSocket.write(head);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('close', () => upstreamSocket.destroy());
      upstreamSocket.on('close', () => socket.destroy());
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
    });
    upstream.on('response', (answer) => {
      // Not upgraded (a refusal, a progress answer): pass it on as it is and close.
      const lines = [`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage ?? ''}`];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        const name = answer.rawHeaders[i]!.toLowerCase();
        if (name !== 'connection' && name !== 'transfer-encoding' && name !== 'keep-alive') lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        socket.end(
          Buffer.concat([
            Buffer.from(`${lines.filter((l) => !/^content-length:/i.test(l)).join('\r\n')}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`),
            body,
          ]),
        );
      });
    });
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    upstream.end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  listening = typeof address === 'object' && address ? address.port : options.port;
  // Cookies do not tell ports apart: one name per port, so two runs on one machine keep theirs.
  cookieName = `ondemand_local_${listening}`;
  writeAccessFile();
  return {
    url: `http://127.0.0.1:${listening}`,
    port: listening,
    byAccount,
    token,
    loginUrl,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      upstreamAgent.destroy();
    },
  };
}
