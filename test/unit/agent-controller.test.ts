import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentController } from '../../src/agent/agent-controller.ts';
import { BackupStore } from '../../src/backup/backup-store.ts';
import { AppError } from '../../src/errors.ts';
import { config, fireNextWakeup, NO_WAIT, setup, untilState } from '../support/controller-harness.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { fakeContainer, killFakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { ManualClock, MemoryStorage, RecordingWakeups } from '../support/memory-storage.ts';

/** An R2 bucket in memory (what BackupStore uses of one). */
function memoryBucket() {
  const objects = new Map<string, { body: Uint8Array; size: number }>();
  return {
    put: async (key: string, value: ReadableStream | string) => {
      const body = typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(await new Response(value).arrayBuffer());
      objects.set(key, { body, size: body.length });
    },
    get: async (key: string) => {
      const o = objects.get(key);
      return o ? { size: o.size, body: new Response(o.body).body, json: async () => JSON.parse(new TextDecoder().decode(o.body)) } : null;
    },
    head: async () => null,
    list: async ({ prefix }: { prefix: string }) => ({
      objects: [...objects.keys()].filter((k) => k.startsWith(prefix)).map((key) => ({ key })),
      truncated: false,
    }),
    delete: async (keys: string[]) => {
      for (const k of keys) objects.delete(k);
    },
  };
}

describe('AgentController', () => {
  beforeEach(() => resetFakeContainers());
  afterEach(() => resetFakeContainers());

  describe('command', () => {
    it('should boot to ready through the reported phases when woken', async () => {
      const t = setup();
      const controller = await t.load();
      const status = await controller.command('wake');
      expect(status.state).toBe('booting');
      await untilState(controller, 'ready');
      const ready = controller.status();
      expect(ready.lastTransition).toMatchObject({ from: 'booting', to: 'ready', event: 'boot.succeeded' });
      expect(ready.history.map((h) => h.to)).toEqual(['booting', 'ready']);
      expect(t.runtime.container.starts).toBe(1);
      expect(t.runtime.container.lastEnv).toEqual({ OPENCLAW_GATEWAY_TOKEN: 'secret-token-123' });
    });

    it("should show where the boot's time went: its own phases on its clock, the start script's from the script's timeline", async () => {
      const t = setup();
      const controller = await t.load();
      const start = t.clock.now;
      const iso = (ms: number) => new Date(ms).toISOString();
      // every probe takes 100 ms
      t.runtime.container.onProbe = () => {
        t.clock.now += 100;
      };
      t.runtime.container.scriptTimeline = { restoring: iso(start + 120), configuring: iso(start + 150), 'starting-gateway': iso(start + 250) };
      await controller.command('wake');
      await untilState(controller, 'ready');
      const boot = controller.status().lastBoot!;
      expect(boot.parts.map((p) => p.phase)).toEqual(['launching', 'restoring', 'starting', 'configuring', 'starting-gateway']);
      const ms = Object.fromEntries(boot.parts.map((p) => [p.phase, p.ms]));
      // launching: the first probe found nothing running; the script's own 'restoring' (after ours) does not count.
      expect(ms).toMatchObject({ launching: 100, restoring: 0, starting: 50, configuring: 100 });
      expect(boot.readyAt).toBe(iso(t.clock.now));
      expect(boot.totalMs).toBe(t.clock.now - start);
      expect(boot.parts.reduce((sum, p) => sum + (p.ms ?? 0), 0)).toBe(boot.totalMs);
      // Kept across a restart of the Durable Object.
      const again = await t.load();
      expect(again.status().lastBoot).toEqual(boot);
    });

    it('should start the container only after the leftover state was looked at, so a new container\'s empty disk is never "recovered"', async () => {
      const { BackupStore } = await import('../../src/backup/backup-store.ts');
      const t = setup();
      const controller = await t.load({ containerEnv: {}, backups: new BackupStore(memoryBucket() as never, 'default', 10) });
      await controller.command('wake');
      await untilState(controller, 'ready');
      expect(t.runtime.container.calls).toEqual(['recover', 'provision', 'prepare', 'start']);
    });

    it('should refuse wake while hibernated, saying why and how to resume', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('hibernate', { reason: 'budget: projected $21.40 > $20', by: 'budget' });
      expect(controller.state).toBe('hibernated');
      const error = await controller.command('wake').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('hibernated');
      expect((error as AppError).message).toContain('budget: projected $21.40 > $20');
      expect((error as AppError).message).toContain('/api/resume');
      expect(controller.state).toBe('hibernated');
      expect(t.runtime.container.starts).toBe(0);
      const resumed = await controller.command('resume');
      expect(resumed.state).toBe('sleeping');
      expect(resumed.hibernation).toBeNull();
    });

    it('should answer conflict to resume when not hibernated', async () => {
      const controller = await setup().load();
      await expect(controller.command('resume')).rejects.toMatchObject({ code: 'conflict' });
    });

    it('should stop the runtime before reporting hibernated', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      await controller.command('hibernate', { reason: 'operator' });
      await untilState(controller, 'hibernated');
      expect(t.runtime.container.running).toBe(false);
      expect(t.runtime.container.stops).toBe(1);
    });
  });

  describe('idle means idle inside too', () => {
    /** Fires wakeups until the controller leaves `state` (or 200 of them). */
    async function fireWhile(t: ReturnType<typeof setup>, controller: AgentController, still: () => boolean) {
      for (let i = 0; i < 200 && still(); i++) await fireNextWakeup(t, controller);
      await controller.settle();
    }

    it('should not sleep while the gateway reports work running, show the blockers, and sleep once it is done', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.runtime.container.work = [{ kind: 'background-exec', count: 1, message: '1 active background exec session(s)' }];
      const readyAt = t.clock.now;
      await fireWhile(t, controller, () => controller.status().phase !== 'waiting-for-work');
      const waiting = controller.status();
      expect(waiting.state).toBe('idle');
      expect(waiting.work).toMatchObject({
        blockers: [{ kind: 'background-exec', count: 1 }],
        retryAfterMs: 20_000,
        since: new Date(readyAt + 10 * 60_000).toISOString(),
      });
      // Asked again every retryAfterMs while it runs; still awake an hour later if it runs that long... here it ends after 3 retries.
      await fireNextWakeup(t, controller);
      await fireNextWakeup(t, controller);
      expect(controller.state).toBe('idle');
      t.runtime.container.work = [];
      await fireWhile(t, controller, () => controller.state === 'idle' && controller.status().stopping === null);
      await untilState(controller, 'sleeping');
      expect(controller.status().work).toBeNull();
      expect(t.runtime.container.rpc.filter((m) => m === 'gateway.suspend.prepare').length).toBeGreaterThanOrEqual(3);
    });

    it('should drain and stop anyway once work has kept the sleep waiting for SLEEP_MAX_DEFER', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.send({ type: 'settings.updated', settings: { maxSleepDeferMs: 60_000 } });
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.runtime.container.work = [{ kind: 'root-request', count: 1, message: '1 active gateway request(s)' }];
      await fireWhile(t, controller, () => controller.state !== 'sleeping');
      expect(controller.state).toBe('sleeping');
      expect(controller.status().lastTransition?.reason).toContain('SLEEP_MAX_DEFER');
    });
  });

  describe('scheduled wakes', () => {
    const HOUR = 3_600_000;
    const cronRow = (id: string, name: string, nextRunAtMs: number, extra: Record<string, unknown> = {}) => ({
      id,
      name,
      enabled: true,
      schedule: { kind: 'at', at: new Date(nextRunAtMs).toISOString() },
      state: { nextRunAtMs },
      nextRunAtMs,
      ...extra,
    });

    it('should wake a lead time ahead of the next operator job, stay up until its run finished, then sleep again', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      const due = t.clock.now + 2 * HOUR;
      t.runtime.container.cronJobs = [
        cronRow('sys', 'Memory Dreaming Promotion', t.clock.now + HOUR, { declarationKey: 'memory-core:memory-dreaming-promotion' }),
        cronRow('j1', 'morning report', due),
      ];
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      const asleep = controller.status();
      // The system job (dreaming) does not wake it under SCHEDULED_WAKES=jobs; the operator's does, a lead time ahead.
      expect(asleep.schedule).toMatchObject({
        mode: 'jobs',
        jobs: 2,
        wakingJobs: 1,
        next: { jobId: 'j1', jobName: 'morning report', runAt: new Date(due).toISOString() },
      });
      const lead = due - asleep.schedule.next!.wakeAtMs;
      expect(lead).toBeGreaterThanOrEqual(20_000);
      expect(t.wakeups.next).toBe(asleep.schedule.next!.wakeAtMs);

      await fireNextWakeup(t, controller);
      await untilState(controller, 'ready');
      const woken = controller.status();
      expect(woken.history.at(-2)).toMatchObject({
        from: 'sleeping',
        to: 'booting',
        event: 'schedule.due',
        reason: expect.stringContaining('scheduled wake: job "morning report"'),
      });
      expect(woken.schedule.awaiting).toMatchObject({ jobId: 'j1' });
      // It stays up past its idle time while the run has not happened.
      t.clock.advance(lead + 20 * 60_000);
      await controller.onWakeup();
      expect(['ready', 'idle']).toContain(controller.state);
      // The gateway's run history says it ran: with nobody else around, back to sleep.
      t.runtime.container.cronRuns.j1 = [{ jobId: 'j1', action: 'finished', status: 'ok', runAtMs: due + 500, durationMs: 3_700 }];
      t.runtime.container.cronJobs = [];
      for (let i = 0; i < 40; i++) {
        // The run check and the work check answer asynchronously: fire the next timer once they did.
        await controller.idle();
        if (controller.state === 'sleeping') break;
        if (t.wakeups.next !== null) await fireNextWakeup(t, controller);
      }
      await untilState(controller, 'sleeping');
      const after = controller.status();
      expect(after.schedule.lastRun).toMatchObject({ jobId: 'j1', status: 'ok', durationMs: 3_700 });
      expect(after.schedule.next).toBeNull();
      expect(t.wakeups.next).toBeNull();
      // Its container time is known apart from other use (the cost guard keeps it out of the burn rate).
      expect(controller.usageReport(24).schedule.recentSeconds).toBeGreaterThan(0);
    });

    it('should still read the jobs when the idle timer puts it to sleep (the idle check reopens the gateway it found idle)', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.runtime.container.cronJobs = [cronRow('j1', 'report', t.clock.now + 3 * HOUR)];
      for (let i = 0; i < 200; i++) {
        await controller.idle();
        if (controller.state === 'sleeping') break;
        if (t.wakeups.next !== null) await fireNextWakeup(t, controller);
      }
      await untilState(controller, 'sleeping');
      expect(t.runtime.container.rpc).toEqual(expect.arrayContaining(['gateway.suspend.prepare', 'gateway.suspend.resume', 'cron.list']));
      expect(controller.status().schedule.next).toMatchObject({ jobId: 'j1' });
    });

    it('should never wake a hibernated assistant for a job, and wake for none when SCHEDULED_WAKES=off', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.runtime.container.cronJobs = [cronRow('j1', 'report', t.clock.now + HOUR)];
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      expect(controller.status().schedule.next).not.toBeNull();
      await controller.command('hibernate', { reason: 'budget', by: 'budget' });
      expect(controller.state).toBe('hibernated');
      expect(controller.status().schedule.next).toBeNull();
      expect(t.wakeups.next).toBeNull();

      resetFakeContainers();
      const off = setup();
      const quiet = await AgentController.load({
        ...NO_WAIT,
        storage: off.storage,
        wakeups: off.wakeups,
        runtime: off.runtime,
        config: { ...config, scheduledWakes: 'off' },
        runtimeKind: 'local',
        containerEnv: {},
        clock: off.clock.read,
        log: () => {},
      });
      await quiet.command('wake');
      await untilState(quiet, 'ready');
      off.runtime.container.cronJobs = [cronRow('j1', 'report', off.clock.now + HOUR)];
      await quiet.command('sleep');
      await untilState(quiet, 'sleeping');
      expect(quiet.status().schedule.next).toBeNull();
      expect(off.runtime.container.rpc).not.toContain('cron.list');
    });

    it('should space scheduled wakes SCHEDULE_SOFT_GAP apart over the soft budget line', async () => {
      const t = setup();
      const controller = await t.load();
      const evaluation = {
        at: new Date(t.clock.now).toISOString(),
        source: 'self-meter' as const,
        fallbackReason: null,
        softUsd: 15,
        hardUsd: 20,
        monthToDateUsd: 12,
        projectedUsd: 16,
        scheduledUsd: 0,
        burnUsdPerHour: 0.05,
        hoursLeft: 200,
        recentHours: 24,
        decision: { level: 'soft' as const, sleepAfterMs: 5 * 60_000, hibernate: false, reason: 'budget: projected $16.00 > soft limit $15.00' },
      };
      await controller.applyBudget(evaluation);
      // A first scheduled wake for an hourly job...
      t.runtime.container.cronJobs = [cronRow('hourly', 'hourly check', t.clock.now + HOUR)];
      await controller.command('wake');
      await untilState(controller, 'ready');
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      await fireNextWakeup(t, controller);
      await untilState(controller, 'ready');
      const firstWake = t.clock.now;
      // ...then the next one an hour later is thinned to SCHEDULE_SOFT_GAP (4 h) after the first.
      t.runtime.container.cronJobs = [cronRow('hourly', 'hourly check', t.clock.now + HOUR)];
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      const next = controller.status().schedule;
      expect(next.thinnedToEveryMs).toBe(4 * HOUR);
      expect(next.next!.wakeAtMs).toBe(firstWake + 4 * HOUR);
    });
  });

  describe('timers', () => {
    it('should go ready → idle → sleeping on the durable timers and stop the runtime', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      const readyAt = t.clock.now;
      expect(controller.status().sleepAt).toBe(new Date(readyAt + 10 * 60_000).toISOString());

      while (controller.state === 'ready') await fireNextWakeup(t, controller);
      expect(controller.state).toBe('idle');
      expect(t.clock.now - readyAt).toBe(60_000);

      while (controller.state === 'idle' && controller.status().stopping === null) {
        await fireNextWakeup(t, controller);
        await controller.idle(); // the gateway's answer to the idle check
      }
      await untilState(controller, 'sleeping');
      expect(t.clock.now - readyAt).toBe(10 * 60_000);
      expect(t.runtime.container.running).toBe(false);
      expect(controller.status().lastTransition).toMatchObject({ from: 'idle', to: 'sleeping', reason: 'idle for sleepAfter' });
      expect(t.wakeups.next).toBeNull();
    });

    it('should drain and back up before a sleep although the busy gateway does not answer its readiness probe in time', async () => {
      const t = setup();
      const controller = await t.load({ containerEnv: {}, backups: new BackupStore(memoryBucket() as never, 'default', 10, t.clock.read) });
      await controller.command('wake');
      await untilState(controller, 'ready');
      const backups = t.runtime.container.backups;
      t.runtime.container.disk['workspace/notes/late.txt'] = 'written just before the sleep';
      t.runtime.container.unresponsive = true;
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      expect(t.runtime.container.backups).toBe(backups + 1);
      expect(controller.status().lastStop).toMatchObject({ target: 'sleeping', drained: true, warning: null });
      expect(controller.status().backups.lastBackup).toMatchObject({ result: 'ok', reason: 'before sleep: sleep requested' });
    });

    it("should not go idle or sleep while a request's answer is still coming (a long agent turn), and start the quiet time over when it ends", async () => {
      const t = setup();
      let release: () => void = () => {};
      t.runtime.fetch = async () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('thinking…'));
              release = () => controller.close();
            },
          }),
        );
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      const answer = await controller.forward(new Request('http://x/v1/chat/completions', { method: 'POST', body: '{}' }));
      const reading = answer.text();
      for (let i = 0; i < 5; i++) await fireNextWakeup(t, controller); // far past the quiet and the idle time
      expect(controller.state).toBe('ready');
      release();
      expect(await reading).toBe('thinking…');
      await controller.settle();
      const finishedAt = t.clock.now;
      while (controller.state === 'ready') await fireNextWakeup(t, controller);
      expect(controller.state).toBe('idle');
      expect(t.clock.now - finishedAt).toBe(60_000);
    });

    it('should bring the backup forward to within BACKUP_DEBOUNCE of a change the cheap check sees, and leave it when nothing changed', async () => {
      const t = setup();
      const debounced = { ...config, backupDebounceMs: 30_000, lifecycle: { ...config.lifecycle, changeCheckMs: 5_000 } };
      const controller = await t.load({ containerEnv: {}, config: debounced });
      const backupDue = async () => (await t.storage.get<{ timers: { backup?: number } }>('lifecycle'))?.timers.backup ?? 0;
      await controller.command('wake');
      await untilState(controller, 'ready');
      expect((await backupDue()) - t.clock.now).toBe(10 * 60_000);
      await fireNextWakeup(t, controller); // the first look counts as a change
      await controller.idle();
      expect((await backupDue()) - t.clock.now).toBe(30_000);
      const due = await backupDue();
      while (t.clock.now < due) await fireNextWakeup(t, controller); // the backup runs, the next is 10 min away
      await controller.settle();
      expect((await backupDue()) - t.clock.now).toBe(10 * 60_000);
      await controller.idle();
      expect(controller.status().backups.lastBackup?.reason).toBe('changed');
      await fireNextWakeup(t, controller); // nothing changed
      await controller.settle();
      expect((await backupDue()) - t.clock.now).toBeGreaterThan(9 * 60_000);
      t.runtime.container.disk['notes.md'] = 'a change';
      await fireNextWakeup(t, controller);
      await controller.idle();
      expect((await backupDue()) - t.clock.now).toBe(30_000);
    });

    it('should not fire a timer before it is due', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.clock.advance(1_000);
      await controller.onWakeup();
      expect(controller.state).toBe('ready');
    });

    it('should keep a wakeup at most 10 s ahead while booting, so an evicted boot resumes', async () => {
      const t = setup();
      fakeContainer(config.agentName).bootProbes = 10_000;
      const controller = await t.load();
      await controller.command('wake');
      expect(t.wakeups.next).toBe(t.clock.now + 10_000);
      await controller.command('stop');
    });
  });

  describe('requests', () => {
    it('should wake a sleeping assistant on a request and count activity when ready', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('hibernate');
      await controller.command('resume');
      expect(controller.state).toBe('sleeping');
      await controller.recordRequest();
      expect(controller.state).toBe('booting');
      await untilState(controller, 'ready');
      const before = controller.status().sleepAt;
      t.clock.advance(5_000);
      await controller.recordRequest();
      expect(controller.status().sleepAt).not.toBe(before);
      expect(Date.parse(controller.status().sleepAt as string)).toBe(t.clock.now + 10 * 60_000);
    });

    it('should notice a runtime that died when a request fails', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      killFakeContainer(config.agentName);
      await expect(controller.forward(new Request('http://x/chat'))).rejects.toMatchObject({ code: 'runtime_unreachable' });
      await untilState(controller, 'stopped');
      expect(controller.status().lastError).toMatchObject({ code: 'container_exited' });
      expect(controller.bootFailed).toBe(false);
    });

    it('should drain, back up and sleep at the next health check when the platform asks the container to stop on its own', async () => {
      const t = setup();
      const controller = await t.load({ containerEnv: {}, backups: new BackupStore(memoryBucket() as never, 'default', 10, t.clock.read) });
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.runtime.container.disk['fresh.txt'] = 'written just before the rollout';
      t.runtime.container.terminating = '2026-11-24T12:00:05.000Z';
      for (let i = 0; i < 20 && controller.state !== 'sleeping'; i++) {
        await fireNextWakeup(t, controller);
        await controller.idle();
      }
      await untilState(controller, 'sleeping');
      const asleep = controller.status();
      expect(asleep.lastTransition?.reason).toContain('the platform asked the container to stop at 2026-11-24T12:00:05.000Z');
      expect(asleep.backups.lastBackup).toMatchObject({ result: 'ok' });
      expect(asleep.backups.lastBackup?.reason).toMatch(/^before sleep/);
      expect(t.runtime.container.running).toBe(false);
      // The next wake is a new container, the file restored.
      t.runtime.container.disk = {};
      await controller.command('wake');
      await untilState(controller, 'ready');
      expect(t.runtime.container.disk['fresh.txt']).toBe('written just before the rollout');
    });

    it('should notice a runtime that died at the next health check', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      killFakeContainer(config.agentName);
      await fireNextWakeup(t, controller);
      await untilState(controller, 'stopped');
      expect(controller.status().lastError?.message).toContain('SIGKILL');
    });
  });

  describe('boot failures', () => {
    it('should give up at once on a failure that cannot be retried, with the reason', async () => {
      const t = setup();
      Object.assign(fakeContainer(config.agentName), {
        failWith: { code: 'config_unreadable', message: 'openclaw.json is not valid JSON; it was left untouched', retryable: false },
        failCount: 1,
      });
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'stopped');
      const status = controller.status();
      expect(status.lastError?.code).toBe('config_unreadable');
      expect(status.lastError?.message).toContain('not valid JSON');
      expect(controller.bootFailed).toBe(true);
      expect(t.runtime.container.starts).toBe(1);
    });

    it('should retry a retryable failure after the backoff and then succeed', async () => {
      const t = setup();
      Object.assign(fakeContainer(config.agentName), { failWith: { code: 'gateway_exited', message: 'gateway exited', retryable: true }, failCount: 1 });
      const controller = await t.load();
      await controller.command('wake');
      await controller.reached((s) => s.context.lastError !== null);
      expect(controller.status().lastError?.code).toBe('gateway_exited');
      expect(t.wakeups.next).not.toBeNull();
      await fireNextWakeup(t, controller);
      await untilState(controller, 'ready');
      expect(controller.status().bootAttempt).toBe(2);
      expect(t.runtime.container.starts).toBe(2);
    });
  });

  describe('persistence', () => {
    it('should resume the same state, timers and meter after a restart', async () => {
      const t = setup();
      const first = await t.load();
      await first.command('wake');
      await untilState(first, 'ready');
      t.clock.advance(90_000);
      await first.onWakeup();
      expect(first.state).toBe('idle');
      const statusBefore = first.status();

      const second = await t.load();
      expect(second.state).toBe('idle');
      expect(second.status().since).toBe(statusBefore.since);
      expect(second.status().sleepAt).toBe(statusBefore.sleepAt);
      expect(second.status().history).toEqual(statusBefore.history);
      expect(second.status().meter.totalSeconds).toBeCloseTo(90, 0);
      t.clock.now = Date.parse(statusBefore.sleepAt as string);
      await second.onWakeup();
      await untilState(second, 'sleeping');
    });

    it('should keep a hibernation when the stored snapshot cannot be read', async () => {
      const t = setup();
      const first = await t.load();
      await first.command('hibernate', { reason: 'budget', by: 'budget' });
      const record = t.storage.data.get('lifecycle') as { snapshot: { value: unknown; children: unknown } };
      record.snapshot = { ...record.snapshot, value: { hibernated: 'no-such-substate' } } as never;
      const second = await t.load();
      expect(second.state).toBe('hibernated');
      expect(t.logs.some((l) => l.event === 'lifecycle:restore-failed')).toBe(true);
    });

    it('should apply a changed SLEEP_AFTER to a restored snapshot', async () => {
      const t = setup();
      await (await t.load()).command('hibernate');
      const changed = await t.load({ containerEnv: {}, config: { ...config, lifecycle: { ...config.lifecycle, sleepAfterMs: 15 * 60_000 } } });
      expect(changed.status().sleepAfterMs).toBe(15 * 60_000);
      expect(changed.state).toBe('hibernated');
    });
  });

  describe('meter', () => {
    it('should meter running seconds per instance type and stop counting when asleep', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      t.clock.advance(120_000);
      await controller.command('sleep');
      await untilState(controller, 'sleeping');
      const seconds = controller.status().meter.seconds[config.instanceType];
      t.clock.advance(3_600_000);
      expect(controller.status().meter.seconds[config.instanceType]).toBe(seconds);
      expect(seconds).toBeCloseTo(120, 0);
      expect(controller.status().meter.running).toBe(false);
    });
  });

  describe('logs', () => {
    it('should never log the container environment', async () => {
      const t = setup();
      const controller = await t.load();
      await controller.command('wake');
      await untilState(controller, 'ready');
      await controller.command('stop');
      await untilState(controller, 'stopped');
      expect(t.logs.length).toBeGreaterThan(2);
      expect(JSON.stringify(t.logs)).not.toContain('secret-token-123');
    });
  });
});

describe('AgentController phase', () => {
  it('should not stay "backing-up" after overlapping backups finish', async () => {
    resetFakeContainers();
    const { BackupStore } = await import('../../src/backup/backup-store.ts');
    const bucket = memoryBucket();
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const controller = await AgentController.load({
      ...NO_WAIT,
      storage,
      wakeups: new RecordingWakeups(),
      runtime: new FakeRuntime(config.agentName),
      config,
      runtimeKind: 'local',
      containerEnv: {},
      clock: clock.read,
      log: () => {},
      backups: new BackupStore(bucket as never, 'default', 10),
    });
    await controller.command('wake');
    await untilState(controller, 'ready');
    fakeContainer(config.agentName).disk.a = '1';
    await Promise.all([controller.backupNow('one'), controller.backupNow('two'), controller.backupNow('three')]);
    expect(controller.status().phase).toBeNull();
    expect(
      controller
        .status()
        .backups.history.filter((e) => e.kind === 'backup')
        .map((e) => e.result),
    ).toEqual(['ok', 'unchanged', 'unchanged']);
  });
});

describe('AgentController wake limit', () => {
  it('should refuse more container-starting wakes per identity and minute than configured, with Retry-After', async () => {
    resetFakeContainers();
    const clock = new ManualClock();
    const controller = await AgentController.load({
      ...NO_WAIT,
      storage: new MemoryStorage(),
      wakeups: new RecordingWakeups(),
      runtime: new FakeRuntime(config.agentName),
      config: { ...config, wakeLimitPerMinute: 2 },
      runtimeKind: 'local',
      containerEnv: {},
      clock: clock.read,
      log: () => {},
    });
    for (let i = 0; i < 2; i++) {
      await controller.command('wake', { identity: 'mallory@example.com' });
      await untilState(controller, 'ready');
      await controller.command('stop');
      await untilState(controller, 'stopped');
    }
    const error = await controller.command('wake', { identity: 'mallory@example.com' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'rate_limited', details: { retryAfterSeconds: expect.any(Number) } });
    expect(controller.state).toBe('stopped');
    await expect(controller.recordRequest('mallory@example.com')).rejects.toMatchObject({ code: 'rate_limited' });
    // Another identity, or the same one a minute later, may wake it.
    await controller.command('wake', { identity: 'owner@example.com' });
    expect(controller.state).toBe('booting');
    await controller.command('stop');
    await untilState(controller, 'stopped');
    clock.advance(61_000);
    await controller.command('wake', { identity: 'mallory@example.com' });
    expect(controller.state).toBe('booting');
    await controller.command('stop');
  });
});
