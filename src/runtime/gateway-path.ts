/**
 * One reading of a request path for routing, auth and proxying: the forms
 * the OpenClaw gateway itself reads it as. The gateway matches its routes
 * against every candidate of a path (lowercased, percent-decoded again and
 * again, dot-segments resolved, repeated slashes merged, a trailing slash
 * dropped), so `/API/v1/admin/rpc`, `/_ondemand/..%2Fapi/v1/admin/rpc` and
 * `/x/%252e%252e/api/…` all reach its `/api/…` routes. The Worker decides on
 * the same candidates: a path is the gateway's only when no candidate falls
 * into a namespace the Worker keeps for itself.
 */
import { AppError } from '../errors.ts';

/** Decoding passes before a path counts as built to evade (the gateway's own limit). */
const MAX_DECODE_PASSES = 32;

function mergeSlashes(pathname: string): string {
  const collapsed = pathname.replace(/\/{2,}/g, '/');
  return collapsed.length <= 1 ? collapsed : collapsed.replace(/\/+$/, '');
}

function resolveDotSegments(pathname: string): string {
  try {
    return new URL(pathname, 'http://localhost').pathname;
  } catch {
    return pathname;
  }
}

/** The gateway's own normalization (a path that starts `//` reads as a host there, e.g. `//api/x` → `/x`). */
function normalize(pathname: string): string {
  return mergeSlashes(resolveDotSegments(pathname).toLowerCase()) || '/';
}

export interface PathCandidates {
  /** Every form the gateway may match (and a few stricter ones), the raw one first. */
  candidates: string[];
  /** Still decoding after MAX_DECODE_PASSES passes: a path no client needs. */
  decodeLimitReached: boolean;
}

/** The candidates the gateway reads a path as. */
export function pathCandidates(pathname: string): PathCandidates {
  const candidates: string[] = [];
  const push = (value: string) => {
    // The gateway's form, and a stricter one with slashes merged first (`//api/x` → `/api/x`): refusing more is safe.
    for (const n of [normalize(value), normalize(mergeSlashes(value))]) if (!candidates.includes(n)) candidates.push(n);
  };
  push(pathname);
  let decoded = pathname;
  for (let pass = 0; pass < MAX_DECODE_PASSES; pass++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return { candidates, decodeLimitReached: false };
    }
    if (next === decoded) return { candidates, decodeLimitReached: false };
    decoded = next;
    push(decoded);
  }
  let more = false;
  try {
    more = decodeURIComponent(decoded) !== decoded;
  } catch {
    more = false;
  }
  return { candidates, decodeLimitReached: more };
}

/** Path prefixes (lowercase, no trailing slash) the Worker keeps for itself: never the gateway's. */
export const WORKER_NAMESPACES = ['/api', '/_ondemand', '/__ondemand-cdp'] as const;
export type WorkerNamespace = (typeof WORKER_NAMESPACES)[number];

/** Whether a normalized candidate is `prefix` or below it (`/api`, `/api/…`, and `/api%…` which the gateway also reads as below). */
function under(candidate: string, prefix: string): boolean {
  return candidate === prefix || candidate.startsWith(`${prefix}/`) || candidate.startsWith(`${prefix}%`);
}

/**
 * Whose a path is: the Worker namespace any of its candidates falls into
 * (the first of WORKER_NAMESPACES that matches), `refused` for a path that
 * decodes on past the gateway's limit, else `gateway`.
 */
export function pathOwner(pathname: string): WorkerNamespace | 'gateway' | 'refused' {
  const { candidates, decodeLimitReached } = pathCandidates(pathname);
  if (decodeLimitReached) return 'refused';
  for (const namespace of WORKER_NAMESPACES) if (candidates.some((c) => under(c, namespace))) return namespace;
  return 'gateway';
}

/** The error for a path that decodes on past the gateway's limit. */
export function overEncoded(): AppError {
  return new AppError('bad_request', 'the path is percent-encoded too many times over');
}

/**
 * For what is about to be proxied to the gateway. @throws AppError
 * `not_found` when the gateway would read the path as one of the Worker's
 * (its admin RPC under `/api` among them), `bad_request` when it decodes on
 * past the gateway's limit.
 */
export function assertGatewayPath(url: URL): void {
  const owner = pathOwner(url.pathname);
  if (owner === 'refused') throw overEncoded();
  if (owner !== 'gateway')
    throw new AppError(
      'not_found',
      `the gateway would read this path as ${owner}, which belongs to this Worker: only its literal paths are served, and nothing under it is proxied`,
    );
}
