/**
 * Runtime of production: the Cloudflare Sandbox container. The start script
 * runs as a Sandbox background process; the gateway is reached through the
 * Container library's containerFetch, which proxies HTTP and WebSocket
 * upgrades alike. Readiness is a direct request to the gateway's port, which
 * neither starts a container nor counts as activity.
 */
import { MAX_LOGIN_LOG_BYTES, MODEL_LOGIN_LOG_NAME, MODEL_LOGIN_SCRIPT_PATH } from '../contract/model-login.ts';
import {
  BOOT_STATUS_FILE,
  CONTAINER_CONTRACT_VERSION,
  GATEWAY_PID_FILE,
  READINESS_PATH,
  START_PROCESS_ID,
  START_SCRIPT_PATH,
  TERMINATING_FILE,
  parseBootStatus,
} from '../contract/boot-status.ts';
import type { BackupTransfer } from '../config.ts';
import { BACKUP_TTL_SECONDS } from '../backup/retention.ts';
import { ARCHIVE_EXCLUDES } from '../contract/state-paths.ts';
import { errorMessage } from '../errors.ts';
import { isTrustedProxy } from './ingress-check.ts';
import { TELEGRAM_LISTENER_PORT } from './container-env.ts';
import { text } from '../contract/untrusted-input.ts';
import { RuntimeError } from './runtime.ts';
import type { ContainerDiagnosis, RestoreSource, Runtime, RuntimeArchive, RuntimeProbe, RuntimeStartOptions, RuntimeStopReport } from './runtime.ts';

/** Where the state is snapshotted for the Sandbox backup API (under /home, which it can archive). */
export const SNAPSHOT_DIR = '/home/.openclaw-snapshot';
/**
 * Where a backup is restored before it is copied into the home. Never the
 * snapshot directory: in production a restore is a FUSE overlay mount, and a
 * mounted directory cannot be replaced by the next snapshot (EBUSY).
 */
export const RESTORE_DIR = '/home/.openclaw-restore';
export const STATE_HOME = '/home/openclaw';
/** Where `diagnose` listens for one request inside the container. */
export const INGRESS_CHECK_PORT = 18799;
const SNAPSHOT_SCRIPT = 'node /container/snapshot-state.ts';
/** The model sign-in's log (beside the boot status). */
const MODEL_LOGIN_LOG = `${BOOT_STATUS_FILE.slice(0, BOOT_STATUS_FILE.lastIndexOf('/'))}/${MODEL_LOGIN_LOG_NAME}`;

const DRAIN_POLL_MS = 250;
/**
 * While the gateway boots, its port is probed at every poll (BOOT_POLL_INTERVAL,
 * 100 ms: the readiness answer is seen that soon), the start script's status
 * and process (two control-server calls) at most this often.
 */
export const STATUS_READ_INTERVAL_MS = 1_000;
/**
 * The start script writes its first status (`restoring`) before it does
 * anything else, milliseconds after it runs. A start process that the
 * Sandbox reports running with no status this long after it was started
 * never ran (its shell never spawned it): the boot fails, retryable, and the
 * retry starts a fresh container, instead of waiting out BOOT_TIMEOUT.
 */
export const START_SILENCE_MS = 60_000;

/** What this runtime needs from the Sandbox Durable Object (narrowed so a test fake is small). */
export interface SandboxApi {
  startProcess(command: string, options: { processId: string; env: Record<string, string>; autoCleanup: boolean }): Promise<unknown>;
  getProcess(id: string): Promise<{ status: string; exitCode?: number | null; pid?: number | undefined } | null>;
  readFile(path: string): Promise<{ content: string }>;
  /** The library's containerFetch: HTTP and WebSocket upgrades to a container port. */
  containerFetch(request: Request, port: number): Promise<Response>;
  /** Status of GET `path` on a container port; null when nothing listens. Starts nothing, renews nothing. */
  probePort(port: number, path: string): Promise<number | null>;
  /** Stops the container (SIGTERM, then SIGKILL if it lingers) and resolves once it is stopped. */
  stopContainer(): Promise<void>;
  /** Whether the container runs, asked without touching it (the process API would start it). */
  containerRunning(): boolean;
  /** Starts the container (not the gateway) and resolves once its control server answers. */
  startContainer(): Promise<void>;
  exec(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  createBackup(options: { dir: string; name: string; ttl: number; localBucket?: boolean }): Promise<{ id: string; dir: string; localBucket?: boolean }>;
  restoreBackup(backup: { id: string; dir: string; localBucket?: boolean }): Promise<unknown>;
}

export interface SandboxRuntimeOptions {
  gatewayPort: number;
  backupTransfer: BackupTransfer;
  /** How long a stop waits for the gateway to finish its work after SIGTERM before the container is stopped. */
  drainTimeoutMs: number;
}

const RUNNING = new Set(['starting', 'running']);

export class SandboxRuntime implements Runtime {
  readonly #host: SandboxApi;
  readonly #options: SandboxRuntimeOptions;
  readonly #now: () => number;
  /** The start script's status as last read, and when (see STATUS_READ_INTERVAL_MS). */
  #lastStatus: { atMs: number; probe: RuntimeProbe } | null = null;
  /** When this runtime started the start script (null: it did not, e.g. it found one running). */
  #startedAtMs: number | null = null;

  constructor(host: SandboxApi, options: SandboxRuntimeOptions, now: () => number = Date.now) {
    this.#host = host;
    this.#options = options;
    this.#now = now;
  }

  async provision(): Promise<void> {
    if (this.#host.containerRunning()) return;
    try {
      await this.#host.startContainer();
    } catch (error) {
      throw new RuntimeError('runtime_start_failed', `the container did not start: ${errorMessage(error)}`);
    }
  }

  async start(options: RuntimeStartOptions): Promise<void> {
    const existing = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
    if (existing && RUNNING.has(existing.status)) return;
    this.#lastStatus = null;
    this.#startedAtMs = null;
    try {
      await this.#host.startProcess(`sh ${START_SCRIPT_PATH}`, {
        processId: START_PROCESS_ID,
        env: { ...options.env, BOOT_STATUS_FILE, BOOT_ATTEMPT: String(options.attempt) },
        autoCleanup: false,
      });
      this.#startedAtMs = this.#now();
    } catch (error) {
      throw new RuntimeError('runtime_start_failed', `the container did not start: ${errorMessage(error)}`);
    }
  }

  async probe(): Promise<RuntimeProbe> {
    // Every Sandbox process/file call starts a stopped container: ask the platform first.
    if (!this.#host.containerRunning()) return { status: 'stopped', exitCode: null, reason: 'container not running' };
    const answer = await this.#host.probePort(this.#options.gatewayPort, READINESS_PATH).catch(() => null);
    if (answer !== null && answer >= 200 && answer < 300) return { status: 'ready' };
    // Not answering (yet): the start script says how far the boot got, or why it failed (read at most every STATUS_READ_INTERVAL_MS).
    const last = this.#lastStatus;
    if (last && last.probe.status === 'starting' && this.#now() - last.atMs < STATUS_READ_INTERVAL_MS) return last.probe;
    const probe = await this.#readStatus();
    this.#lastStatus = { atMs: this.#now(), probe };
    return probe;
  }

  async #readStatus(): Promise<RuntimeProbe> {
    const process = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
    const written = await this.#host
      .readFile(BOOT_STATUS_FILE)
      .then((f) => f.content)
      .catch(() => null);
    const status = parseBootStatus(written);
    if (status.contract !== CONTAINER_CONTRACT_VERSION) {
      return {
        status: 'failed',
        error: {
          code: 'contract_mismatch',
          message: `the container's start script speaks contract v${status.contract}, this Worker v${CONTAINER_CONTRACT_VERSION}: a deploy's rollout is under way (the Worker is updated first, the containers after it); the boot is retried`,
        },
        retryable: true,
      };
    }
    if (status.phase === 'failed') {
      return {
        status: 'failed',
        error: status.error ?? { code: 'boot_failed', message: 'the start script reported a failure' },
        retryable: status.retryable ?? true,
      };
    }
    if (!process || !RUNNING.has(process.status)) {
      return { status: 'stopped', exitCode: process?.exitCode ?? null, reason: process ? `start script ${process.status}` : 'no start process' };
    }
    const silentMs = written === null && this.#startedAtMs !== null ? this.#now() - this.#startedAtMs : 0;
    if (silentMs >= START_SILENCE_MS) {
      const pid = typeof process.pid === 'number' ? `pid ${process.pid}` : 'no pid: its shell never spawned it';
      return {
        status: 'failed',
        error: {
          code: 'runtime_start_failed',
          message: `the start script wrote no status ${Math.round(silentMs / 1000)} s after it was started (the Sandbox reports its process ${text(process.status, 20)}, ${pid}); the boot is retried in a fresh container`,
        },
        retryable: true,
      };
    }
    return {
      status: 'starting',
      phase: status.phase,
      ...(status.timeline ? { timeline: status.timeline } : {}),
      ...(status.browser ? { browser: status.browser } : {}),
    };
  }

  /** The time container/init.sh wrote when it held the platform's SIGTERM (its file is the container's: read as untrusted, a time or nothing). */
  async terminationNotice(): Promise<string | null> {
    if (!this.#host.containerRunning()) return null;
    const content = await this.#host.readFile(TERMINATING_FILE).then(
      (f) => f.content,
      () => null,
    );
    if (content === null) return null;
    const at = Date.parse(content.trim().slice(0, 40));
    return Number.isFinite(at) ? new Date(at).toISOString() : 'unknown time';
  }

  /**
   * The container's versions, and the address it sees the Agent's requests
   * come from: a one-shot server on INGRESS_CHECK_PORT answers the peer
   * address of one request (carrying this check's nonce), reached the way
   * every request reaches the gateway, and exits.
   */
  async diagnose(): Promise<ContainerDiagnosis | null> {
    if (!this.#host.containerRunning()) return null;
    const v = await this.#host
      .exec(`node --version; openclaw --version 2>/dev/null | head -1; gh --version 2>/dev/null | head -1; printf '%s\\n' "$GATEWAY_TRUSTED_PROXIES"`)
      .catch(() => null);
    const [node = '', openclaw = '', gh = '', proxies = ''] = (v?.stdout ?? '').split('\n').map((line) => text(line.trim(), 200));
    const trustedProxies = proxies
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .slice(0, 50);
    // A fresh nonce: only this check's own server answers it (an earlier one may still hold a kept-alive connection).
    const nonce = crypto.randomUUID();
    await this.#host
      .exec(
        `(node -e 'require("http").createServer((q,r)=>{if(q.url!=="/${nonce}"){r.statusCode=404;return r.end()}r.setHeader("connection","close");r.end(q.socket.remoteAddress,()=>process.exit(0))}).listen(${INGRESS_CHECK_PORT});setTimeout(()=>process.exit(0),15000)' >/dev/null 2>&1 &)`,
      )
      .catch(() => null);
    let address: string | null = null;
    for (let attempt = 0; attempt < 20 && address === null; attempt++) {
      const answer = await this.#host.containerFetch(new Request(`http://container/${nonce}`), INGRESS_CHECK_PORT).then(
        (r) => (r.ok ? r.text() : null),
        () => null,
      );
      // An IPv4 peer as the container's dual-stack socket names it (::ffff:a.b.c.d) reads as plain IPv4.
      if (answer) address = text(answer.trim(), 64).replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { node, openclaw, gh, ingress: { address, trustedProxies, trusted: address !== null && isTrustedProxy(address, trustedProxies) } };
  }

  async fetch(request: Request): Promise<Response> {
    // containerFetch would start a stopped container (without OpenClaw): never from here.
    if (!this.#host.containerRunning()) throw new RuntimeError('runtime_unreachable', 'the container is not running');
    try {
      return await this.#host.containerFetch(request, this.#options.gatewayPort);
    } catch (error) {
      throw new RuntimeError('runtime_unreachable', `gateway did not answer: ${errorMessage(error)}`);
    }
  }

  /** The gateway's Telegram listener, on its own port in the container. */
  async fetchListener(_channel: 'telegram', request: Request): Promise<Response> {
    if (!this.#host.containerRunning()) throw new RuntimeError('runtime_unreachable', 'the container is not running');
    try {
      return await this.#host.containerFetch(request, TELEGRAM_LISTENER_PORT);
    } catch (error) {
      throw new RuntimeError('runtime_unreachable', `the Telegram listener did not answer: ${errorMessage(error)}`);
    }
  }

  /**
   * The gateway gets its own SIGTERM and up to drainTimeoutMs to finish its
   * work and exit, while the container (and its disk) stays: the container's
   * PID 1 is the Sandbox control server, which kills its processes within a
   * second of its own SIGTERM, so a container stop alone would cut the
   * gateway's drain short.
   */
  async drain(): Promise<RuntimeStopReport | null> {
    if (!this.#host.containerRunning()) return null;
    const started = Date.now();
    const running = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
    if (!running || !RUNNING.has(running.status))
      return { drained: false, gatewayExitCode: running?.exitCode ?? null, drainMs: 0, note: 'the gateway was not running' };
    const signal = await this.#host
      .exec(`kill -TERM "$(cat ${GATEWAY_PID_FILE})"`)
      .catch((error: unknown) => ({ exitCode: 1, stdout: '', stderr: errorMessage(error) }));
    if (signal.exitCode !== 0)
      return {
        drained: false,
        gatewayExitCode: null,
        drainMs: Date.now() - started,
        note: `could not signal the gateway: ${signal.stderr.trim().slice(0, 200)}`,
      };
    while (Date.now() - started < this.#options.drainTimeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      const process = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
      if (!process || !RUNNING.has(process.status)) return { drained: true, gatewayExitCode: process?.exitCode ?? null, drainMs: Date.now() - started };
    }
    return {
      drained: false,
      gatewayExitCode: null,
      drainMs: Date.now() - started,
      note: `the gateway was still draining after ${this.#options.drainTimeoutMs} ms`,
    };
  }

  async stop(_reason: string): Promise<void> {
    await this.#host.stopContainer();
  }

  async backup(previousFingerprint: string | null): Promise<RuntimeArchive | null> {
    return this.#archive(previousFingerprint, false);
  }

  async #archive(previousFingerprint: string | null, skipEmpty: boolean): Promise<RuntimeArchive | null> {
    const r = await this.#host.exec(`${SNAPSHOT_SCRIPT} snapshot ${STATE_HOME} ${SNAPSHOT_DIR} ${previousFingerprint ?? ''}`);
    if (r.exitCode !== 0) throw new RuntimeError('backup_failed', `snapshot failed: ${r.stderr.slice(0, 300)}`);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { changed: boolean; fingerprint?: string; files?: number };
    if (!result.changed) return null;
    if (skipEmpty && !result.files) return null;
    // The SDK archives the directory (squashfs) and stores it in R2.
    const handle = await this.#host.createBackup({
      dir: SNAPSHOT_DIR,
      name: `state-${result.fingerprint?.slice(0, 12)}`,
      ttl: BACKUP_TTL_SECONDS,
      ...(this.#options.backupTransfer === 'binding' ? { localBucket: true } : {}),
    });
    return { fingerprint: result.fingerprint ?? '', sha256: handle.id, size: 0, files: result.files ?? 0, body: null, handle };
  }

  /**
   * A container that still runs holds the newest state there is (its disk is
   * gone once it stops). An empty home is nothing to recover: it is a new
   * container's disk, never newer than a backup.
   */
  async recover(newest: { fingerprint: string; atMs: number } | null): Promise<RuntimeArchive | null> {
    if (!this.#host.containerRunning()) return null;
    return this.#archive(newest?.fingerprint ?? null, true);
  }

  /** Paths, sizes and mtimes of the state (SQLite side files included), hashed in the container; nothing is read. */
  async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<string | null> {
    if (action !== 'read') {
      const r = await this.#host.exec(`BOOT_STATUS_FILE=${BOOT_STATUS_FILE} sh ${MODEL_LOGIN_SCRIPT_PATH} ${action}`);
      if (r.exitCode !== 0) throw new RuntimeError('runtime_unreachable', `the sign-in could not ${action}: ${(r.stderr || r.stdout).slice(0, 300)}`);
      return r.stdout.slice(0, 300);
    }
    // The end of the log only: the container decides its size.
    const r = await this.#host.exec(`tail -c ${MAX_LOGIN_LOG_BYTES} ${MODEL_LOGIN_LOG} 2>/dev/null || echo __none`);
    const out = r.stdout.slice(-MAX_LOGIN_LOG_BYTES);
    return out.trim() === '__none' ? null : out;
  }

  async changeStamp(): Promise<string | null> {
    if (!this.#host.containerRunning()) return null;
    const prune = ARCHIVE_EXCLUDES.map((p) => `-path ${STATE_HOME}/${p} -prune -o`).join(' ');
    const r = await this.#host.exec(`find ${STATE_HOME} ${prune} -type f -printf '%P %s %T@\\n' 2>/dev/null | sort | sha256sum`).catch(() => null);
    return r && r.exitCode === 0 ? (r.stdout.trim().split(' ')[0] ?? null) : null;
  }

  async prepare(source: RestoreSource | null): Promise<void> {
    if (!source) return; // a new container's disk is empty already
    const handle = source.handle as { id: string; dir: string; localBucket?: boolean } | undefined;
    if (!handle?.id) throw new RuntimeError('restore_corrupt', `backup ${source.sha256} has no Sandbox backup handle`);
    try {
      await this.#host.restoreBackup({ ...handle, dir: RESTORE_DIR });
    } catch (error) {
      throw new RuntimeError('restore_corrupt', `the Sandbox could not restore backup ${source.sha256}: ${errorMessage(error)}`);
    }
    const r = await this.#host.exec(`${SNAPSHOT_SCRIPT} apply ${RESTORE_DIR} ${STATE_HOME}`);
    // Once copied, the restored tree (in production a FUSE overlay) is not needed: unmount and drop it.
    await this.#host.exec(`fusermount3 -uz ${RESTORE_DIR} 2>/dev/null; rm -rf ${RESTORE_DIR}`).catch(() => null);
    if (r.exitCode !== 0) throw new RuntimeError('restore_failed', `applying the restored snapshot failed: ${r.stderr.slice(0, 300)}`);
  }
}
