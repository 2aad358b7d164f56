/**
 * A fake at the container boundary, for tests that cannot run a container:
 * the runtime's side of it (start, probe, stop, backup, restore), as the
 * production seam draws it (src/runtime/runtime.ts); the gateway inside is
 * fake-gateway.ts, and the container both act on is fake-container.ts. It
 * behaves like the local runtime: a boot takes a few probes through the boot
 * phases, a stop ends it, a kill makes it vanish with exit 137, a request to
 * a stopped runtime fails.
 */
import {
  RuntimeError,
  type RestoreSource,
  type Runtime,
  type RuntimeArchive,
  type RuntimeProbe,
  type RuntimeStartOptions,
  type RuntimeStopReport,
} from '../../src/runtime/runtime.ts';
import { type FakeContainer, fakeContainer } from './fake-container.ts';
import { FakeGateway } from './fake-gateway.ts';

const PHASES = ['launching', 'restoring', 'configuring', 'starting-gateway'];

export class FakeRuntime implements Runtime {
  readonly #agentId: string;

  readonly #gateway: FakeGateway;

  constructor(agentId: string) {
    this.#agentId = agentId;
    this.#gateway = new FakeGateway(() => this.container);
  }

  get container(): FakeContainer {
    return fakeContainer(this.#agentId);
  }

  async provision(): Promise<void> {
    this.container.calls.push('provision');
  }

  async start(options: RuntimeStartOptions): Promise<void> {
    const c = this.container;
    c.calls.push('start');
    if (c.running) return;
    c.running = true;
    c.drained = false;
    c.exit = null;
    c.starts += 1;
    c.probesLeft = c.bootProbes;
    c.lastEnv = { ...options.env };
    c.suspended = false;
    c.terminating = null;
  }

  async probe(): Promise<RuntimeProbe> {
    const c = this.container;
    c.onProbe?.();
    if (!c.running) return { status: 'stopped', exitCode: c.exit?.code ?? null, reason: c.exit?.reason ?? 'never started' };
    if (c.drained) return { status: 'stopped', exitCode: 0, reason: 'gateway drained' };
    if (c.failWith && c.failCount > 0) {
      const { code, message, retryable } = c.failWith;
      c.failCount -= 1;
      c.running = false;
      c.exit = { code: 1, reason: `exited with code 1` };
      return { status: 'failed', error: { code, message }, retryable };
    }
    if (c.unresponsive) return { status: 'starting', phase: 'starting-gateway' };
    if (c.probesLeft > 0) {
      c.probesLeft -= 1;
      return {
        status: 'starting',
        phase: PHASES[Math.min(PHASES.length - 1, c.bootProbes - c.probesLeft - 1)] ?? 'launching',
        ...(c.scriptTimeline ? { timeline: c.scriptTimeline } : {}),
      };
    }
    return { status: 'ready' };
  }

  async terminationNotice(): Promise<string | null> {
    const c = this.container;
    return c.running ? c.terminating : null;
  }

  /** The gateway's Telegram webhook listener, in the container (fake-gateway.ts). */
  fetchListener(channel: 'telegram', request: Request): Promise<Response> {
    return this.#gateway.listener(channel, request);
  }

  /** A request to the gateway, in the container (fake-gateway.ts). */
  fetch(request: Request): Promise<Response> {
    return this.#gateway.fetch(request);
  }

  async backup(previousFingerprint: string | null): Promise<RuntimeArchive | null> {
    const c = this.container;
    if (!c.running) throw new RuntimeError('backup_failed', 'the runtime is not running');
    if (c.failBackups) throw new RuntimeError('backup_failed', 'injected backup failure');
    const bytes = new TextEncoder().encode(JSON.stringify(c.disk));
    const sha256 = await hex(bytes);
    if (sha256 === previousFingerprint) return null;
    c.backups += 1;
    return { fingerprint: sha256, sha256, size: bytes.length, files: Object.keys(c.disk).length, body: new Response(bytes).body };
  }

  /** A disk that still holds something no backup has (the fake keeps its disk until a test empties it). */
  async recover(newest: { fingerprint: string; atMs: number } | null): Promise<RuntimeArchive | null> {
    const c = this.container;
    c.calls.push('recover');
    if (Object.keys(c.disk).length === 0) return null;
    const bytes = new TextEncoder().encode(JSON.stringify(c.disk));
    const sha256 = await hex(bytes);
    if (sha256 === newest?.fingerprint) return null;
    c.backups += 1;
    return { fingerprint: sha256, sha256, size: bytes.length, files: Object.keys(c.disk).length, body: new Response(bytes).body };
  }

  /** The sign-in script's contract: start writes OpenClaw's device-code prompt (a test appends the outcome), cancel ends it. */
  async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<string | null> {
    const c = this.container;
    if (!c.running) throw new RuntimeError('runtime_unreachable', 'the container is not running');
    if (action === 'start') c.loginLog = 'OpenAI Codex device code\nURL: <https://auth.openai.com/codex/device>\nCode: FAKE-0001\n';
    if (action === 'cancel') c.loginLog = `${c.loginLog ?? ''}__exit cancelled\n`;
    return action === 'read' ? c.loginLog : 'ok';
  }

  async changeStamp(): Promise<string | null> {
    const c = this.container;
    if (!c.running) return null;
    return hex(new TextEncoder().encode(JSON.stringify(c.disk)));
  }

  async prepare(source: RestoreSource | null): Promise<void> {
    const c = this.container;
    c.calls.push('prepare');
    if (c.running) throw new RuntimeError('restore_failed', 'the runtime is running');
    c.prepares += 1;
    if (!source?.body) {
      c.disk = {};
      return;
    }
    const bytes = new Uint8Array(await new Response(source.body).arrayBuffer());
    if ((await hex(bytes)) !== source.sha256) throw new RuntimeError('restore_corrupt', 'archive SHA-256 does not match');
    try {
      c.disk = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, string>;
    } catch {
      throw new RuntimeError('restore_corrupt', 'archive does not unpack');
    }
  }

  /** The gateway exits; the container (its disk) stays until stop. */
  async drain(): Promise<RuntimeStopReport | null> {
    const c = this.container;
    if (!c.running) return null;
    const already = c.drained;
    if (!already) Object.assign(c.disk, c.writesWhileDraining);
    c.drained = true;
    return { drained: true, gatewayExitCode: 0, drainMs: already ? 0 : 1 };
  }

  async stop(reason: string): Promise<void> {
    const c = this.container;
    if (c.running) c.stops += 1;
    c.running = false;
    c.drained = false;
    c.exit = { code: 0, reason: `stopped on request (${reason})` };
  }
}

async function hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
