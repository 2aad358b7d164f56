/**
 * What a request must look like before anything else looks at it, against
 * hostile pages (CSRF, DNS rebinding) more than against hostile clients:
 * - its Host is one of PUBLIC_ORIGINS' hosts (a page that rebinds its own
 *   name to this Worker's address is refused);
 * - a state-changing request (any method but GET/HEAD/OPTIONS, and every
 *   WebSocket upgrade) comes from one of PUBLIC_ORIGINS — a browser says so
 *   with `Origin`; a client that sends no `Origin` (curl, clawctl) must not
 *   say it is cross-site (`Sec-Fetch-Site`);
 * - an API command carries `content-type: application/json` (a cross-site
 *   form or `text/plain` fetch cannot), checked where its body is read, with
 *   a byte limit enforced while it streams.
 */
import { boundedText } from '../contract/untrusted-input.ts';
import { AppError } from '../errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SAME_SITE_FETCHES = new Set(['same-origin', 'none']);

/**
 * Parses PUBLIC_ORIGINS (comma-separated `scheme://host[:port]`).
 * @throws AppError `not_configured` when empty or not origins.
 */
export function parsePublicOrigins(value: string | undefined): string[] {
  const origins = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length === 0)
    throw new AppError('not_configured', 'PUBLIC_ORIGINS is empty: set the origin(s) browsers use, e.g. https://openclaw-poc.example.com');
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new AppError('not_configured', `PUBLIC_ORIGINS: "${origin}" is not an origin (scheme://host[:port])`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.origin !== origin.replace(/\/+$/, '')) {
      throw new AppError('not_configured', `PUBLIC_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path)`);
    }
  }
  return origins.map((o) => o.replace(/\/+$/, ''));
}

/** @throws AppError `forbidden`: a Host this Worker does not serve, or a cross-site state-changing request. */
export function guardRequest(request: Request, origins: readonly string[]): void {
  const url = new URL(request.url);
  if (!origins.some((o) => new URL(o).host === url.host)) {
    throw new AppError('forbidden', `this Worker serves ${origins.join(', ')}, not ${url.host} (PUBLIC_ORIGINS)`);
  }
  const upgrade = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
  if (SAFE_METHODS.has(request.method) && !upgrade) return;
  const origin = request.headers.get('origin');
  if (origin !== null) {
    if (!origins.includes(origin)) throw new AppError('forbidden', `cross-site request from ${origin} refused`);
  } else {
    const site = request.headers.get('sec-fetch-site');
    if (site !== null && !SAME_SITE_FETCHES.has(site)) throw new AppError('forbidden', `cross-site request (Sec-Fetch-Site: ${site}) refused`);
  }
}

/**
 * An API command's body: JSON by its content type, at most `maxBytes`.
 * @throws AppError `unsupported_media_type` or `payload_too_large`.
 */
export async function readCommandBody(request: Request, maxBytes: number): Promise<string> {
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
    throw new AppError('unsupported_media_type', 'API commands must be sent as content-type: application/json (an empty body is fine: {})');
  }
  return readLimited(request, maxBytes);
}

/**
 * Reads a body as text, at most `maxBytes`, whatever Content-Length says:
 * the stream is cancelled as soon as it passes the limit.
 * @throws AppError `payload_too_large`.
 */
export async function readLimited(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new AppError('payload_too_large', `body larger than ${maxBytes} bytes`);
  try {
    return await boundedText(request.body, maxBytes);
  } catch (error) {
    if (error instanceof RangeError) throw new AppError('payload_too_large', `body larger than ${maxBytes} bytes`);
    throw error;
  }
}
