/**
 * Requests for the gateway, forwarded by the Agent: each counts as in flight
 * until its answer's body is read to the end (or cancelled), and as activity
 * again then — an agent turn that takes longer than the quiet time is not
 * idleness.
 */
import { AppError, errorMessage } from '../../errors.ts';
import { assertGatewayPath } from '../../runtime/gateway-path.ts';
import { gatewayRequest } from '../../runtime/gateway-request.ts';
import type { Runtime } from '../../runtime/runtime.ts';

export class GatewayForwarder {
  readonly #runtime: Runtime;
  readonly #defaultUser: string;
  readonly #onFinished: () => Promise<void>;
  readonly #onUnreachable: () => Promise<void>;
  /** Gateway requests whose answer is not read to the end yet (memory only: a restart ends them). */
  #inFlight = 0;

  constructor(options: { runtime: Runtime; defaultUser: string; onFinished: () => Promise<void>; onUnreachable: () => Promise<void> }) {
    this.#runtime = options.runtime;
    this.#defaultUser = options.defaultUser;
    this.#onFinished = options.onFinished;
    this.#onUnreachable = options.onUnreachable;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Forwards one request as `identity`; never one the gateway would read as
   * the Worker's own path (its admin RPC is the Agent's, through GatewayRpc).
   * @throws AppError `not_found` for such a path, `runtime_unreachable`
   * (after the unreachable hook ran).
   */
  async forward(request: Request, identity: string | null): Promise<Response> {
    assertGatewayPath(new URL(request.url));
    this.#inFlight += 1;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.#inFlight -= 1;
      void this.#onFinished();
    };
    try {
      const response = await this.#runtime.fetch(gatewayRequest(request, { user: identity ?? this.#defaultUser }));
      if (!response.body || (response as { webSocket?: unknown }).webSocket) {
        finish();
        return response;
      }
      return new Response(whenRead(response.body, finish), response);
    } catch (error) {
      finish();
      await this.#onUnreachable();
      throw new AppError('runtime_unreachable', errorMessage(error, 'the gateway did not answer'));
    }
  }
}

/** The same bytes, calling `done` once when they are read to the end, fail, or are cancelled. */
function whenRead(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          controller.close();
          done();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        done();
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}
