/**
 * Types of the assistant's lifecycle machine: its six states, its events,
 * its context and the durable timers it asks its host to keep.
 * Pure TypeScript: no runtime or platform imports.
 */

import type { LifecycleErrorCode } from '../src/contract/error-codes.ts';

/** The six lifecycle states, in the order an assistant usually meets them. */
export const LIFECYCLE_STATES = ['stopped', 'booting', 'ready', 'idle', 'sleeping', 'hibernated'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** Where an intentional stop is heading. */
export type StopTarget = 'sleeping' | 'hibernated' | 'stopped';

/** A failure as the machine records it: a stable code plus a human message. */
export interface LifecycleError {
  code: LifecycleErrorCode;
  message: string;
}

/** Why and where the container is being stopped. */
export interface StopIntent {
  target: StopTarget;
  reason: string;
}

/** Why the assistant is hibernated, shown to anyone who tries to wake it. */
export interface Hibernation {
  reason: string;
  /** Who asked: `budget`, `operator`, ... */
  by: string;
}

/** Durations the machine works with, all in milliseconds. */
export interface LifecycleSettings {
  /** Idle time after the last activity before the container is put to sleep. */
  sleepAfterMs: number;
  /** Quiet time after the last activity before `ready` becomes `idle` (capped at half of sleepAfter). */
  quietAfterMs: number;
  /** How long one boot attempt may take before it counts as failed. */
  bootTimeoutMs: number;
  /** Boot attempts before giving up (the first try included). */
  maxBootAttempts: number;
  /** First retry delay; doubles with each further attempt. */
  bootBackoffMs: number;
  /** Interval of the liveness check while the container runs. */
  healthIntervalMs: number;
  /** Delay before a failed stop is tried again. */
  stopRetryMs: number;
  /** Interval of the periodic backup while the container runs. */
  backupIntervalMs: number;
  /** Interval of the cheap check for changes of the state while the container runs (a change pulls the backup forward). */
  changeCheckMs: number;
  /**
   * How long an idle sleep may wait for work still running inside the gateway
   * (an agent turn, a background command, a scheduled run) before it drains
   * the gateway and stops anyway.
   */
  maxSleepDeferMs: number;
}

/** One kind of work inside the gateway that keeps it from suspending (`gateway.suspend.prepare`'s blockers). */
export interface WorkBlocker {
  kind: string;
  count: number;
  message: string;
}

/** Work found running when the idle timer ran out: the sleep waits for it. */
export interface WorkInProgress {
  blockers: WorkBlocker[];
  /** When the first "busy" answer of this wait came (ms since the epoch). */
  since: number;
  /** The gateway's suggested wait before asking again. */
  retryAfterMs: number;
}

/** A scheduled job the assistant wakes (or woke) for. */
export interface ScheduledJob {
  jobId: string;
  jobName: string;
  /** When the job is due (ms since the epoch, the gateway's own schedule). */
  runAtMs: number;
  /** When the assistant wakes for it: ahead of runAtMs by the lead time. */
  wakeAtMs: number;
}

/** What the machine is told when it asks whether work still runs inside (the `checkWork` actor's output). */
export type WorkCheck = { idle: true } | { idle: false; blockers: WorkBlocker[]; retryAfterMs: number; since: number; waitedMs: number };

export interface LifecycleContext extends LifecycleSettings {
  /** Current boot attempt, 1-based; 0 when not booting. */
  bootAttempt: number;
  /** Last boot phase the runtime reported while booting. */
  bootPhase: string | null;
  lastError: LifecycleError | null;
  hibernation: Hibernation | null;
  stopIntent: StopIntent | null;
  /** A request arrived while stopping for sleep: boot again once stopped. */
  wakeAfterStop: boolean;
  /** Work the idle sleep is waiting for (idle.waitingForWork), else null. */
  work: WorkInProgress | null;
  /** While sleeping: the scheduled job the durable `scheduledWake` timer wakes the assistant for. */
  scheduledWake: ScheduledJob | null;
  /** While awake for a scheduled job: the run it stays up for, until the gateway says it finished. */
  scheduledRun: ScheduledJob | null;
  /** A person's request or wake came since this boot (a wake for a job alone goes back to sleep once the job ran). */
  personSeen: boolean;
}

/** The durable timers the host keeps for the machine (never XState delays). */
export const TIMER_EVENTS = {
  bootDeadline: 'boot.timedOut',
  bootBackoff: 'boot.backoffElapsed',
  quiet: 'activity.quieted',
  sleep: 'idle.timedOut',
  health: 'health.checkDue',
  stopRetry: 'stop.retryDue',
  backup: 'backup.due',
  changeCheck: 'changes.checkDue',
  workRetry: 'work.retryDue',
  scheduledWake: 'schedule.due',
} as const;
export type TimerName = keyof typeof TIMER_EVENTS;

export type LifecycleEvent =
  // commands (imperative)
  | { type: 'lifecycle.wake'; reason?: string }
  | { type: 'lifecycle.sleep'; reason?: string }
  | { type: 'lifecycle.stop'; reason?: string }
  | { type: 'lifecycle.hibernate'; reason: string; by: string }
  | { type: 'lifecycle.resume'; reason?: string }
  | { type: 'settings.updated'; settings: Partial<LifecycleSettings> }
  // facts (past tense)
  | { type: 'activity.recorded' }
  | { type: 'boot.progressed'; phase: string }
  | { type: 'boot.succeeded' }
  | { type: 'boot.failed'; error: LifecycleError; retryable: boolean }
  | { type: 'container.exited'; exitCode: number | null; reason: string }
  /** The scheduled run the assistant stayed up for has finished (or the wait for it gave up), by the gateway's account. */
  | { type: 'schedule.finished'; outcome: 'finished' | 'gave-up' }
  // timers (see TIMER_EVENTS)
  | { type: 'boot.timedOut' }
  | { type: 'boot.backoffElapsed' }
  | { type: 'activity.quieted' }
  | { type: 'idle.timedOut' }
  | { type: 'health.checkDue' }
  | { type: 'stop.retryDue' }
  | { type: 'backup.due' }
  | { type: 'changes.checkDue' }
  | { type: 'work.retryDue' }
  | { type: 'schedule.due' };

export type LifecycleEventType = LifecycleEvent['type'];

/** Input of the `bootRuntime` actor. */
export interface BootInput {
  attempt: number;
}

/** Input of the `stopRuntime` actor. */
export interface StopInput {
  target: StopTarget;
  reason: string;
  /** Back the state up before stopping (intentional stops); not when cleaning up a failed boot. */
  backup: boolean;
  /**
   * Stop even when the backup fails (after one bounded attempt): the hard
   * budget line stops the bill. Otherwise a failed backup fails the stop,
   * which is retried with the container kept (data first).
   */
  force: boolean;
}

/** Output of the `stopRuntime` actor: what went wrong on the way without failing the stop, and the next scheduled wake. */
export interface StopOutput {
  warning: LifecycleError | null;
  /** For a sleep: the next scheduled job to wake for, and how far ahead (ms from now) to wake; null: none. */
  nextWake?: (ScheduledJob & { inMs: number }) | null;
}
