import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, initialTransition, transition, type SnapshotFrom, type StateValue } from 'xstate';
import {
  backoffDelayMs,
  initialLifecycleContext,
  lifecycleMachine,
  quietDelayMs,
  RUNNING_TAG,
  SERVING_TAG,
  sleepDelayMs,
  STOPPING_TAG,
} from '../../machines/lifecycle.ts';
import { LIFECYCLE_STATES, type LifecycleContext, type LifecycleEvent, type LifecycleState, type StopOutput } from '../../machines/lifecycle-types.ts';
import { parseLifecycleSettings } from '../../src/config.ts';

type Snapshot = SnapshotFrom<typeof lifecycleMachine>;

/** The settings table's defaults: what the host passes in when nothing is configured. */
const DEFAULTS = parseLifecycleSettings({});
const baseContext: LifecycleContext = initialLifecycleContext({ ...DEFAULTS, sleepAfterMs: 600_000, quietAfterMs: 60_000 });

function at(value: StateValue, context: Partial<LifecycleContext> = {}): Snapshot {
  return lifecycleMachine.resolveState({ value, context: { ...baseContext, ...context } });
}

function top(snapshot: Snapshot): LifecycleState {
  const v = snapshot.value;
  return (typeof v === 'string' ? v : Object.keys(v)[0]) as LifecycleState;
}

function step(snapshot: Snapshot, event: LifecycleEvent | { type: string; [k: string]: unknown }) {
  const [next, actions] = transition(lifecycleMachine, snapshot, event as LifecycleEvent);
  const named = actions.map((a) => ({ type: a.type, params: a.params as Record<string, unknown> | undefined }));
  return { next, actions: named, types: named.map((a) => a.type) };
}

const stopDone = { type: 'xstate.done.actor.stopRuntime', output: undefined };
const stopError = { type: 'xstate.error.actor.stopRuntime', error: new Error('signal refused') };
const hibernate: LifecycleEvent = { type: 'lifecycle.hibernate', reason: 'budget: projected $21 > $20', by: 'budget' };
const failed = (retryable: boolean): LifecycleEvent => ({
  type: 'boot.failed',
  error: { code: 'config_unreadable', message: 'openclaw.json is not valid JSON' },
  retryable,
});
const exited: LifecycleEvent = { type: 'container.exited', exitCode: 137, reason: 'killed by SIGKILL' };
const workIdle = { type: 'xstate.done.actor.checkWork', output: { idle: true } };
const workBusy = (waitedMs = 0) => ({
  type: 'xstate.done.actor.checkWork',
  output: {
    idle: false,
    blockers: [{ kind: 'background-exec', count: 1, message: '1 active background exec session(s)' }],
    retryAfterMs: 20_000,
    since: 1_000,
    waitedMs,
  },
});
const workUnknown = { type: 'xstate.error.actor.checkWork', error: new Error('not_found') };
const job = { jobId: 'j1', jobName: 'daily report', runAtMs: 2_000_000, wakeAtMs: 1_970_000 };
const stopDoneWithWake = { type: 'xstate.done.actor.stopRuntime', output: { warning: null, nextWake: { ...job, inMs: 600_000 } } };

/** The idle timer ran out and the gateway said nothing runs: the stop for sleep begins. */
function sleepByIdle(snapshot: Snapshot): Snapshot {
  return step(step(snapshot, { type: 'idle.timedOut' }).next, workIdle).next;
}

describe('lifecycleMachine', () => {
  describe('initial state', () => {
    it('should start in stopped with the given settings', () => {
      const [snapshot] = initialTransition(lifecycleMachine, { ...DEFAULTS, sleepAfterMs: 10_000 });
      expect(snapshot.value).toBe('stopped');
      expect(snapshot.context.sleepAfterMs).toBe(10_000);
      expect(snapshot.context.bootAttempt).toBe(0);
    });
  });

  describe('transition table', () => {
    // [from state value, context, event, expected state value]
    const table: Array<[string, StateValue, Partial<LifecycleContext>, LifecycleEvent | { type: string }, StateValue]> = [
      ['stopped wakes', 'stopped', {}, { type: 'lifecycle.wake' }, { booting: 'starting' }],
      ['stopped hibernates', 'stopped', {}, hibernate, 'hibernated'],
      ['booting reports a phase', { booting: 'starting' }, { bootAttempt: 1 }, { type: 'boot.progressed', phase: 'configuring' }, { booting: 'starting' }],
      ['booting succeeds', { booting: 'starting' }, { bootAttempt: 1 }, { type: 'boot.succeeded' }, { ready: 'serving' }],
      ['booting fails, retry left', { booting: 'starting' }, { bootAttempt: 1 }, failed(true), { booting: { backingOff: 'cleaning' } }],
      ['booting fails for good (not retryable)', { booting: 'starting' }, { bootAttempt: 1 }, failed(false), { booting: 'failing' }],
      ['booting fails on the last attempt', { booting: 'starting' }, { bootAttempt: 3 }, failed(true), { booting: 'failing' }],
      ['booting times out', { booting: 'starting' }, { bootAttempt: 1 }, { type: 'boot.timedOut' }, { booting: { backingOff: 'cleaning' } }],
      ['runtime exits while booting', { booting: 'starting' }, { bootAttempt: 1 }, exited, { booting: { backingOff: 'cleaning' } }],
      ['failed attempt cleaned up', { booting: { backingOff: 'cleaning' } }, { bootAttempt: 1 }, stopDone, { booting: { backingOff: 'waiting' } }],
      ['cleanup failure still waits', { booting: { backingOff: 'cleaning' } }, { bootAttempt: 1 }, stopError, { booting: { backingOff: 'waiting' } }],
      ['backoff elapses', { booting: { backingOff: 'waiting' } }, { bootAttempt: 1 }, { type: 'boot.backoffElapsed' }, { booting: 'starting' }],
      ['given-up boot lands in stopped', { booting: 'failing' }, { bootAttempt: 3 }, stopDone, 'stopped'],
      ['sleep while booting', { booting: 'starting' }, { bootAttempt: 1 }, { type: 'lifecycle.sleep' }, { booting: { stopping: 'working' } }],
      ['stop while booting', { booting: 'starting' }, { bootAttempt: 1 }, { type: 'lifecycle.stop' }, { booting: { stopping: 'working' } }],
      ['hibernate while booting', { booting: 'starting' }, { bootAttempt: 1 }, hibernate, { booting: { stopping: 'working' } }],
      ['ready gets activity', { ready: 'serving' }, {}, { type: 'activity.recorded' }, { ready: 'serving' }],
      ['ready gets a wake', { ready: 'serving' }, {}, { type: 'lifecycle.wake' }, { ready: 'serving' }],
      ['ready goes quiet', { ready: 'serving' }, {}, { type: 'activity.quieted' }, { idle: 'waiting' }],
      ['ready health check', { ready: 'serving' }, {}, { type: 'health.checkDue' }, { ready: 'serving' }],
      ['ready runtime dies', { ready: 'serving' }, {}, exited, 'stopped'],
      ['ready is put to sleep', { ready: 'serving' }, {}, { type: 'lifecycle.sleep' }, { ready: { stopping: 'working' } }],
      ['ready is stopped', { ready: 'serving' }, {}, { type: 'lifecycle.stop' }, { ready: { stopping: 'working' } }],
      ['ready is hibernated', { ready: 'serving' }, {}, hibernate, { ready: { stopping: 'working' } }],
      ['idle gets activity', { idle: 'waiting' }, {}, { type: 'activity.recorded' }, { ready: 'serving' }],
      ['idle gets a wake', { idle: 'waiting' }, {}, { type: 'lifecycle.wake' }, { ready: 'serving' }],
      ['idle times out: the gateway is asked whether work runs', { idle: 'waiting' }, {}, { type: 'idle.timedOut' }, { idle: 'checkingWork' }],
      ['nothing runs inside: the stop for sleep', { idle: 'checkingWork' }, {}, workIdle, { idle: { stopping: 'working' } }],
      ['work runs inside: the sleep waits for it', { idle: 'checkingWork' }, {}, workBusy(), { idle: 'waitingForWork' }],
      ['work still runs after SLEEP_MAX_DEFER: the stop anyway', { idle: 'checkingWork' }, {}, workBusy(3_600_000), { idle: { stopping: 'working' } }],
      ['the gateway cannot say: the stop for sleep', { idle: 'checkingWork' }, {}, workUnknown, { idle: { stopping: 'working' } }],
      ['the wait for work is over: asked again', { idle: 'waitingForWork' }, {}, { type: 'work.retryDue' }, { idle: 'checkingWork' }],
      ['a request while waiting for work', { idle: 'waitingForWork' }, {}, { type: 'activity.recorded' }, { ready: 'serving' }],
      ['a request while asking', { idle: 'checkingWork' }, {}, { type: 'activity.recorded' }, { ready: 'serving' }],
      ['idle times out while up for a scheduled run', { idle: 'waiting' }, { scheduledRun: job }, { type: 'idle.timedOut' }, { idle: 'waiting' }],
      [
        'a scheduled run finished, nobody else around',
        { ready: 'serving' },
        { scheduledRun: job, personSeen: false },
        { type: 'schedule.finished', outcome: 'finished' },
        { idle: 'checkingWork' },
      ],
      [
        'a scheduled run finished while a person uses it',
        { ready: 'serving' },
        { scheduledRun: job, personSeen: true },
        { type: 'schedule.finished', outcome: 'finished' },
        { ready: 'serving' },
      ],
      [
        'a scheduled run finished while idle',
        { idle: 'waiting' },
        { scheduledRun: job, personSeen: false },
        { type: 'schedule.finished', outcome: 'gave-up' },
        { idle: 'checkingWork' },
      ],
      ['sleeping wakes for a scheduled job', 'sleeping', { scheduledWake: job }, { type: 'schedule.due' }, { booting: 'starting' }],
      [
        'stop for sleep completes with a job ahead',
        { idle: { stopping: 'working' } },
        { stopIntent: { target: 'sleeping', reason: 'idle' } },
        stopDoneWithWake,
        'sleeping',
      ],
      ['idle health check', { idle: 'waiting' }, {}, { type: 'health.checkDue' }, { idle: 'waiting' }],
      ['idle runtime dies', { idle: 'waiting' }, {}, exited, 'stopped'],
      ['idle is hibernated', { idle: 'waiting' }, {}, hibernate, { idle: { stopping: 'working' } }],
      ['stop for sleep completes', { idle: { stopping: 'working' } }, { stopIntent: { target: 'sleeping', reason: 'idle' } }, stopDone, 'sleeping'],
      ['stop for hibernate completes', { ready: { stopping: 'working' } }, { stopIntent: { target: 'hibernated', reason: 'budget' } }, stopDone, 'hibernated'],
      ['stop for stop completes', { ready: { stopping: 'working' } }, { stopIntent: { target: 'stopped', reason: 'op' } }, stopDone, 'stopped'],
      [
        'stop for sleep with a waiting request boots again',
        { idle: { stopping: 'working' } },
        { stopIntent: { target: 'sleeping', reason: 'idle' }, wakeAfterStop: true },
        stopDone,
        { booting: 'starting' },
      ],
      ['stop fails', { idle: { stopping: 'working' } }, { stopIntent: { target: 'sleeping', reason: 'idle' } }, stopError, { idle: { stopping: 'retrying' } }],
      [
        'stop retried',
        { idle: { stopping: 'retrying' } },
        { stopIntent: { target: 'sleeping', reason: 'idle' } },
        { type: 'stop.retryDue' },
        { idle: { stopping: 'working' } },
      ],
      ['sleeping wakes', 'sleeping', {}, { type: 'lifecycle.wake' }, { booting: 'starting' }],
      ['sleeping is stopped', 'sleeping', {}, { type: 'lifecycle.stop' }, 'stopped'],
      ['sleeping hibernates', 'sleeping', {}, hibernate, 'hibernated'],
      ['hibernated resumes', 'hibernated', { hibernation: { reason: 'budget', by: 'budget' } }, { type: 'lifecycle.resume' }, 'sleeping'],
    ];

    it.each(table)('should move when %s', (_name, from, context, event, expected) => {
      const { next } = step(at(from, context), event);
      expect(next.value).toEqual(expected);
    });
  });

  describe('refused transitions', () => {
    const refused: Array<[StateValue, LifecycleEvent['type'][]]> = [
      [
        'stopped',
        [
          'lifecycle.sleep',
          'lifecycle.stop',
          'lifecycle.resume',
          'activity.recorded',
          'activity.quieted',
          'idle.timedOut',
          'boot.succeeded',
          'boot.timedOut',
          'container.exited',
          'health.checkDue',
        ],
      ],
      [{ booting: 'starting' }, ['lifecycle.wake', 'lifecycle.resume', 'activity.recorded', 'activity.quieted', 'idle.timedOut']],
      [{ ready: 'serving' }, ['lifecycle.resume', 'boot.succeeded', 'boot.timedOut', 'idle.timedOut']],
      [{ idle: 'waiting' }, ['lifecycle.resume', 'boot.succeeded', 'activity.quieted']],
      ['sleeping', ['lifecycle.sleep', 'lifecycle.resume', 'activity.recorded', 'idle.timedOut', 'container.exited', 'boot.succeeded']],
      [
        'hibernated',
        [
          'lifecycle.wake',
          'lifecycle.sleep',
          'lifecycle.stop',
          'lifecycle.hibernate',
          'activity.recorded',
          'boot.succeeded',
          'container.exited',
          'idle.timedOut',
          'schedule.due',
        ],
      ],
      ['stopped', ['schedule.due', 'schedule.finished', 'work.retryDue']],
      [{ idle: { stopping: 'working' } }, ['idle.timedOut', 'activity.quieted', 'health.checkDue', 'container.exited', 'lifecycle.sleep']],
    ];
    const events: Record<string, LifecycleEvent> = {
      'lifecycle.hibernate': { type: 'lifecycle.hibernate', reason: 'again', by: 'operator' },
      'container.exited': exited,
      'boot.failed': failed(true),
      'boot.progressed': { type: 'boot.progressed', phase: 'x' },
      'schedule.finished': { type: 'schedule.finished', outcome: 'finished' },
    };
    for (const [from, types] of refused) {
      it.each(types)(`should stay in ${JSON.stringify(from)} on %s`, (type) => {
        const snapshot = at(from, { stopIntent: { target: 'sleeping', reason: 'idle' }, hibernation: { reason: 'budget', by: 'budget' } });
        const { next, types: actionTypes } = step(snapshot, events[type] ?? ({ type } as LifecycleEvent));
        expect(next.value).toEqual(from);
        expect(actionTypes.filter((t) => !String(t).startsWith('xstate.'))).toEqual([]);
      });
    }

    it('should keep the hibernation reason when a wake is refused', () => {
      const snapshot = at('hibernated', { hibernation: { reason: 'budget: $21 > $20', by: 'budget' } });
      const { next } = step(snapshot, { type: 'lifecycle.wake' });
      expect(next.value).toBe('hibernated');
      expect(next.context.hibernation).toEqual({ reason: 'budget: $21 > $20', by: 'budget' });
    });
  });

  describe('timers and side effects', () => {
    it('should schedule the boot deadline and start the boot actor on wake', () => {
      const { next, actions } = step(at('sleeping'), { type: 'lifecycle.wake' });
      expect(next.context.bootAttempt).toBe(1);
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'bootDeadline', delayMs: baseContext.bootTimeoutMs } });
      expect(actions.map((a) => a.type)).toContain('xstate.spawnChild');
    });

    it('should cancel the deadline and schedule quiet and health timers when boot succeeds', () => {
      const { next, actions } = step(at({ booting: 'starting' }, { bootAttempt: 1, lastError: { code: 'boot_failed', message: 'old' } }), {
        type: 'boot.succeeded',
      });
      expect(next.context.lastError).toBeNull();
      expect(actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'bootDeadline' } });
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'quiet', delayMs: 60_000 } });
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'health', delayMs: baseContext.healthIntervalMs } });
    });

    it('should reschedule the quiet timer on every activity in ready, and leave the health check alone', () => {
      const { actions } = step(at({ ready: 'serving' }), { type: 'activity.recorded' });
      const types = actions.map((a) => `${a.type}:${a.params?.timer}`);
      expect(types).toEqual(['scheduleTimer:quiet']);
    });

    it('should sleep sleepAfter after the last activity (quiet + idle delays add up)', () => {
      const { actions } = step(at({ ready: 'serving' }), { type: 'activity.quieted' });
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'sleep', delayMs: 600_000 - 60_000 } });
      expect(quietDelayMs(baseContext) + sleepDelayMs(baseContext)).toBe(baseContext.sleepAfterMs);
    });

    it('should cap the quiet time at half of a short sleepAfter', () => {
      const short = { ...baseContext, sleepAfterMs: 10_000 };
      expect(quietDelayMs(short)).toBe(5_000);
      expect(sleepDelayMs(short)).toBe(5_000);
    });

    it('should double the backoff with each failed attempt', () => {
      expect(backoffDelayMs({ ...baseContext, bootAttempt: 1 })).toBe(baseContext.bootBackoffMs);
      expect(backoffDelayMs({ ...baseContext, bootAttempt: 3 })).toBe(baseContext.bootBackoffMs * 4);
      const { next, actions } = step(at({ booting: { backingOff: 'cleaning' } }, { bootAttempt: 2 }), stopDone);
      expect(next.value).toEqual({ booting: { backingOff: 'waiting' } });
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'bootBackoff', delayMs: baseContext.bootBackoffMs * 2 } });
    });

    it('should count the attempt up and re-arm the deadline after backoff', () => {
      const { next, actions } = step(at({ booting: { backingOff: 'waiting' } }, { bootAttempt: 1 }), { type: 'boot.backoffElapsed' });
      expect(next.context.bootAttempt).toBe(2);
      expect(actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'bootDeadline', delayMs: baseContext.bootTimeoutMs } });
    });

    it('should record why a boot gave up', () => {
      let s = step(at({ booting: 'starting' }, { bootAttempt: 1 }), failed(false)).next;
      expect(s.context.lastError?.code).toBe('config_unreadable');
      expect(s.context.lastError?.message).toContain('gave up after attempt 1');
      s = step(s, stopDone).next;
      expect(s.value).toBe('stopped');
      expect(s.context.lastError?.code).toBe('config_unreadable');
    });

    it('should record a boot timeout as boot_timeout', () => {
      const { next } = step(at({ booting: 'starting' }, { bootAttempt: 1 }), { type: 'boot.timedOut' });
      expect(next.context.lastError?.code).toBe('boot_timeout');
    });

    it('should record an unexpected exit while ready', () => {
      const { next, actions } = step(at({ ready: 'serving' }), exited);
      expect(next.context.lastError).toEqual({ code: 'container_exited', message: expect.stringContaining('SIGKILL') });
      expect(actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'health' } });
    });

    it('should check health and re-arm the health timer', () => {
      const { types } = step(at({ idle: 'waiting' }), { type: 'health.checkDue' });
      expect(types).toEqual(['checkHealth', 'scheduleTimer']);
    });

    it('should cancel idle timers when the idle time runs out, and stop for sleep once the gateway says nothing runs', () => {
      const { next, actions } = step(at({ idle: 'waiting' }), { type: 'idle.timedOut' });
      expect(actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'sleep' } });
      expect(actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'health' } });
      expect(step(next, workIdle).next.context.stopIntent).toEqual({ target: 'sleeping', reason: 'idle for sleepAfter' });
    });

    it('should wait retryAfterMs when work runs inside, showing what runs, and ask again', () => {
      const busy = step(at({ idle: 'checkingWork' }), workBusy());
      expect(busy.next.context.work).toEqual({
        blockers: [{ kind: 'background-exec', count: 1, message: '1 active background exec session(s)' }],
        since: 1_000,
        retryAfterMs: 20_000,
      });
      expect(busy.actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'workRetry', delayMs: 20_000 } });
      const again = step(busy.next, { type: 'work.retryDue' });
      expect(again.next.value).toEqual({ idle: 'checkingWork' });
      expect(step(again.next, workIdle).next.context.work).toBeNull();
    });

    it('should arm the scheduled wake when a sleep finds a job ahead, and drop it when a person wakes it first', () => {
      const asleep = step(at({ idle: { stopping: 'working' } }, { stopIntent: { target: 'sleeping', reason: 'idle' } }), stopDoneWithWake);
      expect(asleep.next.context.scheduledWake).toEqual(job);
      expect(asleep.actions).toContainEqual({ type: 'scheduleTimer', params: { timer: 'scheduledWake', delayMs: 600_000 } });
      const woken = step(asleep.next, { type: 'lifecycle.wake' });
      expect(woken.actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'scheduledWake' } });
      expect(woken.next.context).toMatchObject({ scheduledWake: null, scheduledRun: null, personSeen: true });
      // A sleep with no job ahead arms nothing.
      expect(step(at({ idle: { stopping: 'working' } }, { stopIntent: { target: 'sleeping', reason: 'idle' } }), stopDone).types).not.toContain(
        'scheduleTimer',
      );
    });

    it('should stay up for the scheduled run it woke for, as nobody asked for anything else', () => {
      const booting = step(at('sleeping', { scheduledWake: job }), { type: 'schedule.due' }).next;
      expect(booting.context).toMatchObject({ scheduledRun: job, scheduledWake: null, personSeen: false });
      const withPerson = step(at({ ready: 'serving' }, { scheduledRun: job, personSeen: false }), { type: 'activity.recorded' }).next;
      expect(withPerson.context.personSeen).toBe(true);
    });

    it('should drop a scheduled wake on hibernation (a hibernated assistant never wakes for a job)', () => {
      const { next, actions } = step(at('sleeping', { scheduledWake: job }), hibernate);
      expect(next.value).toBe('hibernated');
      expect(next.context.scheduledWake).toBeNull();
      expect(actions).toContainEqual({ type: 'cancelTimer', params: { timer: 'scheduledWake' } });
    });

    it('should let hibernate outrank a running stop for sleep', () => {
      let s = sleepByIdle(at({ idle: 'waiting' }));
      s = step(s, hibernate).next;
      expect(s.context.stopIntent?.target).toBe('hibernated');
      expect(s.context.hibernation?.by).toBe('budget');
      s = step(s, stopDone).next;
      expect(s.value).toBe('hibernated');
    });

    it('should not let a sleep downgrade a running stop for hibernate', () => {
      let s = step(at({ ready: 'serving' }), hibernate).next;
      s = step(s, { type: 'lifecycle.sleep' }).next;
      s = step(s, { type: 'lifecycle.wake' }).next;
      expect(s.context.stopIntent?.target).toBe('hibernated');
      expect(s.context.wakeAfterStop).toBe(false);
      expect(step(s, stopDone).next.value).toBe('hibernated');
    });

    it('should remember a request that arrives while stopping for sleep', () => {
      let s = sleepByIdle(at({ idle: 'waiting' }));
      s = step(s, { type: 'activity.recorded' }).next;
      expect(s.context.wakeAfterStop).toBe(true);
      s = step(s, stopDone).next;
      expect(s.value).toEqual({ booting: 'starting' });
      expect(s.context.bootAttempt).toBe(1);
    });

    it('should take the reason of a hibernate command', () => {
      const { next } = step(at('stopped'), hibernate);
      expect(next.context.hibernation).toEqual({ reason: 'budget: projected $21 > $20', by: 'budget' });
      expect(step(next, { type: 'lifecycle.resume' }).next.context.hibernation).toBeNull();
    });

    it('should apply new settings in any state', () => {
      for (const state of ['stopped', { ready: 'serving' }, 'hibernated'] as StateValue[]) {
        const { next } = step(at(state), { type: 'settings.updated', settings: { sleepAfterMs: 900_000 } });
        expect(next.context.sleepAfterMs).toBe(900_000);
        expect(next.value).toEqual(state);
      }
    });
  });

  describe('snapshot', () => {
    it('should round-trip through a persisted snapshot in every state', () => {
      const values: StateValue[] = ['stopped', { ready: 'serving' }, { idle: 'waiting' }, 'sleeping', 'hibernated'];
      for (const value of values) {
        const machine = lifecycleMachine.provide({
          actors: { bootRuntime: fromCallback(() => () => {}), stopRuntime: fromPromise(() => new Promise<StopOutput>(() => {})) },
        });
        const actor = createActor(machine, { input: DEFAULTS, snapshot: at(value, { hibernation: value === 'hibernated' ? { reason: 'r', by: 'b' } : null }) });
        actor.start();
        const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
        actor.stop();
        const restored = createActor(machine, { input: DEFAULTS, snapshot: persisted });
        restored.start();
        expect(restored.getSnapshot().value).toEqual(value);
        expect(restored.getSnapshot().context).toEqual(actor.getSnapshot().context);
        restored.stop();
      }
    });

    it('should restart the boot actor after a restore while booting', () => {
      let starts = 0;
      const machine = lifecycleMachine.provide({
        actors: {
          bootRuntime: fromCallback(() => {
            starts += 1;
            return () => {};
          }),
        },
      });
      const actor = createActor(machine, { input: DEFAULTS }).start();
      actor.send({ type: 'lifecycle.wake' });
      const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      actor.stop();
      createActor(machine, { input: DEFAULTS, snapshot: persisted }).start();
      expect(starts).toBe(2);
    });

    it('should list exactly the six lifecycle states at the top level', () => {
      expect(Object.keys(lifecycleMachine.root.states).sort()).toEqual([...LIFECYCLE_STATES].sort());
      expect(top(at({ idle: { stopping: 'working' } }))).toBe('idle');
    });
  });
});

describe('lifecycle machine tags', () => {
  /** Every atomic state's path, and the tags of it and its ancestors (what snapshot.hasTag sees). */
  function atomicStates(): Array<{ path: string; tags: Set<string> }> {
    const out: Array<{ path: string; tags: Set<string> }> = [];
    const walk = (node: (typeof lifecycleMachine)['root'], path: string[], tags: string[]) => {
      const all = [...tags, ...node.tags];
      const children = Object.values(node.states);
      if (children.length === 0) out.push({ path: path.join('.'), tags: new Set(all) });
      for (const child of children) walk(child, [...path, child.key], all);
    };
    walk(lifecycleMachine.root, [], []);
    return out;
  }

  it('should tag as serving exactly the states of ready and idle outside their stop sequence', () => {
    const states = atomicStates();
    expect(states.length).toBeGreaterThan(10);
    for (const { path, tags } of states) {
      const expected = /^(ready|idle)\./.test(path) && !tags.has(STOPPING_TAG);
      expect(tags.has(SERVING_TAG), path).toBe(expected);
      // Serving implies a running container.
      if (tags.has(SERVING_TAG)) expect(tags.has(RUNNING_TAG), path).toBe(true);
    }
  });
});
