import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { fakeContainer } from '../support/fake-container.ts';
import { callLocal as call } from './local-client.ts';
import { SETTLED } from './settled.ts';

async function getStatus(): Promise<AgentStatus> {
  const response = await call('/api/status');
  expect(response.status).toBe(200);
  return (await response.json()) as AgentStatus;
}

async function untilState(state: string) {
  await vi.waitFor(async () => expect((await getStatus()).state).toBe(state), SETTLED);
}

async function expectJsonError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe('Worker routes (workerd, fake runtime)', () => {
  beforeAll(() => {
    // The Worker serves the agent named by AGENT_NAME ("default").
    fakeContainer('default').bootProbes = 3;
  });
  afterAll(async () => {
    await call('/api/stop', { method: 'POST' });
  });

  describe('GET /api/status', () => {
    it('should answer the state and since as JSON', async () => {
      const s = await getStatus();
      expect(['stopped', 'booting', 'ready', 'idle', 'sleeping', 'hibernated']).toContain(s.state);
      expect(Number.isNaN(Date.parse(s.since))).toBe(false);
      expect(s.sleepAfterMs).toBe(600_000);
      expect(s.meter.instanceType).toBe('standard-2');
    });
  });

  describe('bad input', () => {
    it('should answer 405 with Allow for a wrong method', async () => {
      const response = await call('/api/wake', { method: 'GET' });
      await expectJsonError(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow')).toBe('POST');
      await expectJsonError(await call('/api/status', { method: 'DELETE' }), 405, 'method_not_allowed');
    });

    it('should answer 404 for an unknown API route', async () => {
      await expectJsonError(await call('/api/nope'), 404, 'not_found');
      await expectJsonError(await call('/api', { method: 'POST' }), 404, 'not_found');
    });

    it('should answer 400 for a body that is not a JSON object with a string reason', async () => {
      await expectJsonError(await call('/api/sleep', { method: 'POST', body: '{not json' }), 400, 'bad_request');
      await expectJsonError(await call('/api/sleep', { method: 'POST', body: '[1,2]' }), 400, 'bad_request');
      await expectJsonError(await call('/api/sleep', { method: 'POST', body: '{"reason":42}' }), 400, 'bad_request');
      await expectJsonError(await call('/api/sleep', { method: 'POST', body: JSON.stringify({ reason: 'x'.repeat(501) }) }), 400, 'bad_request');
    });

    it('should answer 413 for an oversized body', async () => {
      await expectJsonError(await call('/api/wake', { method: 'POST', body: 'x'.repeat(20_000) }), 413, 'payload_too_large');
    });

    it('should leave the state unchanged by rejected requests', async () => {
      const before = await getStatus();
      await call('/api/hibernate', { method: 'POST', body: '{bad' });
      await call('/api/wake', { method: 'PUT' });
      const after = await getStatus();
      expect(after.state).toBe(before.state);
      expect(after.since).toBe(before.since);
    });
  });

  describe('wake, proxy and sleep', () => {
    it('should show a browser the progress page while booting, then proxy once ready', async () => {
      await call('/api/stop', { method: 'POST' });
      await untilState('stopped');
      fakeContainer('default').bootProbes = 1_000_000;
      const page = await call('/chat?session=1', { headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('Waking your assistant');
      expect(html).toContain('/api/status');
      expect((await getStatus()).state).toBe('booting');

      const api = await call('/v1/models');
      const body = await expectJsonError(api, 503, 'booting');
      expect(api.headers.get('retry-after')).toBe('2');
      expect(body.error).toHaveProperty('phase');

      Object.assign(fakeContainer('default'), { probesLeft: 0, bootProbes: 3 });
      await untilState('ready');
      const proxied = await call('/chat?session=1', { method: 'POST', body: 'hi' });
      expect(proxied.status).toBe(200);
      expect(await proxied.json()).toMatchObject({ gateway: 'fake', method: 'POST', path: '/chat?session=1' });
    });

    it('should accept wake with 202 and a reason', async () => {
      const response = await call('/api/wake', { method: 'POST', body: JSON.stringify({ reason: 'morning session' }) });
      expect(response.status).toBe(202);
      const s = (await response.json()) as AgentStatus;
      expect(['booting', 'ready']).toContain(s.state);
    });

    it('should put the assistant to sleep on POST /api/sleep and wake it on the next request', async () => {
      await untilState('ready');
      expect((await call('/api/sleep', { method: 'POST', body: JSON.stringify({ reason: 'lunch' }) })).status).toBe(202);
      await untilState('sleeping');
      expect((await getStatus()).lastTransition).toMatchObject({ to: 'sleeping', reason: 'lunch' });
      expect(fakeContainer('default').running).toBe(false);
      const first = await call('/anything');
      expect(first.status).toBe(503);
      await untilState('ready');
      expect((await call('/anything')).status).toBe(200);
    });
  });

  describe('hibernate and resume', () => {
    it('should refuse a wake with 423 and the reason, and a browser with a readable page', async () => {
      const hib = await call('/api/hibernate', { method: 'POST', body: JSON.stringify({ reason: 'going on holiday' }) });
      expect(hib.status).toBe(202);
      await untilState('hibernated');
      const body = await expectJsonError(await call('/api/wake', { method: 'POST' }), 423, 'hibernated');
      expect(body.error.message).toContain('going on holiday');
      expect(body.error.message).toContain('/api/resume');
      const page = await call('/', { headers: { accept: 'text/html' } });
      expect(page.status).toBe(423);
      expect(await page.text()).toContain('going on holiday');
      await expectJsonError(await call('/v1/chat/completions', { method: 'POST' }), 423, 'hibernated');
      expect((await getStatus()).state).toBe('hibernated');
    });

    it('should resume to sleeping, and 409 when there is nothing to resume', async () => {
      const resumed = await call('/api/resume', { method: 'POST' });
      expect(resumed.status).toBe(200);
      expect(((await resumed.json()) as AgentStatus).state).toBe('sleeping');
      await expectJsonError(await call('/api/resume', { method: 'POST' }), 409, 'conflict');
    });
  });

  describe('boot failure', () => {
    it('should show the reason instead of booting again on every request', async () => {
      await call('/api/stop', { method: 'POST' });
      await untilState('stopped');
      Object.assign(fakeContainer('default'), {
        failWith: { code: 'config_unreadable', message: 'openclaw.json is not valid JSON; it was left untouched', retryable: false },
        failCount: 1,
      });
      await call('/api/wake', { method: 'POST' });
      await vi.waitFor(async () => expect((await getStatus()).lastError?.code).toBe('config_unreadable'), SETTLED);
      await untilState('stopped');
      const starts = fakeContainer('default').starts;
      const api = await expectJsonError(await call('/v1/models'), 503, 'boot_failed');
      expect(api.error.message).toContain('not valid JSON');
      const page = await call('/', { headers: { accept: 'text/html' } });
      expect(await page.text()).toContain('Try again');
      expect(fakeContainer('default').starts).toBe(starts);
    });
  });
});

describe('the model sign-in (POST/GET /api/login, fake runtime)', () => {
  it('should refuse a sign-in while asleep, and say how to start one', async () => {
    await call('/api/sleep', { method: 'POST' });
    await vi.waitFor(async () => expect(['stopped', 'sleeping']).toContain((await getStatus()).state), SETTLED);
    const refused = await expectJsonError(await call('/api/login', { method: 'POST', body: '{"provider":"codex"}' }), 409, 'conflict');
    expect(refused.error.message).toContain('wake it first');
    const read = (await (await call('/api/login')).json()) as { state: string; message: string };
    expect(read.state).toBe('idle');
    expect(read.message).toContain('clawctl login codex');
  });

  it('should check the body: a known provider, cancel as a boolean', async () => {
    await expectJsonError(await call('/api/login', { method: 'POST', body: '{"provider":"gemini"}' }), 400, 'bad_request');
    await expectJsonError(await call('/api/login', { method: 'POST', body: '{"cancel":"yes"}' }), 400, 'bad_request');
    await expectJsonError(await call('/api/login', { method: 'PUT' }), 405, 'method_not_allowed');
  });

  it('should start the device-code sign-in in the container, show the code, and back the stored sign-in up at once', async () => {
    const c = fakeContainer('default');
    c.bootProbes = 1;
    await call('/api/wake', { method: 'POST' });
    await untilState('ready');
    const started = await call('/api/login', { method: 'POST', body: '{"provider":"codex"}' });
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({ state: 'waiting', userCode: 'FAKE-0001', verificationUrl: 'https://auth.openai.com/codex/device' });
    expect((await getStatus()).model.detail).toContain('no model connected');
    // The operator entered the code: OpenClaw stored the profile.
    c.oauthProfile = { profileId: 'openai:me@example.com', status: 'ok', expiresAtMs: Date.now() + 3_600_000 };
    c.loginLog += 'Auth profile: openai:me@example.com (openai/oauth)\n__refreshed\n__exit 0\n';
    c.disk.auth = 'signed in';
    const done = (await (await call('/api/login')).json()) as { state: string; profile: string };
    expect(done).toMatchObject({ state: 'signed-in', profile: 'openai:me@example.com' });
    await vi.waitFor(async () => {
      const s = await getStatus();
      expect(s.model.signIn?.profile).toBe('openai:me@example.com');
      expect(s.backups.history.some((e) => e.reason === 'model sign-in stored' && e.result === 'ok')).toBe(true);
      expect(s.model.lastCredentialBackup?.result).toBe('ok');
    }, SETTLED);
    expect(c.rpc).toContain('models.authStatus');
  });
});
