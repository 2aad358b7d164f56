/**
 * Starts the README's run command (`scripts/local.mjs`, what `npm start`
 * runs) on free loopback ports with its own state directory, and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../container/host/agent-supervisor.ts';
import { ROOT } from './root.mjs';

export { freePort, ROOT };

export interface LocalStack {
  url: string;
  /** The local dev host's control URL (it answers the Worker only: see localHostToken). */
  hostUrl: string;
  stateDir: string;
  output: () => string;
  stop: () => Promise<number | null>;
  /** SIGKILL to npm start and everything it started (a crash, a killed terminal); the state directory stays. */
  kill: () => Promise<void>;
  /** Ctrl-C (SIGINT) to npm start, as an operator stops it; resolves with its exit code; the state directory stays. */
  interrupt: () => Promise<number | null>;
  process: ChildProcess;
}

/** Every descendant of `pid` (from /proc), deepest last. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export async function startLocalStack(env: Record<string, string> = {}, readyTimeoutMs = 90_000, options: { stateDir?: string } = {}): Promise<LocalStack> {
  const port = await freePort();
  const hostPort = await freePort();
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'openclaw-ondemand-e2e-'));
  let output = '';
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'local.mjs')], {
    cwd: ROOT,
    // Tests and benchmarks wake far more often than a person: lift the wake rate limit unless a test sets it.
    env: { ...process.env, PORT: String(port), LOCAL_HOST_PORT: String(hostPort), LOCAL_STATE_DIR: stateDir, WAKE_LIMIT_PER_MINUTE: '1000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`local stack exited early (${child.exitCode}):\n${output}`);
    try {
      // The run's token too: with LOCAL_AUTH=token the owner's own processes need it.
      const access = readAccess(stateDir);
      const r = await fetch(`${url}/api/status`, { headers: access ? { authorization: `Bearer ${access.token}` } : {}, signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`local stack did not answer within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    hostUrl: `http://127.0.0.1:${hostPort}`,
    stateDir,
    output: () => output,
    process: child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      // A process of the stack that outlived it (a gateway still shutting down) may write a last file meanwhile: retry.
      rmSync(stateDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      return code;
    },
    interrupt: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      for (const pid of [child.pid as number, ...descendants(child.pid as number)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await exited;
    },
  };
}

/** A Worker API command, as the API wants it: POST with a JSON body (`{}` when there is nothing to say). */
export function post(url: string, body: Record<string, unknown> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/**
 * Keeps the assistant awake for `ms` as a person using it would: a request
 * through to the gateway every 300 ms (any answer counts as activity).
 */
export async function keepAwake(stack: LocalStack, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await fetch(`${stack.url}/keep-awake`)
      .then((r) => r.body?.cancel())
      .catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The run's secret that `npm start` gave the Worker and the local host (from its env file, readable by this user only). */
export function localHostToken(stack: LocalStack): string {
  const line = readFileSync(join(stack.stateDir, 'worker.env'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('LOCAL_HOST_TOKEN='));
  if (!line) throw new Error("no LOCAL_HOST_TOKEN in the run's env file");
  return line.slice('LOCAL_HOST_TOKEN='.length);
}

/** The run's access file (`<state dir>/access.json`, 0600): the access token and the current one-time login link. */
export function readAccess(stateDir: string): { url: string; token: string; loginUrl: string } | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'access.json'), 'utf8')) as { url: string; token: string; loginUrl: string };
  } catch {
    return null;
  }
}

/** The TCP ports the stack's processes listen on (from /proc: their sockets' inodes in /proc/net/tcp and tcp6). */
export function listeningPorts(stack: LocalStack): Array<{ port: number; pid: number; command: string }> {
  const inodes = new Map<string, number>();
  for (const pid of [stack.process.pid as number, ...descendants(stack.process.pid as number)]) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
          if (inode) inodes.set(inode, pid);
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone
    }
  }
  const ports: Array<{ port: number; pid: number; command: string }> = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const pid = inodes.get(cols[9] as string);
      if (pid === undefined) continue;
      let command = '';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // gone
      }
      ports.push({ port: parseInt((cols[1] as string).split(':')[1] as string, 16), pid, command });
    }
  }
  return ports;
}

/** The live processes of a local runtime (its start script, the gateway and what they started), found by their OPENCLAW_HOME. */
export function runtimePids(home: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes(`OPENCLAW_HOME=${home}\0`) && processAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // not ours, or gone
    }
  }
  return out;
}

/**
 * A crash of the local runtime under `home`: SIGKILL to each of its processes. A process that ended between the
 * listing and its signal (a short-lived child, or one reaped once the gateway died) is passed over.
 * @returns how many were killed.
 */
export function killRuntime(home: string): number {
  let killed = 0;
  for (const pid of runtimePids(home)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  return killed;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it returns a value that is not undefined. */
export async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
