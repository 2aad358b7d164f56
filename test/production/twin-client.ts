/**
 * What the production-twin tests do to the twin: its HTTP API (as an
 * operator or clawctl would) and, for what only the platform can do, its
 * Docker containers (a kill from outside, a look at the container's files).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, inject } from 'vitest';
import { registerStandIn, unregisterStandIn, type StandInPlaces } from './twin/internet-front.ts';
import { bridgeGateway } from './twin/twin-shell.ts';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { chatTurn, readStatus, settledIn } from '../support/stack-client.ts';

export const twinUrl = () => inject('twinUrl');

export function status(): Promise<AgentStatus> {
  return readStatus(twinUrl());
}

export async function command(name: string, body?: Record<string, unknown>): Promise<Response> {
  return fetch(`${twinUrl()}/api/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
}

/** The parts of a status that say where a wait got stuck. */
function stuckAt(s: AgentStatus | undefined): string {
  if (!s) return 'no status answered';
  const { state, phase, lastError, lastBoot } = s;
  const { lastBackup, lastRestore } = s.backups;
  return JSON.stringify({ state, phase, lastError, lastBoot, lastBackup, lastRestore });
}

/**
 * Polls the status until `check` holds (through failed boots the machine
 * retries); a timeout says where the status stood, its last error included.
 */
export async function waitFor(check: (s: AgentStatus) => boolean, what: string, timeoutMs = 180_000): Promise<AgentStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: AgentStatus | undefined;
  for (;;) {
    last = (await status().catch(() => undefined)) ?? last;
    if (last && check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the status stood at ${stuckAt(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const settled = settledIn;

export async function wake(): Promise<AgentStatus> {
  const r = await command('wake');
  expect([202]).toContain(r.status);
  return waitFor(settled('ready'), 'ready');
}

/** Brings the assistant up from whatever state an earlier test left (a hibernation is resumed). */
export async function ensureAwake(): Promise<AgentStatus> {
  const s = await status();
  if (s.state === 'ready' || s.state === 'idle') return s;
  if (s.state === 'hibernated') expect((await command('resume', { override: true })).status).toBe(200);
  return wake();
}

export async function sleep(): Promise<AgentStatus> {
  const r = await command('sleep');
  expect(r.status).toBe(202);
  return waitFor(settled('sleeping'), 'sleeping');
}

export function chat(content: string, user = 'twin'): Promise<string> {
  return chatTurn(twinUrl(), content, user);
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The running app container of the twin's Agent (not its networking sidecar). */
export function appContainer(): string {
  const names = docker('ps', '--format', '{{.Names}}')
    .split('\n')
    .filter((n) => /-Agent-[0-9a-f]+$/.test(n));
  if (names.length !== 1) throw new Error(`expected one running Agent container, found: ${names.join(', ') || 'none'}`);
  return names[0] as string;
}

/** Runs a shell command inside the running app container. */
/**
 * A shell prefix that gives a command the gateway's trust settings (what the
 * control server gave the gateway at its start) and the named variables of
 * its environment (e.g. GITHUB_TOKEN, as the agent's shell has it).
 */
export function asGateway(...names: string[]): string {
  const wanted = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', ...names].join('|');
  return `env $(tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | grep -E "^(${wanted})=" | tr "\\n" " ")`;
}

export function inContainer(script: string): string {
  return docker('exec', appContainer(), 'sh', '-c', script);
}

/**
 * Runs a shell command inside the running app container without blocking
 * this process: what a command reaches here (a `standIn`'s handler) can
 * answer meanwhile. Rejects, with its output, when it exits non-zero.
 */
export function inContainerAsync(script: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', ['exec', appContainer(), 'sh', '-c', script], { encoding: 'utf8', timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${script}: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface StandInRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as sent (a compressed one too). */
  raw: Buffer;
}

export interface StandIn {
  /** Every request the stand-in received, oldest first (the body read whole). */
  requests: StandInRequest[];
  close(): Promise<void>;
}

/**
 * Stands in for `hostname` on the twin's internet: from now on the
 * container's requests to it (HTTP on port 80, HTTPS on 443, TLS terminated
 * by the sidecar with the CA the container trusts; when no outbound handler
 * of the Worker intercepts the name and the container has internet) and the
 * Worker's own HTTPS requests to it (through the twin's internet front) are
 * answered by `handler`, a plain-HTTP server on the Docker bridge — the
 * recorded provider, sign-in or chat API behind its real hostname.
 * The handler runs in this process: reach it with `inContainerAsync` or
 * through the twin's API, never with a call that blocks the process.
 */
export async function standIn(hostname: string, handler: (req: StandInRequest, res: ServerResponse) => void): Promise<StandIn> {
  const requests: StandInRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw.toString('utf8'), raw };
      requests.push(seen);
      handler(seen, res);
    });
  });
  const address = bridgeGateway();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const places = JSON.parse(inject('twinStandIns')) as StandInPlaces;
  registerStandIn(places, hostname, `${address}:${(server.address() as AddressInfo).port}`);
  return {
    requests,
    close: () => {
      unregisterStandIn(places, hostname);
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
