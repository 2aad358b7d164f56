/**
 * The Agent's own control channel to the OpenClaw gateway: the bundled
 * `admin-http-rpc` plugin (`POST /api/v1/admin/rpc`, enabled by
 * container/configure-openclaw.mjs), reached through the runtime like any
 * proxied request, authenticated as the trusted proxy. The Worker never
 * proxies this path for anyone else (its own `/api/*` routes answer first).
 */
import { errorMessage } from '../errors.ts';
import { gatewayRequest } from './gateway-request.ts';
import type { Runtime } from './runtime.ts';

/** The gateway's path of the admin RPC plugin. */
export const ADMIN_RPC_PATH = '/api/v1/admin/rpc';

/** A method call the gateway refused or could not run (its RPC error code, e.g. `UNAVAILABLE`). */
export class GatewayRpcError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | null;
  constructor(code: string, message: string, retryAfterMs: number | null = null) {
    super(message);
    this.name = 'GatewayRpcError';
    this.code = code;
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

const CALL_TIMEOUT_MS = 15_000;

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
    const text = await response.text();
    if (response.status === 404) throw new GatewayRpcError('not_found', `the gateway has no ${ADMIN_RPC_PATH} (the admin-http-rpc plugin is not enabled)`);
    let body: { ok?: boolean; payload?: unknown; error?: { code?: string; message?: string; retryAfterMs?: number; details?: { retryAfterMs?: number } } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new GatewayRpcError('bad_answer', `${method}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!body.ok) {
      const retry = body.error?.retryAfterMs ?? body.error?.details?.retryAfterMs ?? null;
      throw new GatewayRpcError(body.error?.code ?? `http_${response.status}`, `${method}: ${body.error?.message ?? `HTTP ${response.status}`}`, retry);
    }
    return body.payload as T;
  }

  /**
   * Asks whether the gateway could be suspended now, without draining
   * (refuse-only): `ready` leaves admission closed until the lease expires
   * (~2 min) or the gateway exits; `busy` reopens it and names the work.
   */
  async prepareSuspend(requestId: string): Promise<SuspendAnswer> {
    const answer = await this.call<Record<string, unknown>>('gateway.suspend.prepare', { requestId, terminalPolicy: 'preserve' });
    if (answer.status === 'ready') return { status: 'ready', suspensionId: String(answer.suspensionId ?? ''), expiresAtMs: Number(answer.expiresAtMs ?? 0) };
    return {
      status: 'busy',
      retryAfterMs: Number(answer.retryAfterMs ?? 30_000),
      reason: String(answer.reason ?? 'work is running'),
      blockers: Array.isArray(answer.blockers) ? (answer.blockers as WorkBlocker[]).map((b) => ({ kind: String(b.kind), count: Number(b.count ?? 1), message: String(b.message ?? b.kind) })) : [],
    };
  }

  /** Releases a suspension lease (admission reopens). */
  async resumeSuspend(suspensionId: string): Promise<void> {
    await this.call('gateway.suspend.resume', { suspensionId });
  }
}
