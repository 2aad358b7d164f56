/**
 * The AgentController in Node with the fake runtime, in-memory storage and
 * wakeups, and a clock the test moves: what the controller tests share.
 */
import { expect } from 'vitest';
import { AgentController } from '../../src/agent/agent-controller.ts';
import type { LifecycleState } from '../../machines/lifecycle-types.ts';
import { parseConfig } from '../../src/config.ts';
import { FakeRuntime } from './fake-runtime.ts';
import { ManualClock, MemoryStorage, RecordingWakeups } from './memory-storage.ts';

export const config = {
  // The change check is tested on its own (a shorter interval would come first in every timer walk here).
  ...parseConfig({
    SLEEP_AFTER: '10m',
    QUIET_AFTER: '60s',
    BOOT_BACKOFF: '1s',
    HEALTH_INTERVAL: '30s',
    BOOT_POLL_INTERVAL: '50ms',
    CHANGE_CHECK_INTERVAL: '10m',
  }),
  bootPollMs: 2,
};

/** The boot loop's wait between readiness probes: the next turn of the event loop, no real time. */
export const NO_WAIT = { sleep: () => new Promise<void>((resolve) => setImmediate(resolve)) };

export function setup(storage = new MemoryStorage(), clock = new ManualClock()) {
  const wakeups = new RecordingWakeups();
  const runtime = new FakeRuntime(config.agentName);
  const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];
  /** Loads the controller on this harness's parts; `overrides` replace any of them (a config, backups, an environment). */
  const load = (overrides: Partial<Parameters<typeof AgentController.load>[0]> = {}) =>
    AgentController.load({
      ...NO_WAIT,
      storage,
      wakeups,
      runtime,
      config,
      runtimeKind: 'local',
      containerEnv: { OPENCLAW_GATEWAY_TOKEN: 'secret-token-123' },
      clock: clock.read,
      log: (event, fields) => logs.push({ event, fields }),
      ...overrides,
    });
  return { storage, clock, wakeups, runtime, logs, load };
}

export async function untilState(controller: AgentController, state: LifecycleState) {
  await controller.reached(state);
}

/** Moves the clock to the next wakeup and fires it, as the DO alarm would. */
export async function fireNextWakeup(t: ReturnType<typeof setup>, controller: AgentController) {
  expect(t.wakeups.next).not.toBeNull();
  t.clock.now = Math.max(t.clock.now, t.wakeups.next as number);
  await controller.onWakeup();
}
