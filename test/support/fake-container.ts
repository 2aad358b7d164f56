/**
 * The fake container's state, kept by agent id in a module map: it outlives
 * a Durable Object instance as a real container does. The runtime's side
 * (fake-runtime.ts) and the gateway inside it (fake-gateway.ts) both act on it,
 * and the tests set and read it.
 */
import type { LifecycleErrorCode } from '../../src/contract/error-codes.ts';

export interface FakeContainer {
  running: boolean;
  /** Probes left before the gateway answers. */
  probesLeft: number;
  /** The gateway runs but is too busy to answer the readiness probe in time (the runtime reports it `starting`). */
  unresponsive: boolean;
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

export function fakeContainer(agentId: string): FakeContainer {
  let c = containers.get(agentId);
  if (!c) {
    c = {
      running: false,
      probesLeft: 0,
      unresponsive: false,
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
