/**
 * The local stand-in of a Cloudflare Access team for workerd tests: its
 * signing key (served as JWKS by the global setup), tokens signed with it,
 * and the Worker configured to trust it.
 */
import { env, exports } from 'cloudflare:workers';
import { SignJWT, importJWK, type JWK } from 'jose';
import { inject } from 'vitest';
import type { Env } from '../../src/env.ts';
import { buildRouter } from '../../src/router.ts';

export const AUD = 'test-application-aud-0123456789';
export const TEAM = { url: '', key: null as CryptoKey | null };

const now = () => Math.floor(Date.now() / 1000);

/** Loads the team's URL and signing key (call in beforeAll). */
export async function loadTeam(): Promise<void> {
  TEAM.url = inject('analyticsUrl');
  TEAM.key = (await importJWK(JSON.parse(inject('accessPrivateJwk')) as JWK, 'RS256')) as CryptoKey;
}

/** An Access JWT of the team (claims and header can be overridden; null drops iss/aud). */
export async function token(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signWith: CryptoKey | Uint8Array = TEAM.key as CryptoKey,
): Promise<string> {
  const { iss = TEAM.url, aud = AUD, exp = now() + 300, iat = now(), ...rest } = claims;
  let jwt = new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', ...header })
    .setIssuedAt(iat as number)
    .setExpirationTime(exp as number);
  if (iss !== null) jwt = jwt.setIssuer(iss as string);
  if (aud !== null) jwt = jwt.setAudience(aud as string);
  return jwt.sign(signWith);
}

/** The Worker's environment in Access mode with this team. */
export const accessEnv = (extra: Partial<Env> = {}): Env =>
  ({ ...(env as unknown as Env), AUTH_MODE: 'access', ACCESS_TEAM_DOMAIN: TEAM.url, ACCESS_AUD: AUD, ...extra }) as Env;

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const router = buildRouter();

/** The Worker's fetch with an environment of the test's choice. */
export const fetchAs = (req: Request, e: Env = accessEnv()) => router.fetch(req as never, e, ctx) as Promise<Response>;

/** A request to the Worker as the local mode's owner: a loopback client, no cookie at all. */
export function fetchLocal(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('cf-connecting-ip', '127.0.0.1');
  return (exports as unknown as { default: Fetcher }).default.fetch(`https://poc.example.com${path}`, { ...init, headers });
}
