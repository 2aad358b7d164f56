import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { fakeContainer, killFakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { instances, testClock } from './test-worker.ts';
import { SETTLED } from './settled.ts';

let counter = 0;
/** A fresh Durable Object (and fake container) per test. */
function freshAgent() {
  const name = `agent-${Date.now()}-${counter++}`;
  return { name, stub: env.AGENT.get(env.AGENT.idFromName(name)) };
}

async function status(stub: DurableObjectStub<never> | ReturnType<typeof freshAgent>['stub']): Promise<AgentStatus> {
  const result = (await (stub as ReturnType<typeof freshAgent>['stub']).lifecycleStatus()) as { ok: true; status: AgentStatus };
  expect(result.ok).toBe(true);
  return result.status;
}

async function untilState(stub: ReturnType<typeof freshAgent>['stub'], state: string, phase: string | null = null) {
  await vi.waitFor(async () => {
    const s = await status(stub);
    expect(s.state).toBe(state);
    expect(s.phase).toBe(phase);
  }, SETTLED);
}

/** Moves the agent's clock past its next timer and runs the DO alarm. */
async function fireAlarm(stub: ReturnType<typeof freshAgent>['stub']) {
  const alarmAt = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
  expect(alarmAt).not.toBeNull();
  const due = (alarmAt as number) - Date.now();
  if (due > testClock.offsetMs) testClock.offsetMs = due + 1;
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

async function wakeToReady(stub: ReturnType<typeof freshAgent>['stub']) {
  const result = await stub.lifecycleCommand('wake');
  expect(result.ok).toBe(true);
  await untilState(stub, 'ready');
}

describe('LocalAgent (workerd, fake runtime)', () => {
  beforeEach(() => {
    testClock.offsetMs = 0;
  });
  afterEach(() => resetFakeContainers());

  describe('lifecycleCommand', () => {
    it('should boot to ready and start the fake container once', async () => {
      const { name, stub } = freshAgent();
      await wakeToReady(stub);
      expect(fakeContainer(name).starts).toBe(1);
      expect(fakeContainer(name).lastEnv).toMatchObject({ OPENCLAW_GATEWAY_TOKEN: 'test-gateway-token', GATEWAY_PORT: '18789' });
    });

    it('should refuse wake while hibernated and leave only by resume', async () => {
      const { name, stub } = freshAgent();
      await wakeToReady(stub);
      await stub.lifecycleCommand('hibernate', { reason: 'budget: projected $22 > $20', by: 'budget' });
      await untilState(stub, 'hibernated');
      expect(fakeContainer(name).running).toBe(false);

      const refused = await stub.lifecycleCommand('wake');
      expect(refused).toMatchObject({ ok: false, error: { code: 'hibernated', reason: 'budget: projected $22 > $20' } });
      expect((refused as unknown as { error: { message: string } }).error.message).toContain('/api/resume');
      expect((await status(stub)).state).toBe('hibernated');

      const resumed = await stub.lifecycleCommand('resume');
      expect(resumed).toMatchObject({ ok: true, status: { state: 'sleeping', hibernation: null } });
      await wakeToReady(stub);
      expect(fakeContainer(name).starts).toBe(2);
    });
  });

  describe('alarm', () => {
    it('should move ready → idle → sleeping on the DO alarm and stop the runtime', async () => {
      const { name, stub } = freshAgent();
      await wakeToReady(stub);
      for (let i = 0; i < 10 && (await status(stub)).state === 'ready'; i++) await fireAlarm(stub);
      expect((await status(stub)).state).toBe('idle');
      for (let i = 0; i < 30 && (await status(stub)).state === 'idle' && (await status(stub)).stopping === null; i++) await fireAlarm(stub);
      await untilState(stub, 'sleeping');
      expect(fakeContainer(name).running).toBe(false);
      expect(fakeContainer(name).stops).toBe(1);
      const s = await status(stub);
      expect(s.lastTransition).toMatchObject({ from: 'idle', to: 'sleeping', reason: 'idle for sleepAfter' });
      expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    }, 20_000);

    it('should notice a runtime that died at the next health check', async () => {
      const { name, stub } = freshAgent();
      await wakeToReady(stub);
      killFakeContainer(name);
      await fireAlarm(stub);
      await untilState(stub, 'stopped');
      expect((await status(stub)).lastError).toMatchObject({ code: 'container_exited' });
    });
  });

  describe('restart', () => {
    it('should keep state, history and timers when the Durable Object restarts', async () => {
      const { name, stub } = freshAgent();
      await wakeToReady(stub);
      const before = await status(stub);
      const alarmBefore = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
      const made = instances.count;

      await runInDurableObject(stub, (_instance, state) => state.abort('restart for the test')).catch(() => {});
      const again = env.AGENT.get(env.AGENT.idFromName(name));
      const after = await status(again);
      expect(instances.count).toBe(made + 1);
      expect(after.state).toBe('ready');
      expect(after.since).toBe(before.since);
      expect(after.history).toEqual(before.history);
      expect(await runInDurableObject(again, (_i, state) => state.storage.getAlarm())).toBe(alarmBefore);
      expect(fakeContainer(name).starts).toBe(1);
    });

    it('should resume a boot that was interrupted by a restart', async () => {
      const { name, stub } = freshAgent();
      fakeContainer(name).bootProbes = 1_000_000;
      await stub.lifecycleCommand('wake');
      await vi.waitFor(async () => expect((await status(stub)).phase).toBe('restoring'), SETTLED);
      await runInDurableObject(stub, (_instance, state) => state.abort('restart while booting')).catch(() => {});
      fakeContainer(name).probesLeft = 2;
      const again = env.AGENT.get(env.AGENT.idFromName(name));
      await untilState(again, 'ready');
      expect(fakeContainer(name).starts).toBe(1);
    });
  });
});
