/**
 * The local mode's egress route: what the Containers platform's outbound
 * handler is in production. The local dev host's egress proxy (the
 * gateway's HTTPS_PROXY, container/host/egress-proxy.ts) terminates TLS for
 * the hosts the Worker holds credentials for and hands each request here as
 * `/_ondemand/egress/<host><path>`; the Worker then does what production
 * does (egressFetch: the real credential, the GitHub scope, the model
 * budget and meter). Only the owner reaches it (the owner gate), and only in
 * the local mode.
 */
import { LOCAL_OWNER_HEADER } from '../contract/local-host.ts';
import type { Env } from '../env.ts';
import { AppError, parseJsonObject } from '../errors.ts';
import { setting } from '../settings.ts';
import { egressHosts } from './credentials.ts';
import { type EgressAgent, egressFetch } from './egress-handler.ts';

export const LOCAL_EGRESS_PREFIX = '/_ondemand/egress/';

/** Where the local gateway's egress proxy sends a host's requests (the Worker's origin + this route). */
export function localEgressUrl(publicOrigin: string): string {
  return `${publicOrigin.replace(/\/$/, '')}${LOCAL_EGRESS_PREFIX.slice(0, -1)}`;
}

/**
 * LOCAL_EGRESS_UPSTREAMS: for tests and development, where a host's requests
 * go instead of the internet (a loopback origin, e.g. the bundled mock model).
 * @throws AppError `not_configured` naming what is wrong.
 */
export function parseUpstreams(value: string): Map<string, string> {
  if (!value.trim()) return new Map();
  const parsed = parseJsonObject(value, 'not_configured', {
    notJson: 'LOCAL_EGRESS_UPSTREAMS is not valid JSON',
    notObject: 'LOCAL_EGRESS_UPSTREAMS must be an object',
  });
  const out = new Map<string, string>();
  for (const [host, origin] of Object.entries(parsed)) {
    if (typeof origin !== 'string' || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test(origin)) {
      throw new AppError('not_configured', `LOCAL_EGRESS_UPSTREAMS["${host}"] must be a loopback origin such as http://127.0.0.1:8080`);
    }
    out.set(host.toLowerCase(), origin);
  }
  return out;
}

/** Answers `/_ondemand/egress/<host><path>` (local mode only) with the same handler as production's outbound one. */
export async function localEgress(request: Request, env: Env, ctx: ExecutionContext, agent: EgressAgent): Promise<Response> {
  if (setting(env, 'AUTH_MODE') !== 'local')
    throw new AppError('not_found', 'the egress route is the local mode’s; production egress is the container’s outbound handler');
  const url = new URL(request.url);
  const rest = url.pathname.slice(LOCAL_EGRESS_PREFIX.length);
  const slash = rest.indexOf('/');
  const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  const egress = egressHosts(env).get(host);
  if (!egress) throw new AppError('forbidden', `${host || '(none)'} is not a host the Worker holds a credential for`);
  const target = new URL(`https://${host}${slash < 0 ? '/' : rest.slice(slash)}${url.search}`);
  const headers = new Headers(request.headers);
  headers.delete(LOCAL_OWNER_HEADER);
  const upstreams = parseUpstreams(setting(env, 'LOCAL_EGRESS_UPSTREAMS'));
  const forwarded = new Request(target, { method: request.method, headers, body: request.body, redirect: 'manual' });
  return egressFetch(forwarded, egress, {
    env,
    agent,
    waitUntil: (work) => ctx.waitUntil(work),
    fetch: (out) => {
      const origin = upstreams.get(host);
      if (!origin) return fetch(out);
      const there = new URL(out.url);
      return fetch(new Request(`${origin}${there.pathname}${there.search}`, out));
    },
  });
}
