/**
 * A request that finds the assistant asleep or booting and asks to wait
 * (`Prefer: wait=<seconds>`, RFC 7240) is held until the gateway is ready
 * and then forwarded, so one call wakes the assistant and gets its answer.
 * The Worker grants at most REQUEST_WAIT_MAX and hands the grant to the
 * Agent in WAIT_HEADER (a client's own copy is dropped; the gateway never
 * sees it). A streaming client (`Accept: text/event-stream`, or a JSON body
 * with `"stream": true`, as OpenAI-style clients send) gets its 200 and
 * event-stream headers at once and an SSE comment every KEEPALIVE_MS while
 * it waits, so neither it nor a proxy gives up on a silent connection; the
 * gateway's stream follows in the same answer.
 */
import { secure } from '../security-headers.ts';

/** The wait the Worker granted a request, in ms (set by the Worker only). */
export const WAIT_HEADER = 'x-ondemand-wait-ms';
/** A waiting event-stream client gets a comment line this often. */
export const KEEPALIVE_MS = 5_000;
/** A JSON body is read for its `stream` flag only up to this size (larger ones wait without keep-alive lines). */
const PEEK_LIMIT_BYTES = 1024 * 1024;

/**
 * The `wait` preference of a Prefer header in seconds (RFC 7240: `wait=120`,
 * among other preferences, case-insensitive name, optionally quoted value),
 * or null when there is none or it is not a whole number of seconds.
 */
export function parsePreferWait(prefer: string | null): number | null {
  if (!prefer) return null;
  for (const preference of prefer.split(',')) {
    const [head = ''] = preference.split(';');
    const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*$/i.exec(head);
    if (match) return Number(match[1]);
  }
  return null;
}

/** The wait the Worker granted this request (ms), 0 when none. */
export function grantedWaitMs(request: Request): number {
  const ms = Number(request.headers.get(WAIT_HEADER) ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/**
 * Whether the client reads an event stream: it accepts `text/event-stream`,
 * or its JSON body says `"stream": true`. Only a request whose body (if
 * any) is at most 1 MiB by its content-length can be answered so: its body
 * is read now, since nothing can be read from a request once its answer
 * has begun. Returns the request to forward (rebuilt when its body was read).
 */
export async function streamRequested(request: Request): Promise<{ stream: boolean; request: Request }> {
  const accepts = (request.headers.get('accept') ?? '').toLowerCase().includes('text/event-stream');
  if (!request.body) return { stream: accepts, request };
  const length = Number(request.headers.get('content-length') ?? NaN);
  const json = /json/i.test(request.headers.get('content-type') ?? '');
  if (!(length <= PEEK_LIMIT_BYTES) || (!accepts && !json)) return { stream: false, request };
  const body = await request.arrayBuffer();
  let stream = accepts;
  if (!stream && json) {
    try {
      stream = (JSON.parse(new TextDecoder().decode(body)) as { stream?: unknown } | null)?.stream === true;
    } catch {
      // not JSON after all: the gateway will say so
    }
  }
  return { stream, request: new Request(request, { body }) };
}

export interface WaitingAnswer {
  /** Resolves true once the request can be answered (ready, failed or hibernated); false when `timeoutMs` ran out. */
  settled(timeoutMs: number): Promise<boolean>;
  /** What is happening now, for the keep-alive lines (the boot phase). */
  phase(): string;
  /** The answer once waited: the gateway's, or the error that says why not. */
  answer(): Promise<Response>;
}

/**
 * Answers a waiting event-stream client: 200 with event-stream headers now,
 * a `: waiting for the assistant (<phase>)` comment every KEEPALIVE_MS
 * until `settled`, then the gateway's event stream; an answer that is not
 * one (an error, a refusal) is sent as one `data:` event holding its body,
 * e.g. `{"error":{"code":"booting",…}}`, and the stream ends.
 */
export function waitingEventStream(wait: WaitingAnswer, waitMs: number, keepaliveMs = KEEPALIVE_MS): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  void (async () => {
    try {
      let settled = false;
      const done = wait.settled(waitMs).finally(() => (settled = true));
      while (!settled) {
        await writer.write(encoder.encode(`: waiting for the assistant (${wait.phase().replace(/[\r\n]/g, ' ')})\n\n`));
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, keepaliveMs)))]);
        clearTimeout(timer);
      }
      const answer = await wait.answer();
      if (answer.ok && answer.body && (answer.headers.get('content-type') ?? '').includes('text/event-stream')) {
        writer.releaseLock();
        await answer.body.pipeTo(writable);
        return;
      }
      const text = (await answer.text()).trim();
      await writer.write(
        encoder.encode(
          `${(text || `HTTP ${answer.status}`)
            .split(/\r?\n/)
            .map((line) => `data: ${line}`)
            .join('\n')}\n\n`,
        ),
      );
      await writer.close();
    } catch (error) {
      // The client went away, or the gateway's stream broke: end ours the same way.
      await writer.abort(error).catch(() => undefined);
    }
  })();
  return new Response(readable, {
    status: 200,
    headers: secure(new Headers({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })),
  });
}
