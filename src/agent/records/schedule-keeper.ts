/**
 * Scheduled work while the assistant sleeps: OpenClaw's own jobs (its
 * `cron.list`), read from the gateway before every idle sleep, decide when
 * the assistant is woken next — a lead time ahead of the earliest job that
 * wakes it (SCHEDULED_WAKES), at most once per SCHEDULE_SOFT_GAP over the
 * soft budget line — and what the rest of the month's scheduled wakes will
 * cost (the cost guard adds them to its projection). After a scheduled wake
 * the gateway's run history says when the run finished.
 */
import { Cron } from 'croner';
import type { ScheduledJob } from '../../../machines/lifecycle-types.ts';
import type { ScheduledWakeMode } from '../../config.ts';
import type { CronJob } from '../../runtime/gateway-rpc.ts';
import { clamped, items, numberIn, record, text, timeMs } from '../../contract/untrusted-input.ts';

/** What the keeper needs from the gateway (GatewayRpc narrowed). */
export interface CronReader {
  call<T>(method: string, params?: Record<string, unknown>): Promise<T>;
}

/** One scheduled wake that ended (the container time a job cost). */
export interface ScheduledWakeRecord {
  jobId: string;
  jobName: string;
  wokeAt: string;
  /** Wake → the stop that followed, ms. */
  ms: number;
  outcome: 'finished' | 'gave-up' | 'interrupted';
}

export interface ScheduleRecord {
  /** The jobs as the gateway listed them at the last look (at most MAX_JOBS, the due first). */
  jobs: CronJob[];
  /** Jobs the gateway listed beyond MAX_JOBS at the last look. */
  jobsOmitted?: number;
  readAt: string | null;
  /** When the last scheduled wake began (for the soft line's spacing). */
  lastWakeAt: number | null;
  /** Scheduled wakes that ended, newest last (the last 40 days). */
  wakes: ScheduledWakeRecord[];
  /** The last scheduled run this assistant stayed up for, by the gateway's account. */
  lastRun: { jobId: string; jobName: string; at: string; status: string; durationMs: number | null } | null;
}

export interface NextWakeOptions {
  nowMs: number;
  mode: ScheduledWakeMode;
  leadMs: number;
  /** Minimum spacing of scheduled wakes (over the soft budget line), else 0. */
  gapMs: number;
}

const WAKES_KEPT_MS = 40 * 86_400_000;
/** What one scheduled wake costs beyond the boot, when the job's own runs do not tell: the run, then drain, backup and stop. */
const DEFAULT_RUN_MS = 60_000;
/** The longest run a job's history may report (a longer one reads as this long). */
const MAX_RUN_MS = 24 * 3_600_000;
const STOP_MS = 15_000;
/** Runs at most this far apart share one wake. */
const SAME_WAKE_MS = 2 * 60_000;
/** Jobs kept from the gateway's list (the earliest due first); with more, the scheduled wakes to come count as the whole rest of the month. */
export const MAX_JOBS = 200;
/** Pages of `cron.list` read (200 rows each). */
const MAX_PAGES = 20;
/** Run times worked out for one projection, all jobs together; beyond it, as for too many jobs. */
export const MAX_RUN_STEPS = 20_000;
const MAX_ID_CHARS = 200;
const MAX_NAME_CHARS = 200;
const MAX_EXPR_CHARS = 200;

/** A schedule as far as this project reads it: its kind and the fields of that kind, bounded. */
function toSchedule(value: unknown): Record<string, unknown> | null {
  const s = record(value);
  if (s.kind === 'cron' && typeof s.expr === 'string')
    return { kind: 'cron', expr: text(s.expr, MAX_EXPR_CHARS), ...(typeof s.tz === 'string' ? { tz: text(s.tz, 64) } : {}) };
  if (s.kind === 'every') {
    const everyMs = numberIn(s.everyMs, 1, Number.MAX_SAFE_INTEGER);
    return everyMs === null ? null : { kind: 'every', everyMs };
  }
  if (s.kind === 'at') return { kind: 'at', at: text(s.at, 64) };
  return null;
}

/** Reads the fields this project uses from one `cron.list` row (untrusted: typed, clamped, bounded). */
export function toCronJob(row: unknown): CronJob {
  const r = record(row);
  const state = record(r.state);
  const id = text(r.id, MAX_ID_CHARS);
  return {
    id,
    name: text(r.displayName ?? r.name, MAX_NAME_CHARS) || id || 'job',
    enabled: r.enabled !== false,
    // The gateway's own jobs (memory dreaming, the skill review, heartbeat monitors) carry a declaration key.
    system: typeof r.declarationKey === 'string' && r.declarationKey !== '',
    nextRunAtMs: timeMs(r.nextRunAtMs) ?? timeMs(state.nextRunAtMs),
    runningAtMs: timeMs(state.runningAtMs),
    lastRunAtMs: timeMs(state.lastRunAtMs),
    schedule: toSchedule(r.schedule),
  };
}

/** A job as this project keeps it, read again within the same bounds as a `cron.list` row. */
function storedJob(value: unknown): CronJob {
  const j = record(value);
  const id = text(j.id, MAX_ID_CHARS);
  return {
    id,
    name: text(j.name, MAX_NAME_CHARS) || id || 'job',
    enabled: j.enabled !== false,
    system: j.system === true,
    nextRunAtMs: timeMs(j.nextRunAtMs),
    runningAtMs: timeMs(j.runningAtMs),
    lastRunAtMs: timeMs(j.lastRunAtMs),
    schedule: toSchedule(j.schedule),
  };
}

/** Counts the steps of run-time work left for one projection. */
export class StepBudget {
  #left: number;
  constructor(steps: number) {
    this.#left = steps;
  }
  /** Takes one step; false when none is left. */
  take(): boolean {
    if (this.#left <= 0) return false;
    this.#left -= 1;
    return true;
  }
  get exhausted(): boolean {
    return this.#left <= 0;
  }
}

/**
 * The times (ms) a job runs in [fromMs, untilMs), from its schedule; its
 * next run at least. Runs closer than SAME_WAKE_MS after one listed are
 * skipped (they share its wake), so a job every second costs as many steps
 * as one every two minutes. Each run worked out takes a step of `budget`.
 */
export function runsBetween(job: CronJob, fromMs: number, untilMs: number, budget = new StepBudget(MAX_RUN_STEPS)): number[] {
  const s = job.schedule ?? {};
  const out = new Set<number>();
  const push = (t: number | null) => {
    if (t !== null && t >= fromMs && t < untilMs) out.add(t);
  };
  push(job.nextRunAtMs);
  if (s.kind === 'every' && typeof s.everyMs === 'number' && s.everyMs > 0) {
    const step = s.everyMs * Math.max(1, Math.ceil(SAME_WAKE_MS / s.everyMs));
    for (let t = job.nextRunAtMs ?? fromMs; t < untilMs && budget.take(); t += step) push(t);
  } else if (s.kind === 'cron' && typeof s.expr === 'string') {
    try {
      const cron = new Cron(s.expr, { ...(typeof s.tz === 'string' ? { timezone: s.tz } : { timezone: 'UTC' }), paused: true });
      let at = new Date(fromMs - 1);
      while (budget.take()) {
        const next = cron.nextRun(at);
        if (!next || next.getTime() >= untilMs) break;
        push(next.getTime());
        at = new Date(next.getTime() + SAME_WAKE_MS - 1);
      }
    } catch {
      // an expression croner does not read: its next run (above) is all we know
    }
  }
  return [...out].sort((a, b) => a - b);
}

export class ScheduleKeeper {
  #record: ScheduleRecord;

  /** From a persisted record: its jobs read again within today's bounds (a record kept by an older version may hold anything). */
  constructor(record?: ScheduleRecord) {
    this.#record = record ? structuredClone(record) : { jobs: [], readAt: null, lastWakeAt: null, wakes: [], lastRun: null };
    this.#record.jobs = items(this.#record.jobs, MAX_JOBS).map(storedJob);
  }

  get jobs(): CronJob[] {
    return this.#record.jobs;
  }

  get lastRun(): ScheduleRecord['lastRun'] {
    return this.#record.lastRun;
  }

  /**
   * Reads the jobs from the gateway (every page, up to MAX_PAGES), keeping
   * the MAX_JOBS due first; how many more there were is kept too.
   * @throws what the gateway call throws.
   */
  async refresh(gateway: CronReader, nowMs: number): Promise<CronJob[]> {
    const jobs: CronJob[] = [];
    let offset = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = record(await gateway.call<unknown>('cron.list', { includeDisabled: false, limit: 200, offset }));
      jobs.push(...items(answer.jobs, 200).map(toCronJob));
      const nextOffset = numberIn(answer.nextOffset, offset + 1, Number.MAX_SAFE_INTEGER);
      if (answer.hasMore !== true || nextOffset === null) break;
      offset = nextOffset;
    }
    const due = (j: CronJob) => j.nextRunAtMs ?? Number.MAX_SAFE_INTEGER;
    const kept = jobs.sort((a, b) => due(a) - due(b)).slice(0, MAX_JOBS);
    this.#record.jobs = kept;
    this.#record.jobsOmitted = jobs.length - kept.length;
    this.#record.readAt = new Date(nowMs).toISOString();
    return kept;
  }

  /** The jobs that wake a sleeping assistant under `mode`. */
  wakingJobs(mode: ScheduledWakeMode): CronJob[] {
    if (mode === 'off') return [];
    return this.#record.jobs.filter((j) => j.enabled && (mode === 'all' || !j.system));
  }

  /** The next scheduled wake: the earliest waking job's next run, a lead time ahead, spaced by `gapMs` from the last scheduled wake. */
  nextWake(options: NextWakeOptions): (ScheduledJob & { inMs: number }) | null {
    let best: { job: CronJob; at: number } | null = null;
    for (const job of this.wakingJobs(options.mode)) {
      const at = job.nextRunAtMs;
      if (at === null || at <= options.nowMs) continue;
      if (!best || at < best.at) best = { job, at };
    }
    if (!best) return null;
    const spacedFrom = this.#record.lastWakeAt !== null && options.gapMs > 0 ? this.#record.lastWakeAt + options.gapMs : 0;
    const wakeAtMs = Math.max(best.at - options.leadMs, spacedFrom, options.nowMs);
    return { jobId: best.job.id, jobName: best.job.name, runAtMs: Math.max(best.at, wakeAtMs), wakeAtMs, inMs: wakeAtMs - options.nowMs };
  }

  /** A scheduled wake began. */
  woke(nowMs: number): void {
    this.#record.lastWakeAt = nowMs;
  }

  /** A scheduled wake ended (the container stopped): its time is kept for the cost projection. */
  ended(job: ScheduledJob, wokeAtMs: number, nowMs: number, outcome: ScheduledWakeRecord['outcome']): void {
    this.#record.wakes = [
      ...this.#record.wakes,
      { jobId: job.jobId, jobName: job.jobName, wokeAt: new Date(wokeAtMs).toISOString(), ms: Math.max(0, nowMs - wokeAtMs), outcome },
    ].filter((w) => nowMs - Date.parse(w.wokeAt) < WAKES_KEPT_MS);
  }

  /** Seconds scheduled wakes ran in the last `hours` (to keep them out of the burn rate the cost guard extrapolates). */
  recentSeconds(nowMs: number, hours: number): number {
    const from = nowMs - hours * 3_600_000;
    return this.#record.wakes.filter((w) => Date.parse(w.wokeAt) >= from).reduce((sum, w) => sum + w.ms / 1000, 0);
  }

  /**
   * What the rest of the month's scheduled wakes will run: the waking jobs'
   * runs until `untilMs`, runs close together sharing one wake, spaced by
   * `gapMs`, each wake `bootMs` + the job's typical run + a stop long, never
   * more than the time left. When the jobs are more than MAX_JOBS or their
   * runs more than MAX_RUN_STEPS can work out, the whole time left counts
   * (`saturated`): a schedule too large to read never lowers the projection.
   */
  upcoming(options: NextWakeOptions & { untilMs: number; bootMs: number }): { wakes: number; seconds: number; saturated: boolean } {
    const leftSeconds = Math.max(0, (options.untilMs - options.nowMs) / 1000);
    const budget = new StepBudget(MAX_RUN_STEPS);
    const waking = this.wakingJobs(options.mode);
    const runs = waking.flatMap((j) => runsBetween(j, options.nowMs, options.untilMs, budget)).sort((a, b) => a - b);
    let wakes = 0;
    let last = this.#record.lastWakeAt ?? -Infinity;
    let lastRun = -Infinity;
    for (const at of runs) {
      if (at - lastRun < SAME_WAKE_MS) continue;
      if (options.gapMs > 0 && at - last < options.gapMs) continue;
      wakes++;
      last = at;
      lastRun = at;
    }
    const saturated = budget.exhausted || ((this.#record.jobsOmitted ?? 0) > 0 && options.mode !== 'off');
    if (saturated) return { wakes, seconds: leftSeconds, saturated };
    const runMs = clamped(this.#record.lastRun?.durationMs, 0, MAX_RUN_MS, DEFAULT_RUN_MS);
    const seconds = (wakes * (options.leadMs + options.bootMs + runMs + STOP_MS)) / 1000;
    return { wakes, seconds: Math.min(leftSeconds, Math.max(0, seconds)), saturated };
  }

  /**
   * Whether the run a scheduled wake stays up for has finished, by the
   * gateway's run history (a run at or after its due time that finished).
   */
  async runFinished(gateway: CronReader, job: ScheduledJob): Promise<boolean> {
    const answer = record(await gateway.call<unknown>('cron.runs', { id: job.jobId, limit: 20 }));
    const entry = items(answer.entries, 20)
      .map(record)
      .find((e) => e.action === 'finished' && (timeMs(e.runAtMs) ?? -Infinity) >= job.runAtMs - SAME_WAKE_MS);
    if (!entry) return false;
    this.#record.lastRun = {
      jobId: job.jobId,
      jobName: job.jobName,
      at: new Date(timeMs(entry.runAtMs) as number).toISOString(),
      status: text(entry.status, 64, 'unknown') || 'unknown',
      durationMs: entry.durationMs === undefined || entry.durationMs === null ? null : clamped(entry.durationMs, 0, MAX_RUN_MS, DEFAULT_RUN_MS),
    };
    return true;
  }

  toJSON(): ScheduleRecord {
    return structuredClone(this.#record);
  }
}
