/**
 * The Agent's own control channel to the OpenClaw gateway: the bundled
 * `admin-http-rpc` plugin (`POST /api/v1/admin/rpc`, enabled by
 * container/configure-openclaw.mjs), reached through the runtime,
 * authenticated as the trusted proxy. Only this class sends to that path:
 * the Worker and the Agent's forwarder refuse every path the gateway would
 * read as one under `/api` (src/runtime/gateway-path.ts). The container is
 * untrusted, so an answer is read to at most MAX_ANSWER_BYTES and its
 * fields through src/contract/untrusted-input.ts.
 */
import { errorMessage } from '../errors.ts';
import { CodedError } from '../contract/error-codes.ts';
import { gatewayRequest } from './gateway-request.ts';
import type { Runtime } from './runtime.ts';
import { boundedText, clamped, items, record, text, timeMs } from '../contract/untrusted-input.ts';

/** The gateway's path of the admin RPC plugin. */
export const ADMIN_RPC_PATH = '/api/v1/admin/rpc';

/** A method call the gateway refused or could not run (its RPC error code, e.g. `UNAVAILABLE`). */
export class GatewayRpcError extends CodedError<string> {
  readonly retryAfterMs: number | null;
  constructor(code: string, message: string, retryAfterMs: number | null = null) {
    super(code, message, 'GatewayRpcError');
    this.retryAfterMs = retryAfterMs;
  }
}

/** One kind of work that keeps the gateway from suspending, as it reports it. */
export interface WorkBlocker {
  kind: string;
  count: number;
  message: string;
}

/** `gateway.suspend.prepare`: ready (nothing runs) or busy (work runs; try again after retryAfterMs). */
export type SuspendAnswer =
  | { status: 'ready'; suspensionId: string; expiresAtMs: number }
  | { status: 'busy'; retryAfterMs: number; reason: string; blockers: WorkBlocker[] };

/** A scheduled job as `cron.list` describes it (the fields this project reads). */
export interface CronJob {
  id: string;
  name: string;
  enabled: boolean;
  /** Owned by the gateway itself (heartbeat monitors, the skill review), not created by the operator or the agent. */
  system: boolean;
  nextRunAtMs: number | null;
  runningAtMs: number | null;
  lastRunAtMs: number | null;
  /** The schedule as the gateway stores it (`{ kind: 'cron', expr, tz }`, `{ kind: 'every', everyMs }`, `{ kind: 'at', at }`). */
  schedule: Record<string, unknown> | null;
}

/**
 * A model provider's sign-ins as `models.authStatus` reports them (no
 * secret is in that answer): the provider's state and each stored profile.
 */
export interface ModelAuthStatus {
  /** `ok`, `expiring`, `expired`, `missing` or `static` (an API key). */
  status: string;
  profiles: Array<{ id: string; type: string; status: string; reasonCode: string | null; expiresAtMs: number | null }>;
}

const CALL_TIMEOUT_MS = 15_000;
const MAX_PROFILES = 20;
const MAX_PROVIDERS = 100;
/** The longest answer the Agent reads from the gateway (a `cron.list` page of 200 jobs is far below it). */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** The longest a gateway may ask the Agent to wait before asking again. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;
const MAX_BLOCKERS = 20;

export class GatewayRpc {
  readonly #runtime: Runtime;
  readonly #user: string;
  #counter = 0;

  /** `user`: the identity the gateway sees (the operator's, as for every proxied request). */
  constructor(runtime: Runtime, user: string) {
    this.#runtime = runtime;
    this.#user = user;
  }

  /**
   * Calls one gateway method. @throws GatewayRpcError with the gateway's code
   * (`UNAVAILABLE`, `INVALID_REQUEST`, …), `not_found` when the plugin is not
   * enabled, or `unreachable` when the gateway does not answer.
   */
  async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = `ondemand-${Date.now().toString(36)}-${(this.#counter++).toString(36)}`;
    const request = new Request(`http://gateway${ADMIN_RPC_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, method, params }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    let response: Response;
    try {
      response = await this.#runtime.fetch(gatewayRequest(request, { user: this.#user }));
    } catch (error) {
      throw new GatewayRpcError('unreachable', `the gateway did not answer ${method}: ${errorMessage(error)}`);
    }
    let answer: string;
    try {
      answer = await boundedText(response.body, MAX_ANSWER_BYTES);
    } catch (error) {
      throw new GatewayRpcError('bad_answer', `${method}: ${errorMessage(error)}`);
    }
    if (response.status === 404) throw new GatewayRpcError('not_found', `the gateway has no ${ADMIN_RPC_PATH} (the admin-http-rpc plugin is not enabled)`);
    let body: { ok?: unknown; payload?: unknown; error?: unknown };
    try {
      body = record(JSON.parse(answer));
    } catch {
      throw new GatewayRpcError('bad_answer', `${method}: HTTP ${response.status}, not JSON: ${answer.slice(0, 200)}`);
    }
    if (body.ok !== true) {
      const error = record(body.error);
      const retry = error.retryAfterMs ?? record(error.details).retryAfterMs;
      const retryAfterMs = retry === undefined ? null : clamped(retry, 0, MAX_RETRY_AFTER_MS, 30_000);
      throw new GatewayRpcError(
        text(error.code, 64) || `http_${response.status}`,
        `${method}: ${text(error.message, 500) || `HTTP ${response.status}`}`,
        retryAfterMs,
      );
    }
    return body.payload as T;
  }

  /**
   * Asks whether the gateway could be suspended now, without draining
   * (refuse-only): `ready` leaves admission closed until the lease expires
   * (~2 min) or the gateway exits; `busy` reopens it and names the work.
   */
  async prepareSuspend(requestId: string): Promise<SuspendAnswer> {
    const answer = record(await this.call<unknown>('gateway.suspend.prepare', { requestId, terminalPolicy: 'preserve' }));
    if (answer.status === 'ready') return { status: 'ready', suspensionId: text(answer.suspensionId, 200), expiresAtMs: timeMs(answer.expiresAtMs) ?? 0 };
    return {
      status: 'busy',
      retryAfterMs: clamped(answer.retryAfterMs, 0, MAX_RETRY_AFTER_MS, 30_000),
      reason: text(answer.reason, 200, 'work is running') || 'work is running',
      blockers: items(answer.blockers, MAX_BLOCKERS).map((b) => {
        const blocker = record(b);
        const kind = text(blocker.kind, 64, 'work') || 'work';
        return { kind, count: Math.round(clamped(blocker.count, 0, 1_000_000, 1)), message: text(blocker.message, 200, kind) || kind };
      }),
    };
  }

  /**
   * The sign-ins the gateway holds, by provider (`models.authStatus`; at
   * most 100 providers of 20 profiles, never a token); `refresh` makes the
   * gateway read its credential store again, so a sign-in stored beside it
   * (container/model-login.sh) is used from its next turn on.
   */
  async modelAuth(refresh = false): Promise<Map<string, ModelAuthStatus>> {
    const answer = record(await this.call<unknown>('models.authStatus', refresh ? { refresh: true } : {}));
    const providers = new Map<string, ModelAuthStatus>();
    for (const entry of items(answer.providers, MAX_PROVIDERS).map(record)) {
      const provider = text(entry.provider, 64);
      if (!provider || providers.has(provider)) continue;
      providers.set(provider, {
        status: text(entry.status, 32, 'unknown') || 'unknown',
        profiles: items(entry.profiles, MAX_PROFILES).map((raw) => {
          const p = record(raw);
          return {
            id: text(p.profileId, 160),
            type: text(p.type, 32),
            status: text(p.status, 32, 'unknown') || 'unknown',
            reasonCode: text(p.reasonCode, 64) || null,
            expiresAtMs: timeMs(record(p.expiry).at),
          };
        }),
      });
    }
    return providers;
  }

  /** Releases a suspension lease (admission reopens). */
  async resumeSuspend(suspensionId: string): Promise<void> {
    await this.call('gateway.suspend.resume', { suspensionId });
  }
}
