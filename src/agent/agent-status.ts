/**
 * The status an operator reads (GET /api/status, clawctl status, the pages),
 * built from the machine's snapshot and the controller's records.
 */
import type { Hibernation, LifecycleError, LifecycleState, ScheduledJob, StopIntent, WorkInProgress } from '../../machines/lifecycle-types.ts';
import { sleepDelayMs, STOPPING_TAG } from '../../machines/lifecycle.ts';
import type { MeterTotals } from '../cost/usage-meter.ts';
import type { StopRecord } from './effects/stop-sequence.ts';
import type { BackupEvent } from './records/state-keeper.ts';
import { bootParts, type BootPart, type BootRecord } from './records/boot-timeline.ts';
import { topState, type LifecycleSnapshot, type TransitionRecord } from './agent-record.ts';
import type { CdpStatus } from '../browser/cdp-passthrough.ts';
import type { ModelStatus } from './model-access.ts';
import type { BudgetEvaluation, BudgetRecord } from '../cost/budget-keeper.ts';
import type { InboxStatus } from '../inbox/inbox.ts';
import type { RelayStatus } from '../inbox/discord-frames.ts';

export interface AgentStatus {
  agent: string;
  runtime: 'local' | 'sandbox';
  state: LifecycleState;
  /** ISO time the current state was entered. */
  since: string;
  /** Boot phase while booting (`launching`, `configuring`, …), `stopping` while a stop runs, else null. */
  phase: string | null;
  stopping: StopIntent | null;
  bootAttempt: number;
  maxBootAttempts: number;
  lastTransition: TransitionRecord | null;
  lastError: LifecycleError | null;
  hibernation: Hibernation | null;
  /** How the last intentional stop went: the gateway's drain, and what it gave up (a final backup). */
  lastStop: StopRecord | null;
  /**
   * The boot under way, else the last complete one: when it began, its
   * phases with their durations (`launching` → `restoring` → `starting` →
   * `configuring` → `starting-gateway`), and wake → ready (`totalMs`).
   */
  lastBoot: (Omit<BootRecord, 'phases'> & { parts: BootPart[] }) | null;
  /**
   * What a wake takes, from the last boots: the median wake → ready of up
   * to five complete boots (`expectedMs`, `boots`), and while booting what
   * is left of it now (`remainingMs`, 0 once overdue; null otherwise). Null
   * before the first complete boot.
   */
  bootEstimate: { expectedMs: number; boots: number; remainingMs: number | null } | null;
  /**
   * The agent's browser: Browser Rendering through the CDP passthrough
   * (production: its session, browser-hours this month), the machine's
   * Chromium (local mode), or off with the reason.
   */
  browser: CdpStatus | { mode: 'local-chromium' | 'missing' | 'off' | 'unknown'; detail: string };
  /**
   * How the assistant reaches its model: the route (an API key, an
   * OpenAI-compatible endpoint, the ChatGPT/Codex subscription), the
   * subscription's sign-in as the gateway last reported it (profile, state,
   * expiry; never a token), the last backup of changed credentials, and in
   * `detail` what to do when no model is connected.
   */
  model: ModelStatus;
  /**
   * The chat inbox (Telegram): messages waiting for the gateway, the last
   * delivery, dead letters, refused senders and wakes messages started;
   * null when no chat channel is connected.
   */
  inbox: InboxStatus | null;
  /**
   * The Discord relay (added by the Worker to `GET /api/status` while a bot
   * is connected): whether it holds the bot's session, its phase, what it
   * received, and why it stopped for good (a bad token, disallowed intents).
   */
  discordRelay?: RelayStatus;
  /**
   * Work the idle sleep waits for (the gateway said it is busy): what runs,
   * since when, and when it asks again; null otherwise.
   */
  work: (Omit<WorkInProgress, 'since'> & { since: string }) | null;
  /**
   * Scheduled work: which jobs wake it (SCHEDULED_WAKES), the next scheduled
   * wake (while sleeping), the run it is up for (after one), the last such
   * run, and what the rest of the month's scheduled wakes will cost.
   */
  schedule: {
    mode: string;
    next: (ScheduledJob & { runAt: string; wakeAt: string }) | null;
    awaiting: (ScheduledJob & { runAt: string }) | null;
    lastRun: { jobId: string; jobName: string; at: string; status: string; durationMs: number | null } | null;
    jobs: number;
    wakingJobs: number;
    /** Over the soft budget line, scheduled wakes come at most this often (ms); null when not thinned. */
    thinnedToEveryMs: number | null;
  };
  sleepAfterMs: number;
  /** When the container will be put to sleep if no request comes (ISO), while ready or idle. */
  sleepAt: string | null;
  lastActivityAt: string | null;
  meter: MeterTotals & { instanceType: string };
  backups: {
    enabled: boolean;
    intervalMs: number;
    lastBackup: BackupEvent | null;
    lastRestore: BackupEvent | null;
    /** The newest backup known to hold the state (what a crash or a failed final backup falls back to). */
    lastGood: { id: string; at: string } | null;
    /** The most recent backups and restores, newest last. */
    history: BackupEvent[];
  };
  /** The cost guard's last evaluation and decisions for this assistant (same as GET /api/cost). */
  cost: {
    last: BudgetEvaluation | null;
    decisions: BudgetRecord['decisions'];
    sleepAfterMs: number;
    configuredSleepAfterMs: number;
  };
  /** The most recent transitions, newest last. */
  history: TransitionRecord[];
}

/** Events that describe themselves well enough by their name. */
const EVENT_WORDS: Record<string, string> = {
  'lifecycle.wake': 'wake requested',
  'lifecycle.sleep': 'sleep requested',
  'lifecycle.stop': 'stop requested',
  'lifecycle.resume': 'resume requested',
  'activity.recorded': 'request received',
  'activity.quieted': 'no recent requests',
  'idle.timedOut': 'idle for sleepAfter',
  'boot.succeeded': 'gateway answered',
  'boot.backoffElapsed': 'retrying boot',
  'schedule.due': 'scheduled wake',
};

/** Words for a transition: the command's own reason, the error, or the event. */
export function describeTransition(
  event: { type: string; reason?: unknown },
  next: { lastError: LifecycleError | null; hibernation: Hibernation | null; scheduledRun?: ScheduledJob | null },
  previousStopIntent: StopIntent | null,
): string {
  if (event.type === 'schedule.due' && next.scheduledRun)
    return `scheduled wake: job "${next.scheduledRun.jobName}" due ${new Date(next.scheduledRun.runAtMs).toISOString()}`;
  if (typeof event.reason === 'string' && event.reason && !event.type.startsWith('container.')) return event.reason;
  if (event.type.startsWith('xstate.done.actor') || event.type.startsWith('xstate.error.actor')) {
    return previousStopIntent?.reason ?? next.lastError?.message ?? 'runtime stopped';
  }
  if (['boot.failed', 'boot.timedOut', 'container.exited'].includes(event.type) && next.lastError) return next.lastError.message;
  if (event.type === 'lifecycle.hibernate' && next.hibernation) return next.hibernation.reason;
  return EVENT_WORDS[event.type] ?? event.type;
}

/** What the status is built from: the machine's snapshot and the records the controller keeps beside it. */
export interface StatusParts {
  agent: string;
  runtime: AgentStatus['runtime'];
  snapshot: LifecycleSnapshot;
  since: number;
  /** Work in progress within the state (a restore, a backup), shown as the phase. */
  activity: string | null;
  /** When the machine's sleep and quiet timers are due (unset: not set). */
  timers: { sleep: number | undefined; quiet: number | undefined };
  history: TransitionRecord[];
  lastActivityAt: number | null;
  lastStop: StopRecord | null;
  boot: BootRecord | null;
  /** The median wake → ready of the recent boots, and how many (BootTimeline.expected). */
  expectedBoot: { ms: number; boots: number } | null;
  /** The time the status is taken at (ms). */
  now: number;
  browser: AgentStatus['browser'];
  model: ModelStatus;
  schedule: AgentStatus['schedule'];
  meter: AgentStatus['meter'];
  backups: { enabled: boolean; history: BackupEvent[]; lastGood: { id: string; at: string } | null };
  cost: AgentStatus['cost'];
  inbox: InboxStatus | null;
}

export function buildStatus(p: StatusParts): AgentStatus {
  const c = p.snapshot.context;
  const state = topState(p.snapshot);
  const stopping = p.snapshot.hasTag(STOPPING_TAG);
  // Idle sleeps when its timer is due; while ready, the machine's own sleep delay after the quiet time ends.
  const sleepAt = p.timers.sleep ?? (p.timers.quiet !== undefined ? p.timers.quiet + sleepDelayMs(c) : undefined);
  const phase =
    p.activity ??
    (stopping ? 'stopping' : state === 'booting' ? (c.bootPhase ?? 'launching') : p.snapshot.matches({ idle: 'waitingForWork' }) ? 'waiting-for-work' : null);
  const latest = (kind: BackupEvent['kind']) => [...p.backups.history].reverse().find((e) => e.kind === kind) ?? null;
  return {
    agent: p.agent,
    runtime: p.runtime,
    state,
    since: new Date(p.since).toISOString(),
    phase,
    stopping: stopping ? c.stopIntent : null,
    bootAttempt: c.bootAttempt,
    maxBootAttempts: c.maxBootAttempts,
    lastTransition: p.history.at(-1) ?? null,
    lastError: c.lastError,
    hibernation: c.hibernation,
    lastStop: p.lastStop,
    lastBoot: bootSummary(p.boot),
    bootEstimate: bootEstimate(state, p.boot, p.expectedBoot, p.now),
    browser: p.browser,
    model: p.model,
    inbox: p.inbox,
    work: c.work ? { ...c.work, since: new Date(c.work.since).toISOString() } : null,
    schedule: p.schedule,
    sleepAfterMs: c.sleepAfterMs,
    sleepAt: !stopping && sleepAt !== undefined ? new Date(sleepAt).toISOString() : null,
    lastActivityAt: p.lastActivityAt === null ? null : new Date(p.lastActivityAt).toISOString(),
    meter: p.meter,
    backups: {
      enabled: p.backups.enabled,
      intervalMs: c.backupIntervalMs,
      lastBackup: latest('backup'),
      lastRestore: latest('restore'),
      lastGood: p.backups.lastGood,
      history: p.backups.history.slice(-10),
    },
    cost: p.cost,
    history: p.history.slice(-20),
  };
}

function bootEstimate(state: LifecycleState, boot: BootRecord | null, expected: StatusParts['expectedBoot'], now: number): AgentStatus['bootEstimate'] {
  if (!expected) return null;
  const startedAt = boot && boot.readyAt === null ? Date.parse(boot.startedAt) : NaN;
  const remainingMs = state === 'booting' && Number.isFinite(startedAt) ? Math.max(0, expected.ms - (now - startedAt)) : null;
  return { expectedMs: expected.ms, boots: expected.boots, remainingMs };
}

function bootSummary(record: BootRecord | null): AgentStatus['lastBoot'] {
  if (!record) return null;
  const { phases: _phases, ...rest } = record;
  return { ...rest, parts: bootParts(record) };
}
