/**
 * A recorded stand-in of OpenAI's ChatGPT/Codex sign-in and model endpoints,
 * at their real hostnames. `codexEndpoints` is the stand-in itself (the
 * production twin serves it behind its `standIn`s); `startCodexStandIn`
 * puts it in front of the local mode: an HTTP CONNECT proxy (what
 * the gateway's HTTPS_PROXY names) that opens a tunnel to `auth.openai.com`
 * and `chatgpt.com` only, where one HTTPS server answers with certificates
 * for those names signed by a CA made for the run (NODE_EXTRA_CA_CERTS).
 *
 * The endpoints and their shapes are those OpenClaw 2026.9.6 calls
 * (extensions/openai/openai-chatgpt-device-code.js, the refresh in
 * openai-chatgpt-oauth-token.runtime, @openclaw/ai's ChatGPT responses
 * transport):
 *   POST auth.openai.com/api/accounts/deviceauth/usercode  → device_auth_id, user_code, interval
 *   POST auth.openai.com/api/accounts/deviceauth/token     → 403 until approved, then authorization_code + code_verifier
 *   POST auth.openai.com/oauth/token  authorization_code    → access (a JWT with the account id and email), refresh, expires_in
 *   POST auth.openai.com/oauth/token  refresh_token         → a new access and a new refresh token; the old refresh token is revoked
 *   POST chatgpt.com/backend-api/codex/responses            → a Responses SSE stream, for an access token this stand-in
 *                                                             minted that has not expired (a refresh does not revoke the
 *                                                             one before it: it is a signed JWT, good until its `exp`)
 * Everything else is refused, and every request is recorded.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { zstdDecompressSync, gunzipSync } from 'node:zlib';
import { jwtVerify, SignJWT } from 'jose';
import { leafCertificate } from '../production/twin/internet-front.ts';

export const STOOD_IN_HOSTS = ['auth.openai.com', 'chatgpt.com'] as const;

export interface CodexRequest {
  host: string;
  method: string;
  path: string;
  /** The bearer token sent, if any. */
  bearer: string | null;
  status: number;
  at: number;
  /** What a token request asked and got (`refresh of #3 → #4`), for a failure's message. */
  note?: string;
  /** The client closed the connection before the whole answer was sent (it gave up waiting). */
  abandoned?: boolean;
}

export interface CodexStandIn {
  /** The environment the gateway (and its CLI) needs to reach the stand-in: HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS. */
  env: Record<string, string>;
  requests: CodexRequest[];
  /** The user codes handed out, newest last. */
  userCodes: string[];
  /** The operator entered this code on the sign-in page. */
  approve(userCode: string): void;
  /** The access token the model endpoint accepts now, and the refresh token that mints the next. */
  current(): { access: string | null; refresh: string | null; refreshes: number; mintedAt: number; expiresAt: number };
  /** Access tokens minted from now on expire this many seconds after minting (OpenClaw refreshes 5 min before). */
  setAccessLifetime(seconds: number): void;
  /** Revokes every token (the operator signed out elsewhere): refreshes fail with invalid_grant, turns with 401. */
  revokeAll(): void;
  /**
   * A slow token endpoint: a refresh's answer is sent this long after the new tokens were minted (and the
   * presented refresh token revoked, as single-use tokens are). 0: at once.
   */
  delayRefreshes(ms: number): void;
  /** The user texts of the model turns answered. */
  turns: string[];
  close(): Promise<void>;
}

const ACCOUNT_ID = 'acct-standin-0001';
const EMAIL = 'operator@example.com';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body as its content-encoding says (OpenClaw compresses its model requests with zstd). */
function decoded(raw: Buffer, encoding: string | string[] | undefined): Buffer {
  if (encoding === 'zstd') return zstdDecompressSync(raw);
  if (encoding === 'gzip') return gunzipSync(raw);
  return raw;
}

/** The newest user text of a Responses request's input (OpenClaw's own context blocks, also sent as user items, skipped). */
function lastUserText(body: { input?: unknown }): string {
  const items = Array.isArray(body.input) ? body.input : [];
  for (const item of [...items].reverse()) {
    if (!item || typeof item !== 'object' || (item as { role?: unknown }).role !== 'user') continue;
    const content = (item as { content?: unknown }).content;
    if (typeof content === 'string' && !content.startsWith('<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT')) return content;
    if (Array.isArray(content)) {
      const text = content
        .map((c) => (c && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string' ? (c as { text: string }).text : ''))
        .join('');
      if (text && !text.startsWith('<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT')) return text;
    }
  }
  return '';
}

/** The stand-in's endpoints and what they recorded, without a server: the local proxy's HTTPS server and the twin's stand-ins answer through it. */
export type CodexEndpoints = Omit<CodexStandIn, 'env' | 'close'> & {
  /** Answers one request for `host` (the body as sent; a zstd or gzip one is decoded) and records it. */
  answer(
    host: string,
    req: { method?: string | undefined; url?: string | undefined; headers: IncomingMessage['headers'] },
    raw: Buffer,
    res: ServerResponse,
  ): Promise<void>;
};

export function codexEndpoints(log: (line: string) => void = () => {}): CodexEndpoints {
  const jwtKey = new TextEncoder().encode('codex-standin-signing-key-not-a-secret');

  const requests: CodexRequest[] = [];
  const userCodes: string[] = [];
  const turns: string[] = [];
  const devices = new Map<string, { userCode: string; approved: boolean; exchanged: boolean }>();
  const codes = new Map<string, { verifier: string }>();
  let access: string | null = null;
  let refresh: string | null = null;
  let refreshes = 0;
  let serial = 0;
  let accessLifetime = 3600;
  let mintedAt = 0;
  let expiresAt = 0;
  /** Tokens minted up to this serial are revoked (the operator signed out elsewhere). */
  let revokedThrough = 0;
  let refreshDelayMs = 0;
  /** `#N` for a refresh token this stand-in minted (its serial), without the secret part. */
  const refreshSerial = (token: string | null): string => (token === null ? 'none' : `#${/^rt-standin-(\d+)-/.exec(token)?.[1] ?? '?'}`);

  /** An access token this stand-in signed, unexpired and not revoked. */
  async function accessValid(bearer: string | null): Promise<boolean> {
    if (bearer === null) return false;
    const verified = await jwtVerify(bearer, jwtKey).catch(() => null);
    const tokenSerial = verified?.payload['serial'];
    return typeof tokenSerial === 'number' && tokenSerial > revokedThrough;
  }

  async function mint(): Promise<Record<string, unknown>> {
    serial += 1;
    mintedAt = Date.now();
    expiresAt = mintedAt + accessLifetime * 1000;
    const now = Math.floor(mintedAt / 1000);
    access = await new SignJWT({
      'https://api.openai.com/auth': { chatgpt_account_id: ACCOUNT_ID, chatgpt_plan_type: 'plus' },
      'https://api.openai.com/profile': { email: EMAIL },
      serial,
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-standin')
      .setIssuedAt(now)
      .setExpirationTime(now + accessLifetime)
      .sign(jwtKey);
    refresh = `rt-standin-${serial}-${Math.random().toString(36).slice(2, 10)}`;
    const idToken = await new SignJWT({ email: EMAIL, 'https://api.openai.com/auth': { chatgpt_account_id: ACCOUNT_ID } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-standin')
      .setIssuedAt(now)
      .setExpirationTime(now + accessLifetime)
      .sign(jwtKey);
    return { access_token: access, refresh_token: refresh, id_token: idToken, expires_in: accessLifetime, token_type: 'Bearer' };
  }

  async function handle(
    req: { method?: string | undefined; url?: string | undefined; headers: IncomingMessage['headers'] },
    raw: Buffer,
    res: ServerResponse,
    host: string,
    noted: (note: string) => void,
  ): Promise<number> {
    const url = new URL(req.url ?? '/', `https://${host}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return status;
    };
    const body = decoded(raw, req.headers['content-encoding']);
    if (host === 'auth.openai.com' && req.method === 'POST') {
      if (url.pathname === '/api/accounts/deviceauth/usercode') {
        const id = `dev-${devices.size + 1}`;
        const userCode = `ST${String(1000 + devices.size).slice(-4)}-${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
        devices.set(id, { userCode, approved: false, exchanged: false });
        userCodes.push(userCode);
        return json(200, { device_auth_id: id, user_code: userCode, interval: 1 });
      }
      if (url.pathname === '/api/accounts/deviceauth/token') {
        const asked = JSON.parse(body.toString('utf8') || '{}') as { device_auth_id?: string; user_code?: string };
        const device = devices.get(asked.device_auth_id ?? '');
        if (!device || device.userCode !== asked.user_code) return json(404, { error: 'unknown_device' });
        if (!device.approved || device.exchanged) return json(403, { error: 'authorization_pending' });
        device.exchanged = true;
        const code = `ac-${asked.device_auth_id}`;
        codes.set(code, { verifier: `cv-${asked.device_auth_id}` });
        return json(200, { authorization_code: code, code_verifier: `cv-${asked.device_auth_id}` });
      }
      if (url.pathname === '/oauth/token') {
        const form = new URLSearchParams(body.toString('utf8'));
        if (form.get('grant_type') === 'authorization_code') {
          const code = codes.get(form.get('code') ?? '');
          if (!code || code.verifier !== form.get('code_verifier'))
            return json(400, { error: 'invalid_grant', error_description: 'unknown authorization code' });
          codes.delete(form.get('code') ?? '');
          const minted = await mint();
          noted(`sign-in → ${refreshSerial(String(minted['refresh_token']))}`);
          return json(200, minted);
        }
        if (form.get('grant_type') === 'refresh_token') {
          const presented = form.get('refresh_token');
          if (refresh === null || presented !== refresh) {
            noted(`refresh of ${refreshSerial(presented)} refused (current ${refreshSerial(refresh)})`);
            return json(400, { error: 'invalid_grant', error_description: 'refresh token revoked or reused' });
          }
          refreshes += 1;
          const minted = await mint();
          noted(`refresh of ${refreshSerial(presented)} → ${refreshSerial(String(minted['refresh_token']))}`);
          if (refreshDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, refreshDelayMs));
          return json(200, minted);
        }
        return json(400, { error: 'unsupported_grant_type' });
      }
    }
    if (host === 'chatgpt.com' && url.pathname === '/backend-api/codex/responses' && req.method === 'POST') {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      if (!(await accessValid(bearer))) return json(401, { error: { message: 'invalid or expired token', code: 'token_invalid' } });
      if (req.headers['chatgpt-account-id'] !== ACCOUNT_ID) return json(403, { error: { message: 'wrong account' } });
      const text = lastUserText(JSON.parse(body.toString('utf8')) as { input?: unknown });
      turns.push(text);
      const answer = `codex answer: ${text.replace(/\s+/g, ' ').trim().slice(-200)}`;
      const id = `resp_${turns.length}`;
      const item = {
        type: 'message',
        id: `msg_${turns.length}`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: answer, annotations: [] }],
      };
      const events = [
        { type: 'response.created', response: { id, status: 'in_progress', output: [] } },
        { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } },
        { type: 'response.content_part.added', output_index: 0, item_id: item.id, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
        { type: 'response.output_text.delta', output_index: 0, item_id: item.id, content_index: 0, delta: answer },
        { type: 'response.output_text.done', output_index: 0, item_id: item.id, content_index: 0, text: answer },
        { type: 'response.content_part.done', output_index: 0, item_id: item.id, content_index: 0, part: item.content[0] },
        { type: 'response.output_item.done', output_index: 0, item },
        {
          type: 'response.completed',
          response: {
            id,
            status: 'completed',
            output: [item],
            usage: {
              input_tokens: 40,
              output_tokens: 8,
              total_tokens: 48,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens_details: { reasoning_tokens: 0 },
            },
          },
        },
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of events) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      res.end();
      return 200;
    }
    if (host === 'chatgpt.com' && url.pathname === '/backend-api/codex/models') {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      if (!(await accessValid(bearer))) return json(401, { error: { message: 'invalid or expired token' } });
      return json(200, { models: [{ slug: 'gpt-6-astra', display_name: 'GPT-6 Astra' }] });
    }
    return json(404, { error: 'not stood in', path: url.pathname });
  }

  return {
    requests,
    userCodes,
    turns,
    approve(userCode: string) {
      for (const device of devices.values()) if (device.userCode === userCode) device.approved = true;
    },
    current: () => ({ access, refresh, refreshes, mintedAt, expiresAt }),
    setAccessLifetime(seconds: number) {
      accessLifetime = seconds;
    },
    delayRefreshes(ms: number) {
      refreshDelayMs = ms;
    },
    revokeAll() {
      revokedThrough = serial;
      access = null;
      refresh = null;
    },
    async answer(host, req, raw, res) {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      const record: CodexRequest = { host, method: req.method ?? '', path: (req.url ?? '').split('?')[0] ?? '', bearer, status: 0, at: Date.now() };
      requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) {
          record.abandoned = true;
          log(`[codex-standin] ${record.method} ${host}${record.path}: the client closed the connection before the answer was sent`);
        }
      });
      try {
        record.status = await handle(req, raw, res, host, (note) => {
          record.note = note;
        });
        log(`[codex-standin] ${new Date().toISOString()} ${record.method} ${host}${record.path} → ${record.status}${record.note ? ` (${record.note})` : ''}`);
      } catch (error) {
        record.status = 500;
        log(`[codex-standin] ${record.method} ${host}${record.path} failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    },
  };
}

export async function startCodexStandIn(options: { log?: (line: string) => void } = {}): Promise<CodexStandIn> {
  const endpoints = codexEndpoints(options.log);
  const log = options.log ?? (() => {});
  const caDir = mkdtempSync(join(tmpdir(), 'codex-standin-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=openclaw-ondemand test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      join(caDir, 'ca.key'),
      '-out',
      join(caDir, 'ca.crt'),
    ],
    { stdio: 'ignore' },
  );
  const contexts = new Map(STOOD_IN_HOSTS.map((host) => [host, createSecureContext(leafCertificate(caDir, host, caDir))]));
  const https = createHttpsServer({ SNICallback: (name, done) => done(null, contexts.get(name as (typeof STOOD_IN_HOSTS)[number])) }, (req, res) => {
    const host = (req.socket as Socket & { servername?: string }).servername ?? String(req.headers.host ?? '').split(':')[0] ?? '';
    void readBody(req).then((raw) => endpoints.answer(host, req, raw, res));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
  const httpsPort = (https.address() as AddressInfo).port;

  // The proxy: CONNECT to a stood-in name (port 443) only; everything else is refused, so nothing reaches the internet.
  const sockets = new Set<Socket>();
  const proxy = createHttpServer((_req, res) => {
    res.writeHead(405);
    res.end('CONNECT only');
  });
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const [host, port] = (req.url ?? '').split(':');
    if (!STOOD_IN_HOSTS.includes(host as (typeof STOOD_IN_HOSTS)[number]) || port !== '443') {
      log(`[codex-standin] refused CONNECT ${req.url}`);
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(httpsPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  return {
    env: {
      HTTPS_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      NO_PROXY: '127.0.0.1,localhost,::1',
      no_proxy: '127.0.0.1,localhost,::1',
      NODE_EXTRA_CA_CERTS: join(caDir, 'ca.crt'),
    },
    requests: endpoints.requests,
    userCodes: endpoints.userCodes,
    turns: endpoints.turns,
    approve: endpoints.approve,
    current: endpoints.current,
    setAccessLifetime: endpoints.setAccessLifetime,
    revokeAll: endpoints.revokeAll,
    delayRefreshes: endpoints.delayRefreshes,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise<void>((r) => https.close(() => r())), new Promise<void>((r) => proxy.close(() => r()))]);
      rmSync(caDir, { recursive: true, force: true });
    },
  };
}
