/**
 * What a hostile web page, a rebound host name or a limited service token
 * can try against the Worker, replayed in workerd in the local mode (no
 * cookie needed there) and behind Access (with the owner's cookie): each is
 * refused, and nothing the Worker serves itself can be framed.
 */
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { fakeContainer } from '../support/fake-container.ts';
import { accessEnv, fetchAs, loadTeam, token, fetchLocal } from './access-team.ts';
import { SETTLED } from './settled.ts';

const BASE = 'https://poc.example.com';
const worker = () => (exports as unknown as { default: Fetcher }).default;
/** The local mode: loopback clients, no cookie at all. */
const local = fetchLocal;
const errorCode = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;
const status = async () => (await (await local('/api/status')).json()) as AgentStatus;

describe('hostile requests (workerd)', () => {
  beforeAll(async () => {
    await loadTeam();
    fakeContainer('default').bootProbes = 1;
  });

  describe("the gateway's admin RPC (the Agent's own control channel)", () => {
    it('should be answered by the Worker itself and never reach the gateway, whoever asks', async () => {
      await local('/api/wake', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await vi.waitFor(async () => expect((await status()).state).toBe('ready'), SETTLED);
      const before = fakeContainer('default').rpc.length;
      const call = JSON.stringify({ method: 'config.apply', params: { raw: '{}' } });
      const asOwner = await local('/api/v1/admin/rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: call });
      expect(asOwner.status).toBe(404);
      const jwt = await token({ common_name: 'clawctl.access', email: undefined });
      const withToken = await fetchAs(
        new Request(`${BASE}/api/v1/admin/rpc`, {
          method: 'POST',
          headers: { 'cf-access-jwt-assertion': jwt, 'content-type': 'application/json' },
          body: call,
        }),
        accessEnv({ SERVICE_TOKEN_ROUTES: 'gateway,status' }),
      );
      expect([403, 404]).toContain(withToken.status);
      expect(fakeContainer('default').rpc.length).toBe(before);
      expect(fakeContainer('default').requests.some((r) => r.includes('/api/v1/admin'))).toBe(false);
    });
  });

  describe('cross-site commands (CSRF)', () => {
    it('should refuse a text/plain command a page can send without a preflight, and a command from another origin', async () => {
      const before = await status();
      const plain = await local('/api/hibernate', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"reason":"csrf"}' });
      expect(plain.status).toBe(415);
      expect(await errorCode(plain)).toBe('unsupported_media_type');
      const foreign = await local('/api/hibernate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{}',
      });
      expect(foreign.status).toBe(403);
      const fetchMetadata = await local('/api/wake', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
        body: '{}',
      });
      expect(fetchMetadata.status).toBe(403);
      const after = await status();
      expect(after.history).toEqual(before.history);
      expect(after.state).toBe(before.state);
    });

    it('should take a command from its own origin, and from a client that sends no Origin (curl, clawctl)', async () => {
      const own = await local('/api/stop', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BASE, 'sec-fetch-site': 'same-origin' },
        body: '{}',
      });
      expect(own.status).toBe(202);
      const cli = await local('/api/stop', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(cli.status).toBe(202);
    });

    it("should refuse, behind Access with the owner's cookie, a cross-site resume that would override the budget", async () => {
      const cookie = `CF_Authorization=${await token({ email: 'owner@example.com' })}`;
      const forged = await fetchAs(
        new Request(`${BASE}/api/resume`, {
          method: 'POST',
          headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
          body: '{"override":true}',
        }),
      );
      expect(forged.status).toBe(403);
      const plain = await fetchAs(
        new Request(`${BASE}/api/resume`, { method: 'POST', headers: { cookie, 'content-type': 'text/plain' }, body: '{"override":true}' }),
      );
      expect(plain.status).toBe(415);
    });

    it('should refuse a cross-site WebSocket to the gateway', async () => {
      const ws = await local('/ws', { headers: { upgrade: 'websocket', origin: 'https://evil.example' } });
      expect(ws.status).toBe(403);
    });
  });

  describe('Host (DNS rebinding)', () => {
    it('should answer only the hosts of PUBLIC_ORIGINS', async () => {
      const rebound = await worker().fetch('https://evil.example/api/status', { headers: { 'cf-connecting-ip': '127.0.0.1' } });
      expect(rebound.status).toBe(403);
      expect(await errorCode(rebound)).toBe('forbidden');
      const page = await worker().fetch('http://attacker.test:8787/', { headers: { 'cf-connecting-ip': '127.0.0.1', accept: 'text/html' } });
      expect(page.status).toBe(403);
    });
  });

  describe('service tokens', () => {
    it('should keep a service token out of the gateway unless SERVICE_TOKEN_ROUTES lists "gateway"', async () => {
      const jwt = await token({ common_name: 'cli.access' });
      const refused = await fetchAs(
        new Request(`${BASE}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'cf-access-jwt-assertion': jwt, 'content-type': 'application/json' },
          body: '{}',
        }),
      );
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('gateway');
      const page = await fetchAs(new Request(`${BASE}/_ondemand/`, { headers: { 'cf-access-jwt-assertion': jwt } }));
      expect(page.status).toBe(200);
      const allowed = await fetchAs(
        new Request(`${BASE}/v1/models`, { headers: { 'cf-access-jwt-assertion': jwt } }),
        accessEnv({ SERVICE_TOKEN_ROUTES: 'status,gateway' }),
      );
      expect(allowed.status).not.toBe(403);
      await allowed.body?.cancel();
    });
  });

  describe("the Worker's own pages", () => {
    it('should forbid framing and sniffing on every page and JSON answer it writes', async () => {
      const answers = [
        await local('/_ondemand/', { headers: { accept: 'text/html' } }),
        await local('/api/status'),
        await local('/api/nope'),
        await fetchAs(new Request(`${BASE}/`, { headers: { accept: 'text/html' } }), accessEnv({ ACCESS_AUD: '' })), // the configuration error page
      ];
      for (const r of answers) {
        expect(r.headers.get('x-frame-options')).toBe('DENY');
        expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        await r.body?.cancel();
      }
    });
  });

  describe('bodies', () => {
    it('should stop reading a chunked command body at the limit, not after 60 MB', async () => {
      let pulled = 0;
      const chunk = new Uint8Array(64 * 1024).fill(32);
      const body = new ReadableStream({
        pull(controller) {
          if (pulled >= 60 * 1024 * 1024) return controller.close();
          pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const r = await local('/api/sleep', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
      expect(r.status).toBe(413);
      expect(pulled).toBeLessThan(1024 * 1024);
    });
  });

  describe('cookies', () => {
    it("should hand the gateway none of Cloudflare's cookies (the Access session, its numbered parts, bot and load-balancer cookies), whatever their case", async () => {
      const jwt = await token({ email: 'owner@example.com' });
      await fetchAs(
        new Request(`${BASE}/api/wake`, { method: 'POST', headers: { cookie: `CF_Authorization=${jwt}`, 'content-type': 'application/json' }, body: '{}' }),
      );
      await vi.waitFor(async () => expect((await status()).state).toBe('ready'), SETTLED);
      const cloudflare = [
        `CF_Authorization=${jwt}`,
        `CF_Authorization_2=${jwt}`,
        `cf_authorization_1=${jwt}`,
        'CF_AppSession=abc',
        'cf_clearance=clear',
        '__cf_bm=bm',
        '__cflb=lb',
        '__cfruid=ruid',
        `CF_Authorization =${jwt}`,
      ];
      const proxied = await fetchAs(new Request(`${BASE}/v1/models`, { headers: { cookie: [...cloudflare, 'theme=dark'].join('; ') } }));
      expect(proxied.status).toBe(200);
      const seen = (await proxied.json()) as { cookie: string | null; user: string };
      expect(seen.user).toBe('owner@example.com');
      expect(seen.cookie).toBe('theme=dark');
    });
  });
});
