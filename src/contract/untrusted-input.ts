/**
 * Readers for what the container answers (the gateway's admin RPC, its
 * status files): the container is untrusted, so every value is checked for
 * its type, clamped to a range and bounded in size before the Agent keeps
 * or uses it. A value that does not fit reads as the fallback, never as
 * NaN, an invalid date, a negative duration or an unbounded string.
 */

/** Times outside these bounds are not times a job runs at (and some would not make a Date). */
export const EARLIEST_TIME_MS = Date.UTC(2000, 0, 1);
export const LATEST_TIME_MS = Date.UTC(2200, 0, 1);

/** A finite number within [min, max], else null. */
export function numberIn(value: unknown, min: number, max: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : null;
}

/** A finite number clamped into [min, max]; anything else (NaN, a string, null) reads as `fallback`. */
export function clamped(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/** A time in ms since the epoch between EARLIEST_TIME_MS and LATEST_TIME_MS, else null. */
export function timeMs(value: unknown): number | null {
  return numberIn(value, EARLIEST_TIME_MS, LATEST_TIME_MS);
}

/** A string (numbers and booleans as written) of at most `maxChars` characters; anything else reads as `fallback`. */
export function text(value: unknown, maxChars: number, fallback = ''): string {
  const s = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : fallback;
  return s.length > maxChars ? s.slice(0, maxChars) : s;
}

/** The first `max` items of an array; anything else reads as no items. */
export function items(value: unknown, max: number): unknown[] {
  return Array.isArray(value) ? value.slice(0, max) : [];
}

/** A plain object (not an array, not null), else an empty one. */
export function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * A body read to at most `maxBytes` bytes. @throws RangeError when the
 * body is longer (its reading is cancelled there).
 */
export async function boundedText(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new RangeError(`the answer is longer than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
