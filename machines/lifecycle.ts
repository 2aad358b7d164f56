/**
 * The assistant's lifecycle: stopped → booting → ready ⇄ idle → sleeping,
 * and hibernated, reachable from every state and left only by resume.
 *
 * The chart only: its actions, guards and actors are named in
 * lifecycle-setup.ts. Timers are durable timers the host keeps
 * (`scheduleTimer` / `cancelTimer`), never XState delays. Tags answer the
 * host's questions: `running` (a container is expected: booting, ready,
 * idle) and `stopping` (a stop sequence is under way).
 */
import type { LifecycleContext, StopOutput, StopTarget, TimerName } from './lifecycle-types.ts';
import { backoffDelayMs, initialLifecycleContext, lifecycleSetup, quietDelayMs, sleepDelayMs } from './lifecycle-setup.ts';

export { backoffDelayMs, initialLifecycleContext, quietDelayMs, sleepDelayMs } from './lifecycle-setup.ts';

/** The tag of the states that expect a running container. */
export const RUNNING_TAG = 'running';
/** The tag of the stop sequence's states. */
export const STOPPING_TAG = 'stopping';
/** The tag of the states where the gateway takes requests: ready or idle, no stop under way. */
export const SERVING_TAG = 'serving';

const timer = (name: TimerName, delay: (c: LifecycleContext) => number) => ({
  type: 'scheduleTimer' as const,
  params: ({ context }: { context: LifecycleContext }) => ({ timer: name, delayMs: delay(context) }),
});
const cancel = (name: TimerName) => ({ type: 'cancelTimer' as const, params: { timer: name } });
/** The timers of a sub-state with a running container: its own and the health check's, set on entry and cancelled on exit. */
const timersWithHealth = (name: TimerName, delay: (c: LifecycleContext) => number) => ({
  entry: [timer(name, delay), timer('health', (c) => c.healthIntervalMs)],
  exit: [cancel(name), cancel('health')],
});
const sleepIntent = (fallbackReason: string) => ({ type: 'setStopIntent' as const, params: { target: 'sleeping' as const, fallbackReason } });

/** Sleep, stop and hibernate in a state with a running container: each enters its stop sequence. */
function stopCommands(when: string) {
  const stopFor = (target: StopTarget, fallbackReason: string) => ({
    target: '.stopping',
    actions: { type: 'setStopIntent' as const, params: { target, fallbackReason } },
  });
  return {
    'lifecycle.sleep': stopFor('sleeping', `sleep requested${when}`),
    'lifecycle.stop': stopFor('stopped', `stop requested${when}`),
    'lifecycle.hibernate': stopFor('hibernated', `hibernate requested${when}`),
  };
}

/** A failed boot attempt: back off and try again while attempts are left, else give up. */
const retryOrGiveUp = [
  { guard: 'canRetryBoot' as const, target: 'backingOff', actions: 'recordBootFailure' as const },
  { target: 'failing', actions: ['recordBootFailure' as const, 'markBootGivenUp' as const] },
];

/** What every state with a serving container does alike: periodic backups and change checks, and noticing it is gone. */
const servingChecks = {
  'backup.due': { actions: ['runBackup' as const, timer('backup', (c) => c.backupIntervalMs)] },
  'changes.checkDue': { actions: ['checkChanges' as const, timer('changeCheck', (c) => c.changeCheckMs)] },
  'container.exited': {
    target: '#lifecycle.stopped' as const,
    actions: ['recordContainerExit' as const, 'finishStop' as const, cancel('backup'), cancel('changeCheck')],
  },
};

/**
 * What every idle substate does alike while the container runs: activity
 * wakes it up, the periodic checks go on (the health timer only where the
 * state keeps one: a brief check of the gateway does not).
 */
function whileIdle(keepsHealthTimer = true) {
  return {
    'activity.recorded': { target: '#lifecycle.ready' as const, actions: ['markPersonSeen' as const, 'clearWork' as const] },
    'lifecycle.wake': { target: '#lifecycle.ready' as const, actions: ['markPersonSeen' as const, 'clearWork' as const] },
    'health.checkDue': { actions: keepsHealthTimer ? ['checkHealth' as const, timer('health', (c) => c.healthIntervalMs)] : ['checkHealth' as const] },
    ...servingChecks,
  };
}

/** The run a scheduled wake stayed up for finished: with nobody else around, go back to sleep now (the idle check first). */
function scheduledRunFinished(checkTarget: string) {
  return [{ guard: 'isPersonAbsent' as const, target: checkTarget, actions: 'clearScheduledRun' as const }, { actions: 'clearScheduledRun' as const }];
}

/** The durable timer of a scheduled wake, as far ahead as the stop's output says. */
function scheduledWakeTimer({ event }: { event: unknown }): { timer: TimerName; delayMs: number } {
  return { timer: 'scheduledWake', delayMs: Math.max(0, (event as { output?: StopOutput }).output?.nextWake?.inMs ?? 0) };
}

/**
 * The stop sequence shared by every state that has a running container: stop
 * the runtime, then land in the target the intent names. While it runs,
 * commands only upgrade the intent and requests are remembered.
 */
function stoppingState() {
  const landed = ['recordStopOutcome' as const, 'finishStop' as const];
  return {
    initial: 'working' as const,
    tags: [STOPPING_TAG],
    entry: [cancel('backup'), cancel('changeCheck')],
    on: {
      'lifecycle.sleep': {},
      'lifecycle.stop': { actions: 'upgradeStopIntent' as const },
      'lifecycle.hibernate': { actions: 'upgradeStopIntent' as const },
      'lifecycle.wake': { actions: 'rememberWake' as const },
      'activity.recorded': { actions: 'rememberWake' as const },
    },
    states: {
      working: {
        invoke: {
          id: 'stopRuntime',
          src: 'stopRuntime' as const,
          input: ({ context }: { context: LifecycleContext }) => ({
            target: context.stopIntent?.target ?? ('stopped' as const),
            reason: context.stopIntent?.reason ?? 'stop',
            backup: true,
            force: context.stopIntent?.target === 'hibernated' && context.hibernation?.by === 'budget',
          }),
          onDone: [
            { guard: { type: 'isStoppingFor' as const, params: { target: 'hibernated' as const } }, target: '#lifecycle.hibernated', actions: landed },
            { guard: 'shouldWakeAfterStop' as const, target: '#lifecycle.booting', actions: 'startBootAttempts' as const },
            {
              guard: 'isSleepWithScheduledWake' as const,
              target: '#lifecycle.sleeping',
              actions: [...landed, 'recordScheduledWake' as const, { type: 'scheduleTimer' as const, params: scheduledWakeTimer }],
            },
            {
              guard: { type: 'isStoppingFor' as const, params: { target: 'sleeping' as const } },
              target: '#lifecycle.sleeping',
              actions: [...landed, 'clearScheduledWake' as const],
            },
            { target: '#lifecycle.stopped', actions: landed },
          ],
          onError: { target: 'retrying' as const, actions: 'recordStopFailure' as const },
        },
      },
      retrying: {
        entry: [timer('stopRetry', (c) => c.stopRetryMs)],
        exit: [cancel('stopRetry')],
        on: { 'stop.retryDue': { target: 'working' as const } },
      },
    },
  };
}

/** A stop of the runtime that lands in `stopped` whatever happens (cleaning up after a failed boot). */
function cleanUp(reason: string, then: string, actions?: 'finishStop') {
  const next = actions ? { target: then, actions } : { target: then };
  return {
    id: 'stopRuntime',
    src: 'stopRuntime' as const,
    input: () => ({ target: 'stopped' as const, reason, backup: false, force: true }),
    onDone: next,
    onError: next,
  };
}

export const lifecycleMachine = lifecycleSetup.createMachine({
  id: 'lifecycle',
  initial: 'stopped',
  context: ({ input }) => initialLifecycleContext(input),
  on: {
    'settings.updated': { actions: 'applySettings' },
  },
  states: {
    stopped: {
      on: {
        'lifecycle.wake': { target: 'booting', actions: 'startBootAttempts' },
        'lifecycle.hibernate': { target: 'hibernated', actions: 'recordHibernation' },
      },
    },
    booting: {
      initial: 'starting',
      tags: [RUNNING_TAG],
      on: stopCommands(' while booting'),
      states: {
        starting: {
          entry: [timer('bootDeadline', (c) => c.bootTimeoutMs)],
          exit: [cancel('bootDeadline')],
          invoke: { id: 'bootRuntime', src: 'bootRuntime', input: ({ context }) => ({ attempt: context.bootAttempt }) },
          on: {
            'boot.progressed': { actions: 'recordBootPhase' },
            'boot.succeeded': {
              target: '#lifecycle.ready',
              actions: ['recordBootSuccess', timer('backup', (c) => c.backupIntervalMs), timer('changeCheck', (c) => c.changeCheckMs)],
            },
            'boot.failed': retryOrGiveUp,
            'boot.timedOut': retryOrGiveUp,
            'container.exited': retryOrGiveUp,
          },
        },
        backingOff: {
          initial: 'cleaning',
          states: {
            cleaning: { invoke: cleanUp('clean up before the next boot attempt', 'waiting') },
            waiting: {
              entry: [timer('bootBackoff', backoffDelayMs)],
              exit: [cancel('bootBackoff')],
              on: { 'boot.backoffElapsed': { target: '#lifecycle.booting.starting', actions: 'nextBootAttempt' } },
            },
          },
        },
        failing: { invoke: cleanUp('boot failed', '#lifecycle.stopped', 'finishStop') },
        stopping: stoppingState(),
      },
    },
    ready: {
      initial: 'serving',
      tags: [RUNNING_TAG],
      on: stopCommands(''),
      states: {
        serving: {
          tags: [SERVING_TAG],
          ...timersWithHealth('quiet', quietDelayMs),
          on: {
            // Activity restarts the quiet time only: the health check keeps its own pace under steady traffic.
            'activity.recorded': { actions: ['markPersonSeen', timer('quiet', quietDelayMs)] },
            'lifecycle.wake': { actions: ['markPersonSeen', timer('quiet', quietDelayMs)] },
            'activity.quieted': { target: '#lifecycle.idle' },
            'schedule.finished': scheduledRunFinished('#lifecycle.idle.checkingWork'),
            'health.checkDue': { actions: ['checkHealth', timer('health', (c) => c.healthIntervalMs)] },
            ...servingChecks,
          },
        },
        stopping: stoppingState(),
      },
    },
    idle: {
      initial: 'waiting',
      tags: [RUNNING_TAG],
      on: stopCommands(''),
      states: {
        waiting: {
          tags: [SERVING_TAG],
          ...timersWithHealth('sleep', sleepDelayMs),
          on: {
            ...whileIdle(),
            'idle.timedOut': [
              // Up for a scheduled run that has not finished: the idle time starts over.
              { guard: 'isAwaitingScheduledRun', actions: timer('sleep', sleepDelayMs) },
              { target: 'checkingWork' },
            ],
            'schedule.finished': scheduledRunFinished('checkingWork'),
          },
        },
        // Idle means idle inside too: the gateway is asked whether work still runs.
        checkingWork: {
          tags: [SERVING_TAG],
          invoke: {
            id: 'checkWork',
            src: 'checkWork',
            input: ({ context }) => ({ since: context.work?.since ?? null }),
            onDone: [
              { guard: 'isWorkIdle', target: 'stopping', actions: ['clearWork', sleepIntent('idle for sleepAfter')] },
              {
                guard: 'hasWaitedLongEnough',
                target: 'stopping',
                actions: ['recordWork', sleepIntent('idle for sleepAfter; work still running after SLEEP_MAX_DEFER is cut short by the drain')],
              },
              { target: 'waitingForWork', actions: 'recordWork' },
            ],
            // The gateway cannot say (an old gateway, a stand-in, a hang): sleep as before rather than bill on.
            onError: { target: 'stopping', actions: ['clearWork', sleepIntent('idle for sleepAfter (the gateway could not say whether work runs)')] },
          },
          on: { ...whileIdle(false), 'schedule.finished': { actions: 'clearScheduledRun' } },
        },
        // Work runs inside: it counts as activity; the sleep is tried again after the gateway's retryAfterMs.
        waitingForWork: {
          tags: [SERVING_TAG],
          ...timersWithHealth('workRetry', (c) => c.work?.retryAfterMs ?? c.healthIntervalMs),
          on: { ...whileIdle(), 'work.retryDue': { target: 'checkingWork' }, 'schedule.finished': { actions: 'clearScheduledRun' } },
        },
        stopping: stoppingState(),
      },
    },
    sleeping: {
      // The scheduled wake (if any) was armed by the stop that led here; leaving by any other way drops it.
      exit: [cancel('scheduledWake')],
      on: {
        'lifecycle.wake': { target: 'booting', actions: ['clearScheduledWake', 'startBootAttempts'] },
        'schedule.due': { target: 'booting', actions: ['startBootAttempts', 'beginScheduledRun'] },
        'lifecycle.stop': { target: 'stopped', actions: 'clearScheduledWake' },
        'lifecycle.hibernate': { target: 'hibernated', actions: ['clearScheduledWake', 'recordHibernation'] },
      },
    },
    hibernated: {
      on: {
        'lifecycle.resume': { target: 'sleeping', actions: 'clearHibernation' },
      },
    },
  },
});

export type LifecycleMachine = typeof lifecycleMachine;
