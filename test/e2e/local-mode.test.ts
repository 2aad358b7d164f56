/**
 * The local mode end to end, started the way the README says (`npm start`
 * runs scripts/local.mjs): real wrangler dev (workerd) with the LocalAgent
 * Durable Object, the local dev host, and the container start script running
 * the stand-in gateway on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { post, processAlive, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let stack: LocalStack;

async function status(): Promise<AgentStatus> {
  const r = await fetch(`${stack.url}/api/status`);
  expect(r.status).toBe(200);
  return (await r.json()) as AgentStatus;
}

function waitForState(state: string, timeoutMs = 30_000) {
  return until(async () => ((await status()).state === state ? true : undefined), timeoutMs, `state ${state}`);
}

describe('local mode (npm start)', () => {
  beforeAll(async () => {
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'echo',
      SLEEP_AFTER: '4s',
      QUIET_AFTER: '1s',
      HEALTH_INTERVAL: '1s',
      ECHO_BOOT_DELAY_MS: '1500',
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  let gatewayPid = 0;

  it('should boot from stopped to ready on POST /api/wake, showing the boot phases', async () => {
    expect((await status()).state).toBe('stopped');
    const woken = await post(`${stack.url}/api/wake`);
    expect(woken.status).toBe(202);
    const seen = new Set<string>();
    await until(
      async () => {
        const s = await status();
        seen.add(`${s.state}:${s.phase ?? ''}`);
        return s.state === 'ready' ? true : undefined;
      },
      30_000,
      'ready',
    );
    expect(seen.has('booting:starting-gateway')).toBe(true);
  });

  it('should proxy HTTP to the gateway as the trusted proxy, replacing forged identity headers', async () => {
    const r = await fetch(`${stack.url}/some/path?x=1`, {
      method: 'POST',
      body: 'hello',
      headers: { 'x-openclaw-user': 'attacker', 'x-forwarded-for': '10.9.9.9', authorization: 'Bearer stolen' },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { gateway: string; url: string; body: string; pid: number; headers: Record<string, string> };
    expect(body).toMatchObject({ gateway: 'echo', url: '/some/path?x=1', body: 'hello' });
    expect(body.headers['x-openclaw-user']).toBe('owner');
    expect(body.headers['x-openclaw-proxy']).toBe('openclaw-ondemand');
    expect(body.headers['x-forwarded-for']).toBe('192.0.2.1');
    expect(body.headers.authorization).toBeUndefined();
    gatewayPid = body.pid;
    expect(processAlive(gatewayPid)).toBe(true);
  });

  it('should proxy a WebSocket to the gateway and echo', async () => {
    const ws = new WebSocket(`${stack.url.replace('http', 'ws')}/ws-path`);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo; got ${JSON.stringify(messages)}`)), 10_000);
      ws.addEventListener('message', (event: MessageEvent) => {
        messages.push(String(event.data));
        if (messages.length === 1) ws.send('ping');
        else {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.addEventListener('error', () => reject(new Error('websocket error')));
    });
    ws.close();
    expect(JSON.parse(messages[0] as string)).toMatchObject({ gateway: 'echo', hello: '/ws-path' });
    expect(messages[1]).toBe('echo:ping');
  });

  it('should sleep after sleepAfter without requests and stop the runtime process', async () => {
    await waitForState('sleeping', 30_000);
    const s = await status();
    expect(s.lastTransition).toMatchObject({ from: 'idle', to: 'sleeping' });
    expect(s.meter.running).toBe(false);
    expect(s.meter.totalSeconds).toBeGreaterThan(0);
    await until(async () => (processAlive(gatewayPid) ? undefined : true), 10_000, 'gateway process to exit');
  });

  it('should wake on the next request: 503 with Retry-After while booting, then proxied', async () => {
    const first = await fetch(`${stack.url}/again`);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('booting');
    const body = await until(
      async () => {
        const r = await fetch(`${stack.url}/again`);
        return r.status === 200 ? ((await r.json()) as { pid: number }) : undefined;
      },
      30_000,
      'the gateway after waking',
    );
    expect(body.pid).not.toBe(gatewayPid);
  });

  it('should notice a runtime killed with SIGKILL and boot it again on the next request', async () => {
    const before = (await (await fetch(`${stack.url}/who`)).json()) as { pid: number };
    process.kill(before.pid, 'SIGKILL');
    await waitForState('stopped', 20_000);
    expect((await status()).lastError?.code).toBe('container_exited');
    await fetch(`${stack.url}/who`);
    await waitForState('ready', 30_000);
  });

  it('should hibernate, refuse a wake with the reason, and resume', async () => {
    const h = await post(`${stack.url}/api/hibernate`, { reason: 'e2e check' });
    expect(h.status).toBe(202);
    await waitForState('hibernated');
    const refused = await post(`${stack.url}/api/wake`);
    expect(refused.status).toBe(423);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('e2e check');
    const resumed = await post(`${stack.url}/api/resume`);
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as AgentStatus).state).toBe('sleeping');
  });

  it('should stop everything on SIGTERM, the runtime included', async () => {
    await post(`${stack.url}/api/wake`);
    await waitForState('ready');
    const { pid } = (await (await fetch(`${stack.url}/who`)).json()) as { pid: number };
    expect(processAlive(pid)).toBe(true);
    await stack.stop();
    await until(async () => (processAlive(pid) ? undefined : true), 15_000, 'runtime to exit with the stack');
  });

  it('should say in plain words that the runtime is gone after npm start was killed and started again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-ondemand-restart-'));
    const first = await startLocalStack({ LOCAL_GATEWAY: 'echo', HEALTH_INTERVAL: '1s' }, 90_000, { stateDir });
    await post(`${first.url}/api/wake`);
    await until(async () => (((await (await fetch(`${first.url}/api/status`)).json()) as AgentStatus).state === 'ready' ? true : undefined), 30_000, 'ready');
    await first.kill();
    const second = await startLocalStack({ LOCAL_GATEWAY: 'echo', HEALTH_INTERVAL: '1s' }, 90_000, { stateDir });
    try {
      const stopped = await until(
        async () => {
          const s = (await (await fetch(`${second.url}/api/status`)).json()) as AgentStatus;
          return s.state === 'stopped' ? s : undefined;
        },
        30_000,
        'the gone runtime noticed',
      );
      expect(stopped.lastError?.code).toBe('container_exited');
      expect(stopped.lastError?.message).toContain('the local mode (npm start) was restarted');
      expect(stopped.lastError?.message).not.toContain('never started');
    } finally {
      await second.stop();
    }
  }, 240_000);
});
