/**
 * The contract between the local mode's Worker side (LocalRuntime) and the
 * local dev host (container/host/): a per-run secret that `npm start`
 * generates and gives only to the two of them.
 *
 * - Every call to the local host carries it as `authorization: Bearer <token>`.
 * - The local gateway trusts a proxy request only when it carries the header
 *   named by proxyHeaderName(token): OpenClaw's trusted-proxy mode checks that
 *   required headers are present (not their values), so the secret is in the
 *   header's name. A process that does not know the token cannot pose as the
 *   Worker, even from loopback.
 */

/** The Worker's variable (a secret, from the per-run env file) that holds the token. */
export const LOCAL_HOST_TOKEN_NAME = 'LOCAL_HOST_TOKEN';

/**
 * The owner gate (container/host/owner-gate.ts, on `npm start`'s public port)
 * forwards only the owner's requests to the Worker, each with this header set
 * to the run's owner secret (the Worker's secret LOCAL_OWNER_TOKEN, from the
 * same env file); the Worker in local mode answers nothing without it, so
 * wrangler's own port, open to every account on loopback, answers nobody else.
 * Its `x-ondemand-` prefix keeps it from the gateway (src/runtime/gateway-request.ts).
 */
export const LOCAL_OWNER_HEADER = 'x-ondemand-local-owner';

/** The header only the Worker sends to the local gateway (derived, so the header name does not reveal the token). */
export async function proxyHeaderName(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`openclaw-ondemand proxy header\0${token}`));
  const hex = [...new Uint8Array(digest)]
    .slice(0, 12)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  return `x-ondemand-proxy-${hex}`;
}

/** Constant-time comparison of two strings (the bearer token). */
export function sameSecret(given: string, expected: string): boolean {
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
}
