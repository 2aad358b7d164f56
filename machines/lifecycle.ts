/**
 * The assistant's lifecycle: stopped → booting → ready ⇄ idle → sleeping,
 * and hibernated, reachable from every state and left only by resume.
 *
 * Pure: no platform imports. Side effects are named actions and actors that
 * the host supplies with `machine.provide()`; timers are durable timers the
 * host keeps (`scheduleTimer` / `cancelTimer`), never XState delays.
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import {
  DEFAULT_LIFECYCLE_SETTINGS,
  type BootInput,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleSettings,
  type StopInput,
  type StopOutput,
  type StopTarget,
  type TimerName,
  type WorkCheck,
} from './lifecycle-types.ts';

/** Quiet time before `ready` becomes `idle`: the configured value, at most half of sleepAfter. */
export function quietDelayMs(context: LifecycleSettings): number {
  return Math.min(context.quietAfterMs, Math.floor(context.sleepAfterMs / 2));
}

/** Time spent in `idle` before sleeping, so that sleep comes sleepAfter after the last activity. */
export function sleepDelayMs(context: LifecycleSettings): number {
  return Math.max(0, context.sleepAfterMs - quietDelayMs(context));
}

/** Retry delay before boot attempt `attempt + 1`: the base, doubled per failed attempt. */
export function backoffDelayMs(context: LifecycleContext): number {
  return context.bootBackoffMs * 2 ** Math.max(0, context.bootAttempt - 1);
}

/** The context of a fresh machine: defaults, overridden by the given settings. */
export function initialLifecycleContext(settings: Partial<LifecycleSettings> = {}): LifecycleContext {
  return {
    ...DEFAULT_LIFECYCLE_SETTINGS,
    ...settings,
    bootAttempt: 0,
    bootPhase: null,
    lastError: null,
    hibernation: null,
    stopIntent: null,
    wakeAfterStop: false,
    work: null,
    scheduledWake: null,
    scheduledRun: null,
    personSeen: false,
  };
}

const notProvided = (name: string) => () => {
  throw new Error(`lifecycle: ${name} was not provided by the host`);
};

const timer = (name: TimerName, delay: (c: LifecycleContext) => number) => ({
  type: 'scheduleTimer' as const,
  params: ({ context }: { context: LifecycleContext }) => ({ timer: name, delayMs: delay(context) }),
});
const cancel = (name: TimerName) => ({ type: 'cancelTimer' as const, params: { timer: name } });
const stopFor = (target: StopTarget, fallbackReason: string) => ({
  target: '.stopping',
  actions: { type: 'setStopIntent' as const, params: { target, fallbackReason } },
});

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as Partial<LifecycleSettings> | undefined,
  },
  actions: {
    /** Host: keep a durable timer that later sends TIMER_EVENTS[timer]. Replaces one of the same name. */
    scheduleTimer: (_, _params: { timer: TimerName; delayMs: number }) => {},
    /** Host: drop a durable timer. */
    cancelTimer: (_, _params: { timer: TimerName }) => {},
    /** Host: probe the runtime once; send `container.exited` when it is gone. */
    checkHealth: () => {},
    /** Host: take a periodic backup now (in the background; unchanged state uploads nothing). */
    runBackup: () => {},
    /** Host: look (cheaply) whether the state changed; a change brings the backup forward to within the debounce time. */
    checkChanges: () => {},
    startBootAttempts: assign({ bootAttempt: 1, bootPhase: null, lastError: null, stopIntent: null, wakeAfterStop: false, work: null, scheduledRun: null, personSeen: true }),
    /** A wake for a scheduled job: stay up for its run; no person has asked for anything. */
    beginScheduledRun: assign(({ context }) => ({ scheduledRun: context.scheduledWake, scheduledWake: null, personSeen: false })),
    markPersonSeen: assign({ personSeen: true }),
    clearScheduledRun: assign({ scheduledRun: null }),
    clearScheduledWake: assign({ scheduledWake: null }),
    /** The stop for a sleep found a scheduled job ahead: keep it (the durable timer is armed beside it). */
    recordScheduledWake: assign({
      scheduledWake: ({ event }) => {
        const next = (event as { output?: StopOutput }).output?.nextWake ?? null;
        return next ? { jobId: next.jobId, jobName: next.jobName, runAtMs: next.runAtMs, wakeAtMs: next.wakeAtMs } : null;
      },
    }),
    recordWork: assign({
      work: ({ context, event }) => {
        const check = (event as { output?: WorkCheck }).output;
        if (!check || check.idle) return context.work;
        return { blockers: check.blockers, since: check.since, retryAfterMs: check.retryAfterMs };
      },
    }),
    clearWork: assign({ work: null }),
    nextBootAttempt: assign({ bootAttempt: ({ context }) => context.bootAttempt + 1, bootPhase: null }),
    recordBootPhase: assign({
      bootPhase: ({ context, event }) => (event.type === 'boot.progressed' ? event.phase : context.bootPhase),
    }),
    recordBootFailure: assign({
      lastError: ({ context, event }) => {
        if (event.type === 'boot.failed') return event.error;
        if (event.type === 'boot.timedOut') {
          return { code: 'boot_timeout', message: `boot attempt ${context.bootAttempt} took longer than ${context.bootTimeoutMs / 1000}s` };
        }
        if (event.type === 'container.exited') {
          return { code: 'boot_exited', message: `the runtime exited while booting (${event.reason})` };
        }
        return context.lastError;
      },
    }),
    markBootGivenUp: assign({
      lastError: ({ context }) => ({
        code: context.lastError?.code ?? 'boot_failed',
        message: `${context.lastError?.message ?? 'boot failed'} (gave up after attempt ${context.bootAttempt} of ${context.maxBootAttempts})`,
      }),
    }),
    recordBootSuccess: assign({ lastError: null, bootPhase: 'ready' }),
    recordContainerExit: assign({
      lastError: ({ event }) => {
        if (event.type !== 'container.exited') return null;
        // Without an exit code the runtime did not exit where anyone saw it: it is gone, and the reason says why.
        const message = event.exitCode === null ? `the runtime stopped running: ${event.reason}` : `the runtime exited unexpectedly (exit ${event.exitCode}: ${event.reason})`;
        return { code: 'container_exited', message };
      },
    }),
    recordStopFailure: assign({
      lastError: ({ event }) => ({
        code: 'stop_failed',
        message: `stopping the runtime failed: ${errorText((event as { error?: unknown }).error)}`,
      }),
    }),
    setStopIntent: assign(({ event }, params: { target: StopTarget; fallbackReason: string }) => ({
      stopIntent: { target: params.target, reason: 'reason' in event && event.reason ? event.reason : params.fallbackReason },
      hibernation: event.type === 'lifecycle.hibernate' ? { reason: event.reason, by: event.by } : null,
      wakeAfterStop: false,
    })),
    /** While already stopping: hibernate outranks stop, which outranks sleep. */
    upgradeStopIntent: assign(({ context, event }) => {
      const rank: Record<StopTarget, number> = { sleeping: 0, stopped: 1, hibernated: 2 };
      const wanted: StopTarget | null =
        event.type === 'lifecycle.hibernate' ? 'hibernated' : event.type === 'lifecycle.stop' ? 'stopped' : null;
      if (!wanted || !context.stopIntent || rank[wanted] <= rank[context.stopIntent.target]) return {};
      return {
        stopIntent: { target: wanted, reason: ('reason' in event && event.reason) || wanted },
        hibernation: event.type === 'lifecycle.hibernate' ? { reason: event.reason, by: event.by } : context.hibernation,
        wakeAfterStop: false,
      };
    }),
    rememberWake: assign({ wakeAfterStop: ({ context }) => context.stopIntent?.target === 'sleeping' }),
    finishStop: assign({ stopIntent: null, wakeAfterStop: false, bootAttempt: 0, bootPhase: null, work: null, scheduledRun: null }),
    /** A stop that succeeded clears its earlier failures; a forced one records what it gave up (a final backup). */
    recordStopOutcome: assign({
      lastError: ({ context, event }) => {
        const warning = (event as { output?: StopOutput }).output?.warning ?? null;
        if (warning) return warning;
        return context.lastError?.code === 'stop_failed' ? null : context.lastError;
      },
    }),
    recordHibernation: assign({
      hibernation: ({ event }) => (event.type === 'lifecycle.hibernate' ? { reason: event.reason, by: event.by } : null),
    }),
    clearHibernation: assign({ hibernation: null, lastError: null }),
    applySettings: assign(({ event }) => (event.type === 'settings.updated' ? { ...event.settings } : {})),
  },
  guards: {
    canRetryBoot: ({ context, event }) =>
      context.bootAttempt < context.maxBootAttempts && !(event.type === 'boot.failed' && !event.retryable),
    isStoppingFor: ({ context }, params: { target: StopTarget }) => context.stopIntent?.target === params.target,
    shouldWakeAfterStop: ({ context }) => context.wakeAfterStop && context.stopIntent?.target === 'sleeping',
    isSleepWithScheduledWake: ({ context, event }) => context.stopIntent?.target === 'sleeping' && Boolean((event as { output?: StopOutput }).output?.nextWake),
    isAwaitingScheduledRun: ({ context }) => context.scheduledRun !== null,
    isPersonAbsent: ({ context }) => !context.personSeen,
    isWorkIdle: ({ event }) => (event as { output?: WorkCheck }).output?.idle !== false,
    hasWaitedLongEnough: ({ context, event }) => {
      const check = (event as { output?: WorkCheck }).output;
      return check !== undefined && !check.idle && check.waitedMs >= context.maxSleepDeferMs;
    },
  },
  actors: {
    /** Host: ensure the runtime is started (idempotent) and report `boot.progressed` / `boot.succeeded` / `boot.failed`. */
    bootRuntime: fromCallback<LifecycleEvent, BootInput>(notProvided('bootRuntime')),
    /** Host: back up (when input.backup) and stop the runtime (idempotent); resolves once it is stopped. */
    stopRuntime: fromPromise<StopOutput, StopInput>(notProvided('stopRuntime')),
    /**
     * Host: ask the gateway whether work still runs inside (suspend.prepare,
     * refuse-only) and resolve with the answer; `since` carries over the
     * first busy answer of this wait. Rejects when the gateway cannot say.
     */
    checkWork: fromPromise<WorkCheck, { since: number | null }>(notProvided('checkWork')),
  },
}).createMachine({
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
      on: {
        'lifecycle.sleep': stopFor('sleeping', 'sleep requested while booting'),
        'lifecycle.stop': stopFor('stopped', 'stop requested while booting'),
        'lifecycle.hibernate': stopFor('hibernated', 'hibernate requested while booting'),
      },
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
            'boot.failed': [
              { guard: 'canRetryBoot', target: 'backingOff', actions: 'recordBootFailure' },
              { target: 'failing', actions: ['recordBootFailure', 'markBootGivenUp'] },
            ],
            'boot.timedOut': [
              { guard: 'canRetryBoot', target: 'backingOff', actions: 'recordBootFailure' },
              { target: 'failing', actions: ['recordBootFailure', 'markBootGivenUp'] },
            ],
            'container.exited': [
              { guard: 'canRetryBoot', target: 'backingOff', actions: 'recordBootFailure' },
              { target: 'failing', actions: ['recordBootFailure', 'markBootGivenUp'] },
            ],
          },
        },
        backingOff: {
          initial: 'cleaning',
          states: {
            cleaning: {
              invoke: {
                id: 'stopRuntime',
                src: 'stopRuntime',
                input: () => ({ target: 'stopped' as const, reason: 'clean up before the next boot attempt', backup: false, force: true }),
                onDone: { target: 'waiting' },
                onError: { target: 'waiting' },
              },
            },
            waiting: {
              entry: [timer('bootBackoff', backoffDelayMs)],
              exit: [cancel('bootBackoff')],
              on: { 'boot.backoffElapsed': { target: '#lifecycle.booting.starting', actions: 'nextBootAttempt' } },
            },
          },
        },
        failing: {
          invoke: {
            id: 'stopRuntime',
            src: 'stopRuntime',
            input: () => ({ target: 'stopped' as const, reason: 'boot failed', backup: false, force: true }),
            onDone: { target: '#lifecycle.stopped', actions: 'finishStop' },
            onError: { target: '#lifecycle.stopped', actions: 'finishStop' },
          },
        },
        stopping: stoppingState(),
      },
    },
    ready: {
      initial: 'serving',
      on: {
        'lifecycle.sleep': stopFor('sleeping', 'sleep requested'),
        'lifecycle.stop': stopFor('stopped', 'stop requested'),
        'lifecycle.hibernate': stopFor('hibernated', 'hibernate requested'),
      },
      states: {
        serving: {
          entry: [timer('quiet', quietDelayMs), timer('health', (c) => c.healthIntervalMs)],
          exit: [cancel('quiet'), cancel('health')],
          on: {
            // Activity restarts the quiet time only: the health check keeps its own pace under steady traffic.
            'activity.recorded': { actions: ['markPersonSeen', timer('quiet', quietDelayMs)] },
            'lifecycle.wake': { actions: ['markPersonSeen', timer('quiet', quietDelayMs)] },
            'activity.quieted': { target: '#lifecycle.idle' },
            'schedule.finished': scheduledRunFinished('#lifecycle.idle.checkingWork'),
            'health.checkDue': { actions: ['checkHealth', timer('health', (c) => c.healthIntervalMs)] },
            'backup.due': { actions: ['runBackup', timer('backup', (c) => c.backupIntervalMs)] },
            'changes.checkDue': { actions: ['checkChanges', timer('changeCheck', (c) => c.changeCheckMs)] },
            'container.exited': { target: '#lifecycle.stopped', actions: ['recordContainerExit', 'finishStop', cancel('backup'), cancel('changeCheck')] },
          },
        },
        stopping: stoppingState(),
      },
    },
    idle: {
      initial: 'waiting',
      on: {
        'lifecycle.sleep': stopFor('sleeping', 'sleep requested'),
        'lifecycle.stop': stopFor('stopped', 'stop requested'),
        'lifecycle.hibernate': stopFor('hibernated', 'hibernate requested'),
      },
      states: {
        waiting: {
          entry: [timer('sleep', sleepDelayMs), timer('health', (c) => c.healthIntervalMs)],
          exit: [cancel('sleep'), cancel('health')],
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
          invoke: {
            id: 'checkWork',
            src: 'checkWork',
            input: ({ context }) => ({ since: context.work?.since ?? null }),
            onDone: [
              { guard: 'isWorkIdle', target: 'stopping', actions: ['clearWork', { type: 'setStopIntent', params: { target: 'sleeping', fallbackReason: 'idle for sleepAfter' } }] },
              { guard: 'hasWaitedLongEnough', target: 'stopping', actions: ['recordWork', { type: 'setStopIntent', params: { target: 'sleeping', fallbackReason: 'idle for sleepAfter; work still running after SLEEP_MAX_DEFER is cut short by the drain' } }] },
              { target: 'waitingForWork', actions: 'recordWork' },
            ],
            // The gateway cannot say (an old gateway, a stand-in, a hang): sleep as before rather than bill on.
            onError: { target: 'stopping', actions: ['clearWork', { type: 'setStopIntent', params: { target: 'sleeping', fallbackReason: 'idle for sleepAfter (the gateway could not say whether work runs)' } }] },
          },
          on: { ...whileIdle(false), 'schedule.finished': { actions: 'clearScheduledRun' } },
        },
        // Work runs inside: it counts as activity; the sleep is tried again after the gateway's retryAfterMs.
        waitingForWork: {
          entry: [timer('workRetry', (c) => c.work?.retryAfterMs ?? c.healthIntervalMs), timer('health', (c) => c.healthIntervalMs)],
          exit: [cancel('workRetry'), cancel('health')],
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

/** The durable timer of a scheduled wake, as far ahead as the stop's output says. */
function scheduledWakeTimer({ event }: { event: unknown }): { timer: TimerName; delayMs: number } {
  return { timer: 'scheduledWake', delayMs: Math.max(0, (event as { output?: StopOutput }).output?.nextWake?.inMs ?? 0) };
}

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
    'backup.due': { actions: ['runBackup' as const, timer('backup', (c) => c.backupIntervalMs)] },
    'changes.checkDue': { actions: ['checkChanges' as const, timer('changeCheck', (c) => c.changeCheckMs)] },
    'container.exited': { target: '#lifecycle.stopped' as const, actions: ['recordContainerExit' as const, 'finishStop' as const, cancel('backup'), cancel('changeCheck')] },
  };
}

/** The run a scheduled wake stayed up for finished: with nobody else around, go back to sleep now (the idle check first). */
function scheduledRunFinished(checkTarget: string) {
  return [
    { guard: 'isPersonAbsent' as const, target: checkTarget, actions: 'clearScheduledRun' as const },
    { actions: 'clearScheduledRun' as const },
  ];
}

/**
 * The stop sequence shared by every state that has a running container: stop
 * the runtime, then land in the target the intent names. While it runs,
 * commands only upgrade the intent and requests are remembered.
 */
function stoppingState() {
  return {
    initial: 'working' as const,
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
            { guard: { type: 'isStoppingFor' as const, params: { target: 'hibernated' as const } }, target: '#lifecycle.hibernated', actions: ['recordStopOutcome' as const, 'finishStop' as const] },
            { guard: 'shouldWakeAfterStop' as const, target: '#lifecycle.booting', actions: 'startBootAttempts' as const },
            {
              guard: 'isSleepWithScheduledWake' as const,
              target: '#lifecycle.sleeping',
              actions: ['recordStopOutcome' as const, 'finishStop' as const, 'recordScheduledWake' as const, { type: 'scheduleTimer' as const, params: scheduledWakeTimer }],
            },
            { guard: { type: 'isStoppingFor' as const, params: { target: 'sleeping' as const } }, target: '#lifecycle.sleeping', actions: ['recordStopOutcome' as const, 'finishStop' as const, 'clearScheduledWake' as const] },
            { target: '#lifecycle.stopped', actions: ['recordStopOutcome' as const, 'finishStop' as const] },
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

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'unknown error';
}

export type LifecycleMachine = typeof lifecycleMachine;
