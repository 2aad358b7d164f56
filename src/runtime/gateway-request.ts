/**
 * The request the gateway receives: the client's request with every header
 * a client could use to pose as the proxy removed, and the proxy's own
 * identity headers added. The gateway runs in trusted-proxy mode: it trusts
 * `x-openclaw-user` from the Worker (the only way in) instead of asking each
 * browser for the gateway token and a device pairing.
 */

/** Header names (lowercase) that only the Worker may set on the way to the gateway. */
const PROXY_OWNED = /^(x-openclaw-|x-ondemand-|x-forwarded-|forwarded$|x-real-ip$|authorization$|cf-access-)/;
/**
 * Address reported for a client whose address is loopback or unknown (local
 * mode): the gateway requires a non-loopback client address from its proxy.
 * 192.0.2.1 is TEST-NET-1, reserved for documentation, never a real client.
 */
export const LOCAL_CLIENT_ADDRESS = '192.0.2.1';

export interface GatewayIdentity {
  /** Who the Worker authenticated (an email, a service token's name, or the local user). */
  user: string;
}

function clientAddress(request: Request): string {
  const address = request.headers.get('cf-connecting-ip')?.trim() ?? '';
  if (!address || address === '::1' || address.startsWith('127.') || address === 'localhost') return LOCAL_CLIENT_ADDRESS;
  return address;
}

/**
 * The Cookie header without Cloudflare's own cookies, whatever their case or
 * suffix: every name that begins with `CF_` (`CF_Authorization`, the
 * replayable Access session, and its numbered parts `CF_Authorization_1`, …;
 * `CF_AppSession`, `CF_Binding`, `cf_clearance`, …) or `__cf` (`__cf_bm`,
 * `__cflb`, `__cfruid`, …). The gateway and the agent's tools beside it have
 * no use for them. Null when none is left.
 */
export function withoutCloudflareCookies(cookie: string | null): string | null {
  if (!cookie) return null;
  const cloudflare = /^(?:cf_|__cf)/i;
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !cloudflare.test((c.split('=', 1)[0] ?? '').trim()));
  return kept.length ? kept.join('; ') : null;
}

/** Builds the gateway-bound copy of `request` (body, method and WebSocket upgrade kept). */
export function gatewayRequest(request: Request, identity: GatewayIdentity): Request {
  const headers = new Headers();
  for (const [name, value] of request.headers) if (!PROXY_OWNED.test(name.toLowerCase()) && name.toLowerCase() !== 'cookie') headers.set(name, value);
  const cookie = withoutCloudflareCookies(request.headers.get('cookie'));
  if (cookie) headers.set('cookie', cookie);
  const url = new URL(request.url);
  headers.set('x-openclaw-user', identity.user);
  headers.set('x-openclaw-proxy', 'openclaw-ondemand');
  headers.set('x-forwarded-for', clientAddress(request));
  headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
  headers.set('x-forwarded-host', url.host);
  return new Request(request, { headers });
}
