/**
 * `Prefer: wait=N`: an API request that wakes the assistant is held until
 * the gateway is ready and gets the gateway's answer, instead of 503 +
 * Retry-After; bounded; a streaming client gets keep-alive lines meanwhile.
 * Through the real Worker and Agent in workerd, the runtime faked.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { fakeContainer } from '../support/fake-container.ts';
import { callLocal as call } from './local-client.ts';

async function status(): Promise<AgentStatus> {
  return (await (await call('/api/status')).json()) as AgentStatus;
}

async function untilState(state: string) {
  await vi.waitFor(async () => expect((await status()).state).toBe(state), { timeout: 15_000, interval: 20 });
}

/** Stopped after a good boot (no failure on record), with the next boot taking `probes` readiness probes (50 ms apart here). */
async function stoppedWithBootOf(probes: number) {
  Object.assign(fakeContainer('default'), { bootProbes: 1, probesLeft: 0, failWith: null, failCount: 0 });
  if ((await status()).state !== 'ready') {
    await call('/api/wake', { method: 'POST' });
    await untilState('ready');
  }
  await call('/api/stop', { method: 'POST' });
  await untilState('stopped');
  fakeContainer('default').bootProbes = probes;
}

describe('Prefer: wait (workerd, fake runtime)', { timeout: 60_000 }, () => {
  it('should wake the assistant and answer with the gateway once ready, in one call (without the preference: 503 at once, as before, whatever grant a client forges)', async () => {
    await stoppedWithBootOf(1_000_000);
    const started = Date.now();
    const plain = await call('/v1/models', { headers: { 'x-ondemand-wait-ms': '60000' } });
    expect(plain.status).toBe(503);
    expect(plain.headers.get('retry-after')).toBe('2');
    expect(Date.now() - started).toBeLessThan(10_000);
    await stoppedWithBootOf(20);
    const response = await call('/v1/chat/completions', {
      method: 'POST',
      headers: { prefer: 'wait=30' },
      body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { gateway: string; path: string; body: string };
    expect(body).toMatchObject({ gateway: 'fake', path: '/v1/chat/completions' });
    expect(JSON.parse(body.body)).toMatchObject({ messages: [{ content: 'hi' }] });
    expect((await status()).state).toBe('ready');
  });

  it('should give up after the wait it asked for with 503 booting, saying it waited', async () => {
    await stoppedWithBootOf(1_000_000);
    const started = Date.now();
    const response = await call('/v1/models', { headers: { prefer: 'respond-async, wait=1' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('booting');
    expect(body.error.message).toContain('not ready after waiting 1 s');
  });

  it('should answer boot_failed as soon as the boot fails for good, not after the whole wait', async () => {
    await stoppedWithBootOf(1_000_000);
    Object.assign(fakeContainer('default'), {
      failWith: { code: 'config_unreadable', message: 'openclaw.json is not valid JSON; it was left untouched', retryable: false },
      failCount: 1,
    });
    const started = Date.now();
    const response = await call('/v1/models', { headers: { prefer: 'wait=60' } });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('boot_failed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("should keep a streaming client alive while it waits, then send the gateway's answer in the same stream", async () => {
    await stoppedWithBootOf(1_000_000);
    const response = await call('/v1/chat/completions', {
      method: 'POST',
      headers: { prefer: 'wait=30' },
      body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    expect(first).toMatch(/^: waiting for the assistant \(/);
    expect((await status()).state).toBe('booting');
    fakeContainer('default').probesLeft = 0;
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    const data = rest
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6))
      .join('\n');
    expect(JSON.parse(data)).toMatchObject({ gateway: 'fake', path: '/v1/chat/completions' });
    expect(JSON.parse((JSON.parse(data) as { body: string }).body)).toMatchObject({ stream: true });
  });

  it('should end a waiting stream with the error as its data when the wait runs out', async () => {
    await stoppedWithBootOf(1_000_000);
    const response = await call('/v1/chat/completions', { method: 'POST', headers: { prefer: 'wait=1', accept: 'text/event-stream' }, body: '{}' });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^: waiting for the assistant/);
    const data = /^data: (.*)$/m.exec(text)?.[1] ?? '';
    expect(JSON.parse(data)).toMatchObject({ error: { code: 'booting' } });
  });

  it('should show the expected wake time from the last boots, and what is left of it while booting', async () => {
    await stoppedWithBootOf(1_000_000);
    const stopped = await status();
    expect(stopped.bootEstimate).toMatchObject({ boots: expect.any(Number), remainingMs: null });
    expect(stopped.bootEstimate?.expectedMs).toBeGreaterThan(0);
    await call('/api/wake', { method: 'POST' });
    const booting = await status();
    expect(booting.state).toBe('booting');
    expect(booting.bootEstimate?.remainingMs).toBeGreaterThanOrEqual(0);
    expect(booting.bootEstimate?.remainingMs).toBeLessThanOrEqual(booting.bootEstimate?.expectedMs ?? 0);
  });
});
