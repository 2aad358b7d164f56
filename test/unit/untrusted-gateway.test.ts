/**
 * The container is untrusted: an agent with a shell can put its own server on
 * the gateway's port and answer the Agent's admin RPC with anything. These
 * replay such answers (negative, huge, NaN, out-of-range, oversized) against
 * the readers, the schedule, the record and the whole controller.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitRecord, RECORD_BUDGET_BYTES, type PersistedRecord } from '../../src/agent/agent-record.ts';
import { MAX_JOBS, ScheduleKeeper, toCronJob } from '../../src/agent/records/schedule-keeper.ts';
import { GatewayRpc, GatewayRpcError, MAX_ANSWER_BYTES } from '../../src/runtime/gateway-rpc.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { fireNextWakeup, setup, untilState } from '../support/controller-harness.ts';
import { resetFakeContainers } from '../support/fake-container.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 10, 12, 0, 0);
const MONTH_END = Date.UTC(2026, 11, 1);

/** A runtime whose gateway answers every call with `answer`. */
function answering(answer: () => Response): Runtime {
  return { fetch: async () => answer() } as unknown as Runtime;
}

describe('GatewayRpc (an untrusted gateway)', () => {
  it('should refuse an answer longer than MAX_ANSWER_BYTES without reading it all', async () => {
    let sent = 0;
    // 16 MiB offered, 64 KiB at a time: the reader must stop soon after its limit.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 16 * 1024 * 1024) return controller.close();
        sent += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
      },
    });
    const rpc = new GatewayRpc(
      answering(() => new Response(endless, { status: 200 })),
      'owner',
    );
    const error = await rpc.call('cron.list').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayRpcError);
    expect((error as GatewayRpcError).code).toBe('bad_answer');
    expect(sent).toBeLessThan(MAX_ANSWER_BYTES + 256 * 1024);
  });

  it('should read a busy answer with NaN, strings and oversized lists as finite, bounded values', async () => {
    const payload = {
      status: 'busy',
      retryAfterMs: 'soon',
      reason: 'x'.repeat(50_000),
      blockers: Array.from({ length: 1_000 }, () => ({ kind: { evil: true }, count: -Infinity, message: 'm'.repeat(500) })),
    };
    const rpc = new GatewayRpc(
      answering(() => Response.json({ ok: true, payload })),
      'owner',
    );
    const answer = await rpc.prepareSuspend('id');
    expect(answer.status).toBe('busy');
    if (answer.status !== 'busy') return;
    expect(Number.isFinite(answer.retryAfterMs)).toBe(true);
    expect(answer.reason.length).toBeLessThanOrEqual(200);
    expect(answer.blockers.length).toBeLessThanOrEqual(20);
    for (const b of answer.blockers) {
      expect(typeof b.kind).toBe('string');
      expect(b.count).toBeGreaterThanOrEqual(0);
      expect(b.message.length).toBeLessThanOrEqual(200);
    }
    const huge = new GatewayRpc(
      answering(() => Response.json({ ok: true, payload: { status: 'busy', retryAfterMs: 1e300 } })),
      'owner',
    );
    const late = await huge.prepareSuspend('id');
    expect(late.status === 'busy' && late.retryAfterMs).toBeLessThanOrEqual(HOUR);
  });
});

describe('ScheduleKeeper (jobs as an untrusted gateway lists them)', () => {
  it('should read times outside the Date range, NaN and negatives as no time', () => {
    for (const nextRunAtMs of [1e20, -1, Number.NaN, '2026-11-10', 8.64e15 + 1]) {
      const job = toCronJob({
        id: 'j',
        name: 'n',
        state: { nextRunAtMs, runningAtMs: 1e300, lastRunAtMs: -5 },
        nextRunAtMs,
        schedule: { kind: 'every', everyMs: -1 },
      });
      expect(job).toMatchObject({ nextRunAtMs: null, runningAtMs: null, lastRunAtMs: null, schedule: null });
    }
  });

  it('should never count a negative or endless run as a negative or endless cost', async () => {
    const keeper = new ScheduleKeeper();
    await keeper.refresh(
      { call: async <T>() => ({ jobs: [{ id: 'hourly', name: 'hourly', schedule: { kind: 'every', everyMs: HOUR }, nextRunAtMs: NOW + HOUR }] }) as T },
      NOW,
    );
    const job = { jobId: 'hourly', jobName: 'hourly', runAtMs: NOW + HOUR, wakeAtMs: NOW + HOUR - 60_000 };
    const options = { nowMs: NOW, untilMs: MONTH_END, mode: 'jobs' as const, leadMs: 60_000, gapMs: 0, bootMs: 15_000 };
    for (const durationMs of [-1e12, -1, 1e15, Number.NaN, 'long']) {
      await keeper.runFinished({ call: async <T>() => ({ entries: [{ action: 'finished', status: 'ok', runAtMs: NOW + HOUR, durationMs }] }) as T }, job);
      const { seconds, wakes } = keeper.upcoming(options);
      expect(wakes).toBeGreaterThan(400);
      // At least the wakes without any run; never more than the time left in the month.
      expect(seconds).toBeGreaterThanOrEqual((wakes * (60_000 + 15_000)) / 1000);
      expect(seconds).toBeLessThanOrEqual((MONTH_END - NOW) / 1000);
    }
  });

  it('should bound the work of expanding a schedule built to be expensive, and count it as the whole month then', async () => {
    const jobs = [
      ...Array.from({ length: 150 }, (_, i) => ({
        id: `s${i}`,
        name: `every second ${i}`,
        schedule: { kind: 'every', everyMs: 1_000 },
        nextRunAtMs: NOW + 1_000 + i,
      })),
      ...Array.from({ length: 150 }, (_, i) => ({
        id: `c${i}`,
        name: `cron ${i}`,
        schedule: { kind: 'cron', expr: '* * * * * *' },
        nextRunAtMs: NOW + 2_000 + i,
      })),
    ];
    const keeper = new ScheduleKeeper();
    const kept = await keeper.refresh({ call: async <T>() => ({ jobs, hasMore: false }) as T }, NOW);
    expect(kept.length).toBe(MAX_JOBS);
    const started = performance.now();
    const upcoming = keeper.upcoming({ nowMs: NOW, untilMs: MONTH_END, mode: 'jobs', leadMs: 60_000, gapMs: 0, bootMs: 15_000 });
    // Bounded in work (on main this ran for minutes): well under the CPU a Durable Object request may use.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(upcoming).toMatchObject({ saturated: true, seconds: (MONTH_END - NOW) / 1000 });
  });
});

describe('the persisted record (a size it checks)', () => {
  it('should cut the parts that can be read again, never the snapshot, timers, meter or budget, when a record is over budget', () => {
    const big = 'n'.repeat(10_000);
    const record = {
      snapshot: { value: 'sleeping', context: {} },
      timers: { scheduledWake: 123 },
      meter: { seconds: { 'standard-2': 10 } },
      since: 1,
      lastActivityAt: null,
      history: Array.from({ length: 50 }, (_, i) => ({ at: String(i), from: 'idle', to: 'sleeping', reason: big })),
      budget: { sleepAfterOverrideMs: null, last: null, decisions: [] },
      schedule: { jobs: Array.from({ length: 200 }, (_, i) => ({ id: String(i), name: big })), readAt: null, lastWakeAt: null, wakes: [], lastRun: null },
    } as unknown as PersistedRecord;
    const { record: fitted, trimmed, bytes } = fitRecord(record);
    expect(bytes).toBeLessThanOrEqual(RECORD_BUDGET_BYTES);
    expect(trimmed).toContain('schedule.jobs');
    expect(fitted).toMatchObject({ snapshot: record.snapshot, timers: record.timers, meter: record.meter, budget: record.budget });
    expect(fitted.schedule?.jobsOmitted).toBe(200);
  });
});

describe('AgentController against a hostile gateway', () => {
  beforeEach(() => resetFakeContainers());
  afterEach(() => resetFakeContainers());

  /** Fires wakeups until `done` (or 200 of them), letting the async checks answer between. */
  async function fireUntil(t: ReturnType<typeof setup>, controller: Awaited<ReturnType<ReturnType<typeof setup>['load']>>, done: () => boolean) {
    for (let i = 0; i < 200 && !done(); i++) {
      await controller.idle();
      if (done()) break;
      if (t.wakeups.next !== null) await fireNextWakeup(t, controller);
    }
    await controller.settle();
  }

  it("should keep a finite timer when a busy answer's retryAfterMs is not a number, and still sleep after SLEEP_MAX_DEFER", async () => {
    const t = setup();
    const controller = await t.load();
    await controller.send({ type: 'settings.updated', settings: { maxSleepDeferMs: 5 * 60_000 } });
    await controller.command('wake');
    await untilState(controller, 'ready');
    t.runtime.container.hostileRpc['gateway.suspend.prepare'] = () => ({
      status: 'busy',
      retryAfterMs: 'soon',
      reason: 'forever',
      blockers: [{ kind: 'root-request', count: 1, message: 'never ends' }],
    });
    await fireUntil(t, controller, () => controller.status().phase === 'waiting-for-work');
    const waiting = controller.status();
    expect(Number.isFinite(waiting.work?.retryAfterMs)).toBe(true);
    expect(Number.isFinite(t.wakeups.next)).toBe(true);
    await fireUntil(t, controller, () => controller.state === 'sleeping');
    expect(controller.state).toBe('sleeping');
    expect(controller.status().lastTransition?.reason).toContain('SLEEP_MAX_DEFER');
  });

  it("should sleep, and not arm a wake, when the jobs' times are outside the Date range", async () => {
    const t = setup();
    const controller = await t.load();
    await controller.command('wake');
    await untilState(controller, 'ready');
    t.runtime.container.cronJobs = [
      { id: 'far', name: 'far', enabled: true, schedule: { kind: 'at', at: 'never' }, nextRunAtMs: 1e20, state: { nextRunAtMs: 1e20 } },
      { id: 'nan', name: 'nan', enabled: true, schedule: { kind: 'every', everyMs: 'x' }, nextRunAtMs: 'soon', state: { nextRunAtMs: -1e20 } },
    ];
    await controller.command('sleep');
    await untilState(controller, 'sleeping');
    expect(controller.status().schedule.next).toBeNull();
    expect(t.wakeups.next).toBeNull();
  });

  it('should keep persisting (and survive a restart) when the gateway lists megabytes of job names', async () => {
    const t = setup();
    const controller = await t.load();
    await controller.command('wake');
    await untilState(controller, 'ready');
    const due = t.clock.now + 2 * HOUR;
    // 600 jobs with 4 KB names, listed 200 a page (as the gateway pages them): 2.4 MB in all.
    t.runtime.container.cronJobs = Array.from({ length: 600 }, (_, i) => ({
      id: `job-${i}-${'i'.repeat(500)}`,
      name: 'N'.repeat(4_000),
      enabled: true,
      schedule: { kind: 'at', at: new Date(due + i * 1000).toISOString() },
      nextRunAtMs: due + i * 1000,
      state: { nextRunAtMs: due + i * 1000 },
    }));
    await controller.command('sleep');
    await untilState(controller, 'sleeping');
    await controller.settle();
    expect(t.storage.failedWrites).toBe(0);
    const stored = JSON.stringify(await t.storage.get('lifecycle'));
    expect(stored.length).toBeLessThanOrEqual(RECORD_BUDGET_BYTES);
    const next = controller.status().schedule.next;
    expect(next?.jobName.length).toBeLessThanOrEqual(200);
    // A restart: the same state and the same scheduled wake come back from storage.
    const again = await t.load();
    expect(again.state).toBe('sleeping');
    expect(again.status().schedule.next).toEqual(next);
  });
});
