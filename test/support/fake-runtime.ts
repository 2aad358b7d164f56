/**
 * A fake at the container boundary, for tests that cannot run a container.
 * Its "container" outlives the object (kept by agent id in a module map), as
 * a real container outlives a Durable Object instance. It behaves like the
 * local runtime: a boot takes a few probes through the boot phases, a stop
 * ends it, a kill makes it vanish with exit 137, a request to a stopped
 * runtime fails.
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
import type { LifecycleErrorCode } from '../../src/contract/error-codes.ts';

export interface FakeContainer {
  running: boolean;
  /** Probes left before the gateway answers. */
  probesLeft: number;
  /** Probes a boot takes (set before a start). */
  bootProbes: number;
  /** When set, the next boot fails with it (cleared after `failCount` boots). */
  failWith: { code: LifecycleErrorCode; message: string; retryable: boolean } | null;
  failCount: number;
  exit: { code: number | null; reason: string } | null;
  starts: number;
  stops: number;
  lastEnv: Record<string, string> | null;
  requests: string[];
  /** The container's disk: what the assistant wrote; empty in a new container until prepared. */
  disk: Record<string, string>;
  backups: number;
  prepares: number;
  /** Makes the next backups fail (e.g. storage down). */
  failBackups: boolean;
  /** The gateway was drained (exited); the container and its disk are still there. */
  drained: boolean;
  /** Files the gateway writes while it drains (work that finishes after its SIGTERM). */
  writesWhileDraining: Record<string, string>;
  /** The start script's timeline its status reports while booting (its own clock). */
  scriptTimeline?: Record<string, string>;
  /** Called at every probe (a test moves its clock here: each probe takes time). */
  onProbe?: () => void;
  /** The boot's calls in order (provision, recover, prepare, start). */
  calls: string[];
  /** The gateway's admin RPC as recorded from OpenClaw 2026.9.6: work that keeps it from suspending (busy while non-empty). */
  work: Array<{ kind: string; count: number; message: string }>;
  /** `cron.list` rows (the gateway's shape) and `cron.runs` entries per job id. */
  cronJobs: Array<Record<string, unknown>>;
  cronRuns: Record<string, Array<Record<string, unknown>>>;
  /** Admin RPC methods called, in order. */
  rpc: string[];
  /** A suspension lease is held (a ready prepare, not resumed): the gateway refuses other methods, as OpenClaw does. */
  suspended: boolean;
  /**
   * A hostile gateway (the container is untrusted: an agent with a shell can
   * answer on the gateway's port): the answer to a method, given in place of
   * the recorded one — a payload (sent as `{ ok: true, payload }`) or a whole
   * Response (any status, any body, any size).
   */
  hostileRpc: Record<string, (params: Record<string, unknown>) => unknown>;
  /** The platform asked the container to stop on its own (its init holds the SIGTERM): when. */
  terminating: string | null;
  /** The model sign-in's output (container/model-login.sh's log) as OpenClaw writes it; null until one starts. */
  loginLog: string | null;
  /** The subscription's OAuth profile as `models.authStatus` reports it (the recorded shape); null: none stored. */
  oauthProfile: { profileId: string; status: string; expiresAtMs: number } | null;
  /** What the gateway's Telegram listener was handed (the secret header, the update), in order. */
  telegram: Array<{ secret: string | null; update: string }>;
  /** How the listener answers: adopted durably (OpenClaw's header), a plain 200 (adoption not said), or a 500. */
  telegramAnswer: 'durable' | 'plain' | 'error';
  /** What the gateway's agent hook (POST /hooks/agent: Discord's messages) was handed, in order. */
  hooks: Array<{ authorization: string | null; idempotencyKey: string | null; body: Record<string, unknown> }>;
  /** How the hook answers, in OpenClaw 2026.9.6's shapes: the turn ran, the turn failed (still HTTP 200), or admission refused (400). */
  hooksAnswer: 'ran' | 'failed' | 'refused';
}

const containers = new Map<string, FakeContainer>();
const PHASES = ['launching', 'restoring', 'configuring', 'starting-gateway'];

export function fakeContainer(agentId: string): FakeContainer {
  let c = containers.get(agentId);
  if (!c) {
    c = {
      running: false,
      probesLeft: 0,
      bootProbes: 3,
      failWith: null,
      failCount: 0,
      exit: null,
      starts: 0,
      stops: 0,
      lastEnv: null,
      requests: [],
      disk: {},
      backups: 0,
      prepares: 0,
      failBackups: false,
      drained: false,
      writesWhileDraining: {},
      calls: [],
      work: [],
      cronJobs: [],
      cronRuns: {},
      rpc: [],
      suspended: false,
      hostileRpc: {},
      terminating: null,
      loginLog: null,
      oauthProfile: null,
      telegram: [],
      telegramAnswer: 'durable',
      hooks: [],
      hooksAnswer: 'ran',
    };
    containers.set(agentId, c);
  }
  return c;
}

export function resetFakeContainers(): void {
  containers.clear();
}

/** Simulates a crash: the process vanishes without a stop. */
export function killFakeContainer(agentId: string): void {
  const c = fakeContainer(agentId);
  c.running = false;
  c.exit = { code: 137, reason: 'killed by SIGKILL' };
}

export class FakeRuntime implements Runtime {
  readonly #agentId: string;

  constructor(agentId: string) {
    this.#agentId = agentId;
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

  /** The gateway's Telegram webhook listener (OpenClaw's webhook mode): takes an update, says whether it adopted it durably. */
  async fetchListener(_channel: 'telegram', request: Request): Promise<Response> {
    const c = this.container;
    if (!c.running || c.drained || c.probesLeft > 0) throw new Error('connection refused');
    if (c.telegramAnswer === 'error') return new Response('', { status: 500 });
    c.telegram.push({ secret: request.headers.get('x-telegram-bot-api-secret-token'), update: await request.text() });
    return new Response('', { status: 200, headers: c.telegramAnswer === 'durable' ? { 'x-openclaw-delivery-accepted': 'durable' } : {} });
  }

  async fetch(request: Request): Promise<Response> {
    const c = this.container;
    if (!c.running || c.drained || c.probesLeft > 0) throw new Error('connection refused');
    const url = new URL(request.url);
    if (url.pathname === '/api/v1/admin/rpc') return this.#adminRpc(await request.json());
    if (url.pathname === '/hooks/agent' && request.method === 'POST') return this.#agentHook(request);
    c.requests.push(`${request.method} ${url.pathname}${url.search}`);
    const body = await request.text();
    return new Response(
      JSON.stringify({
        gateway: 'fake',
        method: request.method,
        path: url.pathname + url.search,
        body,
        cookie: request.headers.get('cookie'),
        user: request.headers.get('x-openclaw-user'),
      }),
      {
        headers: { 'content-type': 'application/json' },
      },
    );
  }

  /** The agent hook (`hooks.enabled`), waiting for the turn as the inbox asks (`waitForCompletion`). */
  async #agentHook(request: Request): Promise<Response> {
    const c = this.container;
    const body = (await request.json()) as Record<string, unknown>;
    c.hooks.push({ authorization: request.headers.get('authorization'), idempotencyKey: request.headers.get('idempotency-key'), body });
    if (c.hooksAnswer === 'refused') return Response.json({ ok: false, error: 'channel must be last' }, { status: 400 });
    const completion =
      c.hooksAnswer === 'ran'
        ? { status: 'ok', replyDisposition: 'visible', delivered: true, deliveryAttempted: true }
        : { status: 'error', replyDisposition: 'empty' };
    return Response.json({ ok: true, runId: crypto.randomUUID(), completion });
  }

  /** The admin-http-rpc plugin's answers, in the shapes OpenClaw 2026.9.6 gives them. */
  #adminRpc(call: { id?: string; method?: string; params?: Record<string, unknown> }): Response {
    const c = this.container;
    c.rpc.push(call.method ?? '');
    const ok = (payload: unknown) => Response.json({ id: call.id, ok: true, payload });
    const hostile = c.hostileRpc[call.method ?? ''];
    if (hostile) {
      const answer = hostile(call.params ?? {});
      return answer instanceof Response ? answer : ok(answer);
    }
    if (c.suspended && !String(call.method).startsWith('gateway.suspend.')) {
      return Response.json(
        { id: call.id, ok: false, error: { code: 'UNAVAILABLE', message: 'gateway suspension admission is closed', retryAfterMs: 5_000 } },
        { status: 503 },
      );
    }
    switch (call.method) {
      case 'gateway.suspend.prepare':
        c.suspended = c.work.length === 0;
        return ok(
          c.work.length
            ? {
                status: 'busy',
                reason: 'active-work',
                retryAfterMs: 20_000,
                activeCount: c.work.reduce((n, w) => n + w.count, 0),
                blockers: c.work,
                writeCustody: [],
              }
            : { status: 'ready', suspensionId: 'fake-suspension', expiresAtMs: Date.now() + 120_000, activeCount: 0, blockers: [], writeCustody: [] },
        );
      case 'gateway.suspend.resume':
        c.suspended = false;
        return ok({ ok: true, status: 'running', resumed: true });
      case 'cron.list': {
        // Paged as the gateway pages it: `limit` rows from `offset`.
        const offset = Number(call.params?.offset ?? 0);
        const limit = Number(call.params?.limit ?? 200);
        const jobs = c.cronJobs.slice(offset, offset + limit);
        const hasMore = offset + limit < c.cronJobs.length;
        return ok({ jobs, total: c.cronJobs.length, offset, hasMore, nextOffset: hasMore ? offset + limit : null });
      }
      case 'models.authStatus': {
        const p = c.oauthProfile;
        const profiles = p
          ? [
              {
                profileId: p.profileId,
                type: 'oauth',
                status: p.status,
                source: 'saved',
                expiry: { at: p.expiresAtMs, remainingMs: p.expiresAtMs - Date.now(), label: 'soon' },
              },
            ]
          : [];
        return ok({
          ts: Date.now(),
          providers: [{ provider: 'openai', authProvider: 'openai', displayName: 'OpenAI', status: p ? p.status : 'missing', profiles }],
          providerCapabilities: {},
        });
      }
      case 'cron.runs':
        return ok({ entries: c.cronRuns[String(call.params?.id)] ?? [], total: 0, hasMore: false });
      default:
        return Response.json({ id: call.id, ok: false, error: { code: 'INVALID_REQUEST', message: `unknown method ${call.method}` } }, { status: 400 });
    }
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
