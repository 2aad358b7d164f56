/**
 * Who is calling: a Cloudflare Access JWT (the `Cf-Access-Jwt-Assertion`
 * header, or the `CF_Authorization` cookie of a browser), verified with jose
 * against the team's signing keys (fetched from the certs endpoint, cached,
 * refetched on an unknown `kid`): RS256 only, issuer = the team domain,
 * audience = the Access application's AUD tag, expiry and not-before with a
 * small clock tolerance. Service tokens (CLI, automation) arrive as JWTs
 * whose `common_name` is the token's client id and that carry no email.
 *
 * The local development bypass exists only when AUTH_MODE=local and only for
 * loopback clients; any other configuration without Access fails closed. Under
 * `npm start` (which sets the secret LOCAL_OWNER_TOKEN) a loopback client must
 * also come through the owner gate, which vouches for the owner with that
 * secret in LOCAL_OWNER_HEADER: every account on the machine reaches
 * wrangler's port on loopback, only the owner gets through the gate.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Env } from '../env.ts';
import { AppError } from '../errors.ts';
import { LOCAL_OWNER_HEADER, sameSecret } from '../contract/local-host.ts';
import { oncePerEnv, setting } from '../settings.ts';

export interface AccessConfig {
  mode: 'access' | 'local';
  /** e.g. https://myteam.cloudflareaccess.com (no trailing slash). */
  teamDomain: string | null;
  /** The Access application's AUD tag. */
  audience: string | null;
  /** When non-empty, only these emails (case-insensitive). */
  allowedEmails: string[];
  /** When non-empty, only these service-token client ids. */
  allowedServiceTokens: string[];
  /** API routes a service token may use (`wake`, `sleep`, `status`, `cost`, `backup`, `resume`, …). */
  serviceTokenRoutes: string[];
  /** The identity of loopback clients in local mode (GATEWAY_USER). */
  localUser: string;
  /** Local mode under `npm start`: the secret the owner gate sends in LOCAL_OWNER_HEADER (null: loopback alone, as in the workerd tests). */
  localOwnerToken: string | null;
}

export type Identity = { kind: 'person'; email: string } | { kind: 'service-token'; clientId: string } | { kind: 'local'; name: string };

/** Longest JWT we read; Access tokens are ~1-2 KB. */
export const MAX_TOKEN_BYTES = 8 * 1024;
const CLOCK_TOLERANCE_S = 30;

const jwksCache = new Map<string, JWTVerifyGetKey>();

/** The team's key set, one per isolate (jose caches keys and refetches on an unknown kid). */
export function teamKeys(teamDomain: string): JWTVerifyGetKey {
  let keys = jwksCache.get(teamDomain);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    jwksCache.set(teamDomain, keys);
  }
  return keys;
}

export function identityName(identity: Identity): string {
  return identity.kind === 'person' ? identity.email : identity.kind === 'service-token' ? `service-token:${identity.clientId}` : identity.name;
}

function isLoopback(address: string | null): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}

function readToken(request: Request): string | null {
  const header = request.headers.get('cf-access-jwt-assertion');
  if (header !== null) return header.trim();
  const cookie = request.headers.get('cookie') ?? '';
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'CF_Authorization') return rest.join('=').trim();
  }
  return null;
}

/**
 * Authenticates a request. @throws AppError `unauthorized` (no or invalid
 * token), `forbidden` (valid but not allowed), `not_configured` (Access not
 * configured outside local mode: fail closed).
 */
export async function authenticate(request: Request, config: AccessConfig, keys?: JWTVerifyGetKey): Promise<Identity> {
  if (config.mode === 'local') {
    if (!isLoopback(request.headers.get('cf-connecting-ip'))) throw new AppError('forbidden', 'AUTH_MODE=local accepts loopback clients only');
    if (config.localOwnerToken !== null && !sameSecret(request.headers.get(LOCAL_OWNER_HEADER) ?? '', config.localOwnerToken)) {
      throw new AppError('unauthorized', "the local mode answers its owner only, through npm start's port (not wrangler's)");
    }
    return { kind: 'local', name: config.localUser };
  }
  if (!config.teamDomain || !config.audience) {
    throw new AppError('not_configured', 'Cloudflare Access is not configured (ACCESS_TEAM_DOMAIN and ACCESS_AUD): refusing every request');
  }
  const token = readToken(request);
  if (!token) throw new AppError('unauthorized', 'no Cloudflare Access token (Cf-Access-Jwt-Assertion header or CF_Authorization cookie)');
  if (token.length > MAX_TOKEN_BYTES) throw new AppError('unauthorized', 'the Access token is too large');
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new AppError('unauthorized', 'the Access token is malformed');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys ?? teamKeys(config.teamDomain), {
      issuer: config.teamDomain,
      audience: config.audience,
      algorithms: ['RS256'],
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (error) {
    const reason =
      error instanceof joseErrors.JWTExpired
        ? 'expired'
        : error instanceof joseErrors.JWTClaimValidationFailed
          ? `claim ${error.claim} is not valid`
          : error instanceof joseErrors.JWKSNoMatchingKey
            ? 'signed with an unknown key'
            : error instanceof joseErrors.JOSEAlgNotAllowed
              ? 'algorithm not allowed'
              : error instanceof joseErrors.JWSSignatureVerificationFailed
                ? 'bad signature'
                : 'not valid';
    throw new AppError('unauthorized', `the Access token is ${reason}`);
  }
  const email = typeof payload.email === 'string' ? payload.email : null;
  const commonName = typeof payload.common_name === 'string' ? payload.common_name : null;
  if (email) {
    if (config.allowedEmails.length && !config.allowedEmails.includes(email.toLowerCase())) throw new AppError('forbidden', `${email} is not allowed here`);
    return { kind: 'person', email };
  }
  if (commonName) {
    if (config.allowedServiceTokens.length && !config.allowedServiceTokens.includes(commonName))
      throw new AppError('forbidden', 'this service token is not allowed here');
    return { kind: 'service-token', clientId: commonName };
  }
  throw new AppError('forbidden', 'the Access token names neither a person nor a service token');
}

/** The SERVICE_TOKEN_ROUTES entry that lets a service token through to the gateway (chat, tools, Control UI): off by default. */
export const GATEWAY_ROUTE = 'gateway';

/** Whether `identity` may use the API route `route`, or GATEWAY_ROUTE (service tokens are limited to SERVICE_TOKEN_ROUTES). */
export function mayUse(identity: Identity, route: string, config: AccessConfig): boolean {
  return identity.kind !== 'service-token' || config.serviceTokenRoutes.includes(route);
}

/** Parsed once per env object (see oncePerEnv). */
export const parseAccessConfig = oncePerEnv(
  (
    env: Pick<
      Env,
      | 'AUTH_MODE'
      | 'ACCESS_TEAM_DOMAIN'
      | 'ACCESS_AUD'
      | 'ACCESS_ALLOWED_EMAILS'
      | 'ACCESS_SERVICE_TOKEN_IDS'
      | 'SERVICE_TOKEN_ROUTES'
      | 'GATEWAY_USER'
      | 'LOCAL_OWNER_TOKEN'
    >,
  ): AccessConfig => ({
    mode: setting(env, 'AUTH_MODE'),
    teamDomain: setting(env, 'ACCESS_TEAM_DOMAIN') || null,
    audience: setting(env, 'ACCESS_AUD') || null,
    allowedEmails: setting(env, 'ACCESS_ALLOWED_EMAILS'),
    allowedServiceTokens: setting(env, 'ACCESS_SERVICE_TOKEN_IDS'),
    serviceTokenRoutes: setting(env, 'SERVICE_TOKEN_ROUTES'),
    localUser: setting(env, 'GATEWAY_USER'),
    localOwnerToken: env.LOCAL_OWNER_TOKEN?.trim() || null,
  }),
);
