/**
 * The lifecycle machine's vocabulary: its delays, its fresh context, and the
 * actions, guards and host-supplied actors the chart (lifecycle.ts) names.
 *
 * Pure: no platform imports. Side effects are named actions and actors that
 * the host supplies with `machine.provide()`.
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type {
  BootInput,
  LifecycleContext,
  LifecycleEvent,
  LifecycleSettings,
  StopInput,
  StopOutput,
  StopTarget,
  TimerName,
  WorkCheck,
} from './lifecycle-types.ts';

/** An error's message in words (the machine is pure: this is its own, not src/'s). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'unknown error';
}

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

/** The context of a fresh machine: its settings (the host passes them in: src/config.ts's parseLifecycleSettings). */
export function initialLifecycleContext(settings: LifecycleSettings): LifecycleContext {
  return {
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

export const lifecycleSetup = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleSettings,
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
    startBootAttempts: assign({
      bootAttempt: 1,
      bootPhase: null,
      lastError: null,
      stopIntent: null,
      wakeAfterStop: false,
      work: null,
      scheduledRun: null,
      personSeen: true,
    }),
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
        const message =
          event.exitCode === null
            ? `the runtime stopped running: ${event.reason}`
            : `the runtime exited unexpectedly (exit ${event.exitCode}: ${event.reason})`;
        return { code: 'container_exited', message };
      },
    }),
    recordStopFailure: assign({
      lastError: ({ event }) => ({
        code: 'stop_failed',
        message: `stopping the runtime failed: ${messageOf((event as { error?: unknown }).error)}`,
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
      const wanted: StopTarget | null = event.type === 'lifecycle.hibernate' ? 'hibernated' : event.type === 'lifecycle.stop' ? 'stopped' : null;
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
    canRetryBoot: ({ context, event }) => context.bootAttempt < context.maxBootAttempts && !(event.type === 'boot.failed' && !event.retryable),
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
});
