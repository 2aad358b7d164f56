/**
 * Cloudflare Access verification in workerd, against a local team whose
 * signing keys are served on loopback: only valid RS256 tokens for this
 * application's audience get in; everything else is a 401/403, never a 500,
 * and rejected requests leave the assistant's state as it was.
 */
import { env } from 'cloudflare:workers';
import { SignJWT, base64url, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { authenticate, parseAccessConfig, type AccessConfig } from '../../src/auth/access.ts';
import type { Env } from '../../src/env.ts';
import { AUD, TEAM, fetchAs, loadTeam, token } from './access-team.ts';

let team: string;
let config: AccessConfig;

const now = () => Math.floor(Date.now() / 1000);

function request(headers: Record<string, string> = {}, path = '/api/status', init: RequestInit = {}): Request {
  // API commands are JSON; a GET carries no body.
  const json: Record<string, string> = init.method && init.method !== 'GET' ? { 'content-type': 'application/json' } : {};
  return new Request(`https://poc.example.com${path}`, { ...init, headers: { ...json, ...headers } });
}

describe('Cloudflare Access (workerd)', () => {
  beforeAll(async () => {
    await loadTeam();
    team = TEAM.url;
    config = parseAccessConfig({ AUTH_MODE: 'access', ACCESS_TEAM_DOMAIN: team, ACCESS_AUD: AUD });
  });

  describe('authenticate', () => {
    it('should accept a valid token for a person, from the header and from the cookie', async () => {
      const jwt = await token({ email: 'owner@example.com', sub: 'u1' });
      expect(await authenticate(request({ 'cf-access-jwt-assertion': jwt }), config)).toEqual({ kind: 'person', email: 'owner@example.com' });
      expect(await authenticate(request({ cookie: `a=b; CF_Authorization=${jwt}; c=d` }), config)).toEqual({ kind: 'person', email: 'owner@example.com' });
    });

    it('should accept a service token (common_name, no email)', async () => {
      const jwt = await token({ common_name: 'abc123.access', sub: '' });
      expect(await authenticate(request({ 'cf-access-jwt-assertion': jwt }), config)).toEqual({ kind: 'service-token', clientId: 'abc123.access' });
    });

    const rejected: Array<[string, () => Promise<Record<string, string>>]> = [
      ['missing', async () => ({})],
      ['expired', async () => ({ 'cf-access-jwt-assertion': await token({ email: 'a@b.c', exp: now() - 3600, iat: now() - 7200 }) })],
      ['not yet valid', async () => ({ 'cf-access-jwt-assertion': await token({ email: 'a@b.c', nbf: now() + 3600 }) })],
      ['wrong audience', async () => ({ 'cf-access-jwt-assertion': await token({ email: 'a@b.c', aud: 'another-app' }) })],
      ['wrong issuer', async () => ({ 'cf-access-jwt-assertion': await token({ email: 'a@b.c', iss: 'https://evil.cloudflareaccess.com' }) })],
      [
        'bad signature',
        async () => {
          const other = await generateKeyPair('RS256');
          return { 'cf-access-jwt-assertion': await token({ email: 'a@b.c' }, {}, other.privateKey) };
        },
      ],
      [
        'alg none',
        async () => {
          const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
          const p = base64url.encode(JSON.stringify({ email: 'a@b.c', iss: team, aud: AUD, exp: now() + 300, iat: now() }));
          return { 'cf-access-jwt-assertion': `${h}.${p}.` };
        },
      ],
      [
        'HS256 with the public key as secret',
        async () => {
          const secret = new TextEncoder().encode(inject('accessPublicJwk'));
          const jwt = await new SignJWT({ email: 'a@b.c' })
            .setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' })
            .setIssuer(team)
            .setAudience(AUD)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(secret);
          return { 'cf-access-jwt-assertion': jwt };
        },
      ],
      ['unknown kid', async () => ({ 'cf-access-jwt-assertion': await token({ email: 'a@b.c' }, { kid: 'rotated-away' }) })],
      ['malformed', async () => ({ 'cf-access-jwt-assertion': 'not.a.jwt!!' })],
      ['garbage cookie', async () => ({ cookie: 'CF_Authorization=%%%' })],
      ['oversized', async () => ({ 'cf-access-jwt-assertion': `${'a'.repeat(6000)}.${'b'.repeat(6000)}.c` })],
    ];
    it.each(rejected)('should reject a token that is %s with 401', async (_name, headers) => {
      await expect(authenticate(request(await headers()), config)).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    });

    it('should refuse a person not on ACCESS_ALLOWED_EMAILS and a service token not on ACCESS_SERVICE_TOKEN_IDS with 403', async () => {
      const strict = parseAccessConfig({
        AUTH_MODE: 'access',
        ACCESS_TEAM_DOMAIN: team,
        ACCESS_AUD: AUD,
        ACCESS_ALLOWED_EMAILS: 'Owner@Example.com',
        ACCESS_SERVICE_TOKEN_IDS: 'cli.access',
      });
      expect(await authenticate(request({ 'cf-access-jwt-assertion': await token({ email: 'owner@example.com' }) }), strict)).toMatchObject({ kind: 'person' });
      await expect(authenticate(request({ 'cf-access-jwt-assertion': await token({ email: 'other@example.com' }) }), strict)).rejects.toMatchObject({
        code: 'forbidden',
      });
      await expect(authenticate(request({ 'cf-access-jwt-assertion': await token({ common_name: 'other.access' }) }), strict)).rejects.toMatchObject({
        code: 'forbidden',
      });
    });

    it('should fail closed when Access is not configured, and allow the local bypass only for loopback clients', async () => {
      await expect(authenticate(request({}), parseAccessConfig({}))).rejects.toMatchObject({ code: 'not_configured' });
      const local = parseAccessConfig({ AUTH_MODE: 'local' });
      expect(await authenticate(request({ 'cf-connecting-ip': '127.0.0.1' }), local)).toMatchObject({ kind: 'local' });
      await expect(authenticate(request({ 'cf-connecting-ip': '203.0.113.9' }), local)).rejects.toMatchObject({ code: 'forbidden' });
      await expect(authenticate(request({}), local)).rejects.toMatchObject({ code: 'forbidden' });
    });
  });

  describe('Worker routes behind Access', () => {
    it('should send a browser without a token to the Access login, and answer an API client 401 JSON', async () => {
      const page = await fetchAs(request({ accept: 'text/html' }, '/'));
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toBe(`${team}/cdn-cgi/access/login/poc.example.com?kid=${AUD}&redirect_url=%2F`);
      const api = await fetchAs(request({}, '/api/wake', { method: 'POST' }));
      expect(api.status).toBe(401);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    });

    it('should let a service token use the configured routes only', async () => {
      const jwt = await token({ common_name: 'cli.access' });
      const status = await fetchAs(request({ 'cf-access-jwt-assertion': jwt }, '/api/status'));
      expect(status.status).toBe(200);
      const hibernate = await fetchAs(request({ 'cf-access-jwt-assertion': jwt }, '/api/hibernate', { method: 'POST' }));
      expect(hibernate.status).toBe(403);
    });

    it('should answer a configuration error page, not the assistant, when Access is missing in production', async () => {
      const page = await fetchAs(request({ accept: 'text/html' }, '/'), { ...(env as unknown as Env), AUTH_MODE: 'access' } as Env);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('Cloudflare Access is not configured');
    });

    it('should answer hostile requests with 4xx only and leave the state unchanged', async () => {
      const before = (await (await fetchAs(request({ 'cf-access-jwt-assertion': await token({ email: 'o@example.com' }) }))).json()) as AgentStatus;
      const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
      const paths = [
        '/',
        '/api/wake',
        '/api/sleep',
        '/api/stop',
        '/api/hibernate',
        '/api/resume',
        '/api/backup',
        '/api/status',
        '/api/cost',
        '/api/../api/wake',
        '/api/%2e%2e/wake',
        '/%00',
        `/${'a'.repeat(4000)}`,
        `/api/wake?x=${'%'.repeat(10)}`,
        '/v1/chat/completions',
      ];
      const headerSets: Array<Record<string, string>> = [
        {},
        { 'cf-access-jwt-assertion': '' },
        { 'cf-access-jwt-assertion': 'x'.repeat(20_000) },
        { cookie: `CF_Authorization=${'y'.repeat(9000)}` },
        { 'cf-access-jwt-assertion': 'a.b.c', 'content-type': 'application/json' },
        { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
        { 'x-ondemand-identity': 'owner', 'x-openclaw-user': 'owner', 'cf-connecting-ip': '127.0.0.1' },
      ];
      const bodies = [undefined, '{', '[]', 'null', JSON.stringify({ reason: 42 }), 'x'.repeat(100_000)];
      let count = 0;
      const fiveHundreds: string[] = [];
      for (const method of methods) {
        for (const path of paths) {
          for (const headers of headerSets) {
            const body = method === 'GET' || method === 'HEAD' ? undefined : bodies[count % bodies.length];
            count += 1;
            const r = await fetchAs(new Request(`https://poc.example.com${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
            if (r.status >= 500) fiveHundreds.push(`${method} ${path.slice(0, 40)} ${JSON.stringify(headers).slice(0, 60)} → ${r.status}`);
            expect(r.status).toBeGreaterThanOrEqual(300);
            await r.body?.cancel();
          }
        }
      }
      expect(count).toBeGreaterThan(600);
      expect(fiveHundreds).toEqual([]);
      const after = (await (await fetchAs(request({ 'cf-access-jwt-assertion': await token({ email: 'o@example.com' }) }))).json()) as AgentStatus;
      expect(after.state).toBe(before.state);
      expect(after.since).toBe(before.since);
      expect(after.history).toEqual(before.history);
    });
  });
});
