/**
 * The local dev host: the container's stand-in on this machine. It runs each
 * assistant's start script through an AgentSupervisor and answers the small
 * control API that src/runtime/local-runtime.ts speaks, on loopback only:
 *
 *   GET  /agents/:id          → { probe, port }
 *   POST /agents/:id/start    { attempt, env } → { probe, port }
 *   POST /agents/:id/stop     → { probe, port } once the process exited
 *   POST /agents/:id/backup   (If-None-Match: fingerprint) → 304, or 200 with the
 *                             archive (tar.gz) and X-Backup-Fingerprint/-Sha256/-Files;
 *                             ?newerThan=<ms>: 204 unless the home holds something
 *                             modified after that time (what a boot must not wipe)
 *   GET  /agents/:id/stamp    → { stamp }: a cheap stamp of the home, to notice changes
 *   POST /agents/:id/prepare  (body: archive or empty, X-Backup-Sha256) → replaces the
 *                             home with the archive (or empties it), only while stopped
 *   GET  /healthz             → { ok: true }
 *
 * The home is wiped at every prepare, as a container's disk is new at every start:
 * what survives a sleep is what the backups hold.
 *
 * Only the Worker may use it: every route but /healthz needs the per-run
 * bearer token (src/contract/local-host.ts), the Host header must name this
 * listener (no DNS rebinding), JSON bodies must say so (no cross-site
 * text/plain form posts), and a start takes only the environment names the
 * Worker sends (RUNTIME_ENV_NAMES) — never GATEWAY_COMMAND, NODE_OPTIONS,
 * PATH or LD_*, which would run code as the user.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentSupervisor } from './agent-supervisor.ts';
import { CodedError } from '../../src/contract/error-codes.ts';
import { proxyHeaderName, sameSecret } from '../../src/contract/local-host.ts';
import { RUNTIME_ENV_NAMES } from '../../src/runtime/container-env.ts';
import { archiveWorkDir, createArchive, homeStamp, homeSummary, restoreArchive, RestoreError } from './state-archive.ts';
import { createReadStream, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { open } from 'node:fs/promises';
import { MAX_LOGIN_LOG_BYTES, MODEL_LOGIN_LOG_NAME } from '../../src/contract/model-login.ts';
import { rm } from 'node:fs/promises';

export interface LocalHostOptions {
  /** Port to listen on (127.0.0.1); 0 picks a free one. */
  port: number;
  /** Root of the per-agent state directories. */
  stateRoot: string;
  /** Command the start script runs as the gateway; empty runs the real `openclaw gateway run`. */
  gatewayCommand: string;
  /** The per-run secret the Worker presents (bearer token; the gateway's proxy header is derived from it). */
  token: string;
  extraEnv?: Record<string, string>;
  stopGraceMs?: number;
  log?: (line: string) => void;
}

export interface LocalHost {
  url: string;
  port: number;
  supervisors: Map<string, AgentSupervisor>;
  close(): Promise<void>;
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url).href));
export const START_SCRIPT = join(ROOT, 'container', 'start.sh');
const MODEL_LOGIN_SCRIPT = join(ROOT, 'container', 'model-login.sh');
export const ECHO_GATEWAY_COMMAND = `node ${join(ROOT, 'container', 'echo-gateway.mjs')}`;
const MAX_BODY_BYTES = 1024 * 1024;

class HostError extends CodedError<string> {
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message, 'HostError');
    this.status = status;
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HostError(415, 'unsupported_media_type', 'the body must be application/json');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw Object.assign(new Error('body must be an object'), { status: 400 });
  return value as Record<string, unknown>;
}

/** The environment a start may set: the names the Worker sends, as strings. @throws HostError 400 naming any other. */
function runtimeEnv(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new HostError(400, 'bad_request', '"env" must be an object');
  const refused = Object.keys(value).filter((k) => !RUNTIME_ENV_NAMES.includes(k));
  if (refused.length) throw new HostError(400, 'bad_request', `environment names not accepted: ${refused.join(', ')}`);
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The model sign-in (container/model-login.sh, as in the container): POST
 * {action: start|cancel} runs the script beside the agent's boot status;
 * GET answers the end of its log (204 when none was started).
 */
async function modelLogin(statusFile: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const log = join(dirname(statusFile), MODEL_LOGIN_LOG_NAME);
  if (req.method === 'GET') {
    if (!existsSync(log)) {
      res.writeHead(204);
      return void res.end();
    }
    const file = await open(log, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, MAX_LOGIN_LOG_BYTES);
      const { buffer } = await file.read(Buffer.alloc(length), 0, length, size - length);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(buffer);
    } finally {
      await file.close();
    }
  }
  const body = req.method === 'POST' ? await readJson(req) : {};
  if (req.method !== 'POST' || (body.action !== 'start' && body.action !== 'cancel'))
    throw new HostError(400, 'bad_request', 'POST {"action":"start"|"cancel"}, or GET');
  const result = await new Promise<{ code: number; out: string }>((done) => {
    execFile(
      'sh',
      [MODEL_LOGIN_SCRIPT, body.action as string],
      { env: { ...process.env, BOOT_STATUS_FILE: statusFile }, timeout: 10_000 },
      (error, stdout, stderr) => {
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}`.slice(0, 300) });
      },
    );
  });
  if (result.code !== 0) throw new HostError(409, 'conflict', result.out.trim() || 'the sign-in could not start');
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(result.out);
}

/** What a route of the local host is handed: the agent it names, the request, and how to answer. */
interface RouteContext {
  id: string;
  agent: AgentSupervisor;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  send: (status: number, body: unknown) => void;
  log: (line: string) => void;
}
type Route = (c: RouteContext) => Promise<void> | void;

/**
 * POST /agents/:id/backup: the home as a gzip archive (304 when it did not
 * change since the `If-None-Match` fingerprint; 204 when nothing in it is
 * newer than `newerThan`), streamed from a work directory removed after.
 */
async function backupRoute({ id, agent, req, res, url, log }: RouteContext): Promise<void> {
  const previous = req.headers['if-none-match']?.replace(/"/g, '') || null;
  const newerThan = url.searchParams.get('newerThan');
  if (newerThan !== null) {
    const summary = await homeSummary(agent.home);
    if (summary.files === 0 || summary.modifiedAt <= Number(newerThan)) {
      res.writeHead(204);
      return void res.end();
    }
  }
  const work = await archiveWorkDir();
  try {
    const archive = await createArchive(agent.home, work, previous);
    if (!archive) {
      log(`[${id}] backup: unchanged`);
      res.writeHead(304, { etag: `"${previous}"` });
      return void res.end();
    }
    log(`[${id}] backup: ${archive.files} files, ${archive.size} bytes, fingerprint ${archive.fingerprint.slice(0, 12)}`);
    res.writeHead(200, {
      'content-type': 'application/gzip',
      'content-length': String(archive.size),
      'x-backup-fingerprint': archive.fingerprint,
      'x-backup-sha256': archive.sha256,
      'x-backup-files': String(archive.files),
    });
    await new Promise<void>((done, fail) =>
      createReadStream(archive.path)
        .on('error', fail)
        .on('end', () => done())
        .pipe(res),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** POST /agents/:id/prepare: the home restored from the archive in the body (checked against `X-Backup-SHA256`), or a fresh one. */
async function prepareRoute({ id, agent, req, send, log }: RouteContext): Promise<void> {
  if (agent.running) return send(409, { error: { code: 'conflict', message: 'the runtime is running; stop it before restoring' } });
  const expected = req.headers['x-backup-sha256'];
  const hasArchive = typeof expected === 'string' && expected !== '';
  if (hasArchive && req.headers['content-type'] !== 'application/gzip')
    throw new HostError(415, 'unsupported_media_type', 'an archive must be application/gzip');
  try {
    const result = await restoreArchive(agent.home, hasArchive ? req : null, hasArchive ? expected : null);
    log(`[${id}] ${hasArchive ? `restored ${result.files} files from a backup` : 'fresh home (no backup)'}`);
    return send(200, { restored: hasArchive, files: result.files });
  } catch (error) {
    if (error instanceof RestoreError) return send(422, { error: { code: error.code, message: error.message } });
    throw error;
  }
}

/** The local host's routes under /agents/:id, by method and action (the Worker's LocalRuntime calls them). */
const ROUTES: Record<string, Route> = {
  'GET ': async ({ agent, send }) => send(200, await agent.report()),
  'GET stamp': async ({ agent, send }) => send(200, { stamp: await homeStamp(agent.home) }),
  'GET login': ({ agent, req, res }) => modelLogin(agent.statusFile, req, res),
  'POST login': ({ agent, req, res }) => modelLogin(agent.statusFile, req, res),
  'POST backup': backupRoute,
  'POST prepare': prepareRoute,
  'POST start': async ({ agent, req, send }) => {
    const body = await readJson(req);
    send(200, await agent.start(typeof body.attempt === 'number' ? body.attempt : 1, runtimeEnv(body.env)));
  },
  'POST stop': async ({ agent, req, send }) => {
    await readJson(req);
    send(200, await agent.stop());
  },
};
const ROUTE_LIST = `routes: ${Object.keys(ROUTES)
  .map((key) => key.replace(/^(\w+) (.*)$/, (_m, method: string, action: string) => `${method} /agents/:id${action ? `/${action}` : ''}`))
  .join(', ')}`;

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(`[host] ${line}`));
  if (options.token.length < 32) throw new Error('the local host needs a per-run token of at least 32 characters');
  // The local gateway trusts only requests that carry the Worker's header (derived from the token).
  const extraEnv = { ...options.extraEnv, GATEWAY_PROXY_HEADER: await proxyHeaderName(options.token) };
  let listening = 0;
  const supervisors = new Map<string, AgentSupervisor>();
  const supervisor = (id: string) => {
    let s = supervisors.get(id);
    if (!s) {
      s = new AgentSupervisor({
        agentId: id,
        dir: join(options.stateRoot, 'agents', id),
        startScript: START_SCRIPT,
        gatewayCommand: options.gatewayCommand,
        extraEnv,
        stopGraceMs: options.stopGraceMs ?? 10_000,
        binDir: join(ROOT, 'node_modules', '.bin'),
        log,
      });
      supervisors.set(id, s);
    }
    return s;
  };

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${listening}` && host !== `localhost:${listening}`)
        throw new HostError(421, 'misdirected', `this host serves 127.0.0.1:${listening} only`);
      const url = new URL(req.url ?? '/', 'http://host');
      if (url.pathname === '/healthz') return send(200, { ok: true });
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!sameSecret(bearer, options.token)) throw new HostError(401, 'unauthorized', 'the local host answers the Worker only (per-run token)');
      const match = /^\/agents\/([a-z0-9][a-z0-9-]{0,62})(?:\/([a-z]+))?$/.exec(url.pathname);
      if (!match) return send(404, { error: { code: 'not_found', message: 'unknown path' } });
      const [, id = '', action = ''] = match;
      const route = ROUTES[`${req.method} ${action}`];
      if (route) return await route({ id, agent: supervisor(id), req, res, url, send, log });
      if (Object.keys(ROUTES).some((key) => key.endsWith(` ${action}`))) {
        return send(405, { error: { code: 'method_not_allowed', message: `${req.method} is not served here; ${ROUTE_LIST}` } });
      }
      return send(404, { error: { code: 'not_found', message: `unknown path; ${ROUTE_LIST}` } });
    } catch (error) {
      if (error instanceof HostError) return send(error.status, { error: { code: error.code, message: error.message } });
      const status = (error as { status?: number }).status ?? (error instanceof SyntaxError ? 400 : 500);
      send(status, { error: { code: status === 500 ? 'internal' : 'bad_request', message: (error as Error).message } });
    }
  });

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolvePromise());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  listening = port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    supervisors,
    async close() {
      await Promise.all([...supervisors.values()].map((s) => s.close()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
