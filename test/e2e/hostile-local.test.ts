/**
 * The local mode as a hostile page or another local process sees it (the
 * stack `npm start` runs, with the stand-in gateway): its dev host runs
 * nothing and hands out nothing without the run's secret, takes no
 * environment that would run code, and the Worker answers neither a rebound
 * host name nor a cross-site command.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHostToken, startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';

/** A request with a Host header of our choice (fetch cannot set one). */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('hostile requests against the local mode', () => {
  let stack: LocalStack;
  let marker: string;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo' });
    marker = join(mkdtempSync(join(tmpdir(), 'hostile-')), 'pwned');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(join(marker, '..'), { recursive: true, force: true });
  });

  it("should run nothing for a page or process without the run's secret (text/plain start with GATEWAY_COMMAND)", async () => {
    const r = await fetch(`${stack.hostUrl}/agents/default/start`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ attempt: 1, env: { GATEWAY_COMMAND: `touch ${marker}`, NODE_OPTIONS: '--import=data:text/javascript,process.exit()' } }),
    });
    expect(r.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(marker)).toBe(false);
  });

  it('should hand out no backup and restore nothing without the secret', async () => {
    expect((await fetch(`${stack.hostUrl}/agents/default/backup`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${stack.hostUrl}/agents/default/prepare`, { method: 'POST', headers: { 'x-backup-sha256': 'f'.repeat(64) }, body: 'x' })).status).toBe(
      401,
    );
  });

  it('should refuse a rebound host name, even with the secret', async () => {
    const token = localHostToken(stack);
    const port = new URL(stack.hostUrl).port;
    const r = await rawRequest(`${stack.hostUrl}/agents/default`, { headers: { host: `evil.example:${port}`, authorization: `Bearer ${token}` } });
    expect(r.status).toBe(421);
  });

  it('should take from a start only the environment the Worker sends, and only as JSON', async () => {
    const token = localHostToken(stack);
    const hostile = await fetch(`${stack.hostUrl}/agents/default/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ attempt: 1, env: { GATEWAY_COMMAND: `touch ${marker}`, PATH: '/tmp', LD_PRELOAD: '/tmp/x.so' } }),
    });
    expect(hostile.status).toBe(400);
    expect(await hostile.text()).toMatch(/GATEWAY_COMMAND.*PATH.*LD_PRELOAD/);
    const plain = await fetch(`${stack.hostUrl}/agents/default/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
    expect(existsSync(marker)).toBe(false);
  });

  it('should not answer the Worker under a rebound host name, nor take a cross-site command', async () => {
    const port = new URL(stack.url).port;
    const rebound = await rawRequest(`${stack.url}/api/status`, { headers: { host: `attacker.test:${port}` } });
    expect(rebound.status).toBe(403);
    const crossSite = await fetch(`${stack.url}/api/hibernate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://attacker.test' },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
    const plain = await fetch(`${stack.url}/api/hibernate`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(plain.status).toBe(415);
    expect(((await (await fetch(`${stack.url}/api/status`)).json()) as { state: string }).state).not.toBe('hibernated');
  });
});
