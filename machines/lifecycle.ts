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
    startBootAttempts: assign({ bootAttempt: 1, bootPhase: null, lastError: null, stopIntent: null, wakeAfterStop: false }),
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
    finishStop: assign({ stopIntent: null, wakeAfterStop: false, bootAttempt: 0, bootPhase: null }),
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
  },
  actors: {
    /** Host: ensure the runtime is started (idempotent) and report `boot.progressed` / `boot.succeeded` / `boot.failed`. */
    bootRuntime: fromCallback<LifecycleEvent, BootInput>(notProvided('bootRuntime')),
    /** Host: back up (when input.backup) and stop the runtime (idempotent); resolves once it is stopped. */
    stopRuntime: fromPromise<StopOutput, StopInput>(notProvided('stopRuntime')),
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
            'activity.recorded': { actions: timer('quiet', quietDelayMs) },
            'lifecycle.wake': { actions: timer('quiet', quietDelayMs) },
            'activity.quieted': { target: '#lifecycle.idle' },
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
            'activity.recorded': { target: '#lifecycle.ready' },
            'lifecycle.wake': { target: '#lifecycle.ready' },
            'idle.timedOut': {
              target: 'stopping',
              actions: { type: 'setStopIntent', params: { target: 'sleeping', fallbackReason: 'idle for sleepAfter' } },
            },
            'health.checkDue': { actions: ['checkHealth', timer('health', (c) => c.healthIntervalMs)] },
            'backup.due': { actions: ['runBackup', timer('backup', (c) => c.backupIntervalMs)] },
            'changes.checkDue': { actions: ['checkChanges', timer('changeCheck', (c) => c.changeCheckMs)] },
            'container.exited': { target: '#lifecycle.stopped', actions: ['recordContainerExit', 'finishStop', cancel('backup'), cancel('changeCheck')] },
          },
        },
        stopping: stoppingState(),
      },
    },
    sleeping: {
      on: {
        'lifecycle.wake': { target: 'booting', actions: 'startBootAttempts' },
        'lifecycle.stop': { target: 'stopped' },
        'lifecycle.hibernate': { target: 'hibernated', actions: 'recordHibernation' },
      },
    },
    hibernated: {
      on: {
        'lifecycle.resume': { target: 'sleeping', actions: 'clearHibernation' },
      },
    },
  },
});

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
            { guard: { type: 'isStoppingFor' as const, params: { target: 'sleeping' as const } }, target: '#lifecycle.sleeping', actions: ['recordStopOutcome' as const, 'finishStop' as const] },
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
