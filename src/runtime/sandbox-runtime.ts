/**
 * Runtime of production: the Cloudflare Sandbox container. The start script
 * runs as a Sandbox background process; the gateway is reached with
 * containerFetch (HTTP) and wsConnect (WebSocket) on its port.
 */
import { BOOT_STATUS_FILE, READINESS_PATH, START_PROCESS_ID, START_SCRIPT_PATH, parseBootStatus } from '../contract/boot-status.ts';
import { RuntimeError, type RestoreSource, type Runtime, type RuntimeArchive, type RuntimeProbe, type RuntimeStartOptions } from './runtime.ts';

/** Where the state is snapshotted for the Sandbox backup API (under /home, which it can archive). */
export const SNAPSHOT_DIR = '/home/.openclaw-snapshot';
export const STATE_HOME = '/home/openclaw';
const SNAPSHOT_SCRIPT = 'node /container/snapshot-state.ts';

/** What this runtime needs from the Sandbox Durable Object (narrowed so a test fake is small). */
export interface SandboxHost {
  startProcess(command: string, options: { processId: string; env: Record<string, string>; autoCleanup: boolean }): Promise<unknown>;
  getProcess(id: string): Promise<{ status: string; exitCode?: number } | null>;
  readFile(path: string): Promise<{ content: string }>;
  containerFetch(request: Request, port: number): Promise<Response>;
  wsConnect(request: Request, port: number): Promise<Response>;
  /** Stops the container (SIGTERM, then SIGKILL if it lingers) and resolves once it is stopped. */
  stopContainer(): Promise<void>;
  /** Whether the container runs, asked without touching it (the process API would start it). */
  containerRunning(): boolean;
  exec(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  createBackup(options: { dir: string; name: string; ttl: number }): Promise<{ id: string; dir: string }>;
  restoreBackup(backup: unknown): Promise<unknown>;
}

const RUNNING = new Set(['starting', 'running']);

export class SandboxRuntime implements Runtime {
  readonly #host: SandboxHost;
  readonly #port: number;

  constructor(host: SandboxHost, gatewayPort: number) {
    this.#host = host;
    this.#port = gatewayPort;
  }

  async start(options: RuntimeStartOptions): Promise<void> {
    const existing = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
    if (existing && RUNNING.has(existing.status)) return;
    try {
      await this.#host.startProcess(`sh ${START_SCRIPT_PATH}`, {
        processId: START_PROCESS_ID,
        env: { ...options.env, BOOT_STATUS_FILE, BOOT_ATTEMPT: String(options.attempt) },
        autoCleanup: false,
      });
    } catch (error) {
      throw new RuntimeError('runtime_start_failed', `the container did not start: ${message(error)}`);
    }
  }

  async probe(): Promise<RuntimeProbe> {
    // Every Sandbox process/file call starts a stopped container: ask the platform first.
    if (!this.#host.containerRunning()) return { status: 'stopped', exitCode: null, reason: 'container not running' };
    const process = await this.#host.getProcess(START_PROCESS_ID).catch(() => null);
    const status = parseBootStatus(await this.#host.readFile(BOOT_STATUS_FILE).then((f) => f.content).catch(() => null));
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
    if (status.phase !== 'starting-gateway') return { status: 'starting', phase: status.phase };
    try {
      const response = await this.#host.containerFetch(new Request(`http://localhost${READINESS_PATH}`), this.#port);
      await response.body?.cancel();
      return response.ok ? { status: 'ready' } : { status: 'starting', phase: status.phase };
    } catch {
      return { status: 'starting', phase: status.phase };
    }
  }

  async fetch(request: Request): Promise<Response> {
    try {
      if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return await this.#host.wsConnect(request, this.#port);
      return await this.#host.containerFetch(request, this.#port);
    } catch (error) {
      throw new RuntimeError('runtime_unreachable', `gateway did not answer: ${message(error)}`);
    }
  }

  async stop(_reason: string): Promise<void> {
    await this.#host.stopContainer();
  }

  async backup(previousFingerprint: string | null): Promise<RuntimeArchive | null> {
    const r = await this.#host.exec(`${SNAPSHOT_SCRIPT} snapshot ${STATE_HOME} ${SNAPSHOT_DIR} ${previousFingerprint ?? ''}`);
    if (r.exitCode !== 0) throw new RuntimeError('backup_failed', `snapshot failed: ${r.stderr.slice(0, 300)}`);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { changed: boolean; fingerprint?: string; files?: number };
    if (!result.changed) return null;
    // The SDK archives the directory (squashfs) and uploads it to R2 over presigned URLs.
    const handle = await this.#host.createBackup({ dir: SNAPSHOT_DIR, name: `state-${result.fingerprint?.slice(0, 12)}`, ttl: 30 * 86_400 });
    return { fingerprint: result.fingerprint ?? '', sha256: handle.id, size: 0, files: result.files ?? 0, body: null, handle };
  }

  async prepare(source: RestoreSource | null): Promise<void> {
    if (!source) return; // a new container's disk is empty already
    try {
      await this.#host.restoreBackup(source.handle);
    } catch (error) {
      throw new RuntimeError('restore_corrupt', `the Sandbox could not restore backup ${source.sha256}: ${message(error)}`);
    }
    const r = await this.#host.exec(`${SNAPSHOT_SCRIPT} apply ${SNAPSHOT_DIR} ${STATE_HOME}`);
    if (r.exitCode !== 0) throw new RuntimeError('restore_failed', `applying the restored snapshot failed: ${r.stderr.slice(0, 300)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
