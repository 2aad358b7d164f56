/**
 * Runs one assistant's container start script on this machine, the way the
 * container would: own process group, own state directory, the start
 * script's status file, SIGTERM then SIGKILL on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { READINESS_PATH, parseBootStatus } from '../../src/contract/boot-status.ts';
import type { LocalAgentReport } from '../../src/runtime/local-runtime.ts';
import { type EgressProxy, startEgressProxy } from './egress-proxy.ts';

export interface SupervisorOptions {
  agentId: string;
  /** Directory of this agent's state, logs and boot status. */
  dir: string;
  /** Path of the start script. */
  startScript: string;
  /** Command the start script runs as the gateway (empty: real `openclaw gateway run`). */
  gatewayCommand: string;
  /** Extra environment for every start (test hooks, PATH additions). */
  extraEnv: Record<string, string>;
  /** Grace time between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** Put first on the runtime's PATH (the project's node_modules/.bin). */
  binDir: string;
  log: (line: string) => void;
}

/** Environment of the host that the runtime may see; nothing else leaks from the host. */
const HOST_ENV_PASSTHROUGH = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_OPTIONS'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class AgentSupervisor {
  readonly #options: SupervisorOptions;
  #child: ChildProcess | null = null;
  #port: number | null = null;
  /** The gateway's Telegram listener's port, when the Worker connected a bot (TELEGRAM_LISTENER_SECRET). */
  #listenerPort: number | null = null;
  #exit: { code: number | null; signal: string | null; requested: boolean } | null = null;
  #stopRequested = false;
  #exited: Promise<void> = Promise.resolve();
  /** The runtime's last output lines, to explain an exit nobody asked for. */
  #tail: string[] = [];
  /** The egress proxy (the local mode's outbound handler), for the hosts and route the Worker named at the last start. */
  #egress: { key: string; proxy: EgressProxy } | null = null;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    mkdirSync(options.dir, { recursive: true });
  }

  /** The assistant's home: what a container's disk holds, and what backups archive. */
  get home(): string {
    return join(this.#options.dir, 'home');
  }

  get statusFile(): string {
    return join(this.#options.dir, 'boot', 'status.json');
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get running(): boolean {
    return this.#child !== null && this.#exit === null;
  }

  /** Starts the start script unless it already runs. */
  async start(attempt: number, env: Record<string, string>): Promise<LocalAgentReport> {
    if (this.running) return this.report();
    const { dir, startScript, gatewayCommand, extraEnv, log, agentId } = this.#options;
    rmSync(this.statusFile, { force: true });
    // Keep the gateway's port across restarts when it is still free: the configuration then stays unchanged.
    this.#port = this.#port !== null && (await portIsFree(this.#port)) ? this.#port : await freePort();
    const childEnv: Record<string, string> = {};
    for (const name of HOST_ENV_PASSTHROUGH) if (process.env[name]) childEnv[name] = process.env[name] as string;
    // The project's own tools (openclaw) first on PATH, as in the image.
    childEnv.PATH = [this.#options.binDir, childEnv.PATH].filter(Boolean).join(':');
    // Host settings are defaults; what the Worker sends (secrets, model keys) wins.
    Object.assign(childEnv, { GATEWAY_BIND: 'loopback', GATEWAY_TRUSTED_PROXIES: '127.0.0.1,::1' }, extraEnv, env, {
      HOME: join(dir, 'home'),
      OPENCLAW_HOME: join(dir, 'home'),
      OPENCLAW_STATE_DIR: join(dir, 'home', '.openclaw'),
      BOOT_STATUS_FILE: this.statusFile,
      BOOT_ATTEMPT: String(attempt),
      GATEWAY_PORT: String(this.#port),
    });
    if (gatewayCommand) childEnv.GATEWAY_COMMAND = gatewayCommand;
    // The Telegram listener gets a free port of its own here (the container's fixed one could be taken on this machine).
    if (childEnv.TELEGRAM_LISTENER_SECRET) {
      this.#listenerPort = this.#listenerPort !== null && (await portIsFree(this.#listenerPort)) ? this.#listenerPort : await freePort();
      childEnv.TELEGRAM_LISTENER_PORT = String(this.#listenerPort);
    } else this.#listenerPort = null;
    // The hosts the Worker holds credentials for go through its egress: the gateway and what it runs use this proxy and trust its CA.
    delete childEnv.EGRESS_URL;
    delete childEnv.EGRESS_HOSTS;
    const egress = await this.#egressProxy(env.EGRESS_URL, env.EGRESS_HOSTS);
    if (egress) Object.assign(childEnv, egress.env);
    mkdirSync(join(dir, 'home'), { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const logFile = createWriteStream(join(dir, 'logs', 'runtime.log'), { flags: 'a' });
    const child = spawn('sh', [startScript], { env: childEnv, cwd: join(dir, 'home'), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exit = null;
    this.#tail = [];
    this.#stopRequested = false;
    const prefix = `[${agentId}] `;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        logFile.write(chunk);
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          log(prefix + line);
          this.#tail = [...this.#tail, line].slice(-30);
        }
      });
    }
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal, requested: this.#stopRequested };
        logFile.end();
        log(`${prefix}runtime exited (${signal ? `signal ${signal}` : `code ${code}`})`);
        resolve();
      });
      child.once('error', (error) => {
        this.#exit = { code: null, signal: null, requested: false };
        log(`${prefix}runtime failed to spawn: ${error.message}`);
        resolve();
      });
    });
    log(`${prefix}started start script (attempt ${attempt}, pid ${child.pid}, gateway port ${this.#port})`);
    return this.report();
  }

  /** One probe: the status file, the process, and the gateway's HTTP readiness. */
  async report(): Promise<LocalAgentReport> {
    let text: string | null = null;
    try {
      text = readFileSync(this.statusFile, 'utf8');
    } catch {
      text = null;
    }
    const status = parseBootStatus(text);
    if (status.phase === 'failed') {
      return {
        port: this.#port,
        listenerPort: this.#listenerPort,
        probe: { status: 'failed', error: status.error ?? { code: 'boot_failed', message: 'start script failed' }, retryable: status.retryable ?? true },
      };
    }
    if (!this.#child || this.#exit) {
      const exit = this.#exit;
      const why = exit && !exit.requested && exit.code !== 0 ? explain(this.#tail) : '';
      // No process and no exit: this host never started it — it was restarted (npm start) after the runtime had run.
      const reason = !exit
        ? 'the local runtime is gone: the local mode (npm start) was restarted since it started'
        : exit.requested
          ? 'stopped on request'
          : exit.signal
            ? `killed by ${exit.signal}`
            : `exited with code ${exit.code}${why ? `: ${why}` : ''}`;
      return { port: null, probe: { status: 'stopped', exitCode: exit?.code ?? null, reason } };
    }
    const starting = {
      status: 'starting' as const,
      phase: status.phase,
      ...(status.timeline ? { timeline: status.timeline } : {}),
      ...(status.browser ? { browser: status.browser } : {}),
    };
    if (status.phase !== 'starting-gateway' || this.#port === null) return { port: this.#port, listenerPort: this.#listenerPort, probe: starting };
    try {
      const response = await fetch(`http://127.0.0.1:${this.#port}${READINESS_PATH}`, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return { port: this.#port, listenerPort: this.#listenerPort, probe: response.ok ? { status: 'ready' } : starting };
    } catch {
      return { port: this.#port, listenerPort: this.#listenerPort, probe: starting };
    }
  }

  /** The egress proxy for `url` and `hosts` (reused while they stay the same), or none when the Worker named none. */
  async #egressProxy(url: string | undefined, hosts: string | undefined): Promise<EgressProxy | null> {
    const key = `${url ?? ''} ${hosts ?? ''}`;
    if (this.#egress?.key === key) return this.#egress.proxy;
    await this.#egress?.proxy.close();
    this.#egress = null;
    if (!url || !hosts) return null;
    const proxy = await startEgressProxy({
      dir: join(this.#options.dir, 'egress'),
      egressUrl: url,
      hosts: hosts.split(',').filter(Boolean),
      log: (line) => this.#options.log(`[${this.#options.agentId}] ${line}`),
    });
    this.#egress = { key, proxy };
    return proxy;
  }

  /** What the egress proxy handed to the Worker (the tests' window on the local outbound path). */
  get egressHanded(): EgressProxy['handed'] {
    return this.#egress?.proxy.handed ?? [];
  }

  /** Stops the runtime and closes the egress proxy (the host is closing). */
  async close(): Promise<void> {
    await this.stop();
    await this.#egress?.proxy.close();
    this.#egress = null;
  }

  /**
   * SIGTERM to the gateway's process alone (what the Agent's drain sends it in the container), SIGKILL to its process
   * group after the grace time; resolves once it exited. Not SIGTERM to the group: the gateway's own children (its
   * spawn broker) would end under it, and the gateway exits 143 without its clean stop — which OpenClaw counts as
   * a crash at its next start.
   */
  async stop(): Promise<LocalAgentReport> {
    const child = this.#child;
    if (child && !this.#exit && child.pid) {
      this.#stopRequested = true;
      signalProcess(child.pid, 'SIGTERM');
      const killer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), this.#options.stopGraceMs);
      await this.#exited;
      clearTimeout(killer);
      // The gateway may have left children of its own in the group.
      signalGroup(child.pid, 'SIGKILL');
    }
    return this.report();
  }
}

/** The most telling line of a failed runtime's output (an error or failure line, else the last one). */
export function explain(tail: string[]): string {
  // eslint-disable-next-line no-control-regex
  const clean = tail.map((l) => l.replace(/\u001b\[[0-9;]*m/g, '').trim()).filter(Boolean);
  const telling = clean.filter((l) => /fail|error|refus|invalid|cannot|missing/i.test(l)).at(-1) ?? clean.at(-1) ?? '';
  return telling.length > 300 ? `${telling.slice(0, 297)}...` : telling;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  signalProcess(-pid, signal);
}

/** `pid` < 0: the process group. */
function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
