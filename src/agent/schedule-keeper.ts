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
import type { ScheduledJob } from '../../machines/lifecycle-types.ts';
import type { ScheduledWakeMode } from '../config.ts';
import type { CronJob } from '../runtime/gateway-rpc.ts';

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
  /** The jobs as the gateway listed them at the last look. */
  jobs: CronJob[];
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
const STOP_MS = 15_000;
/** Runs at most this far apart share one wake. */
const SAME_WAKE_MS = 2 * 60_000;

/** Reads the fields this project uses from one `cron.list` row. */
export function toCronJob(row: Record<string, unknown>): CronJob {
  const state = (row.state ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    id: String(row.id ?? ''),
    name: String(row.displayName ?? row.name ?? row.id ?? 'job'),
    enabled: row.enabled !== false,
    // The gateway's own jobs (memory dreaming, the skill review, heartbeat monitors) carry a declaration key.
    system: typeof row.declarationKey === 'string' && row.declarationKey !== '',
    nextRunAtMs: num(row.nextRunAtMs) ?? num(state.nextRunAtMs),
    runningAtMs: num(state.runningAtMs),
    lastRunAtMs: num(state.lastRunAtMs),
    schedule: row.schedule && typeof row.schedule === 'object' ? (row.schedule as Record<string, unknown>) : null,
  };
}

/** The times (ms) a job runs in [fromMs, untilMs), from its schedule; its next run at least. */
export function runsBetween(job: CronJob, fromMs: number, untilMs: number, limit = 5_000): number[] {
  const s = job.schedule ?? {};
  const out: number[] = [];
  const push = (t: number | null) => {
    if (t !== null && t >= fromMs && t < untilMs && !out.includes(t)) out.push(t);
  };
  push(job.nextRunAtMs);
  if (s.kind === 'every' && typeof s.everyMs === 'number' && s.everyMs > 0) {
    const first = job.nextRunAtMs ?? fromMs;
    for (let t = first; t < untilMs && out.length < limit; t += s.everyMs) push(t);
  } else if (s.kind === 'cron' && typeof s.expr === 'string') {
    try {
      const cron = new Cron(s.expr, { ...(typeof s.tz === 'string' ? { timezone: s.tz } : { timezone: 'UTC' }), paused: true });
      let at = new Date(fromMs - 1);
      for (let i = 0; i < limit; i++) {
        const next = cron.nextRun(at);
        if (!next || next.getTime() >= untilMs) break;
        push(next.getTime());
        at = next;
      }
    } catch {
      // an expression croner does not read: its next run (above) is all we know
    }
  }
  return out.sort((a, b) => a - b);
}

export class ScheduleKeeper {
  #record: ScheduleRecord;

  constructor(record?: ScheduleRecord) {
    this.#record = record ? structuredClone(record) : { jobs: [], readAt: null, lastWakeAt: null, wakes: [], lastRun: null };
  }

  get jobs(): CronJob[] {
    return this.#record.jobs;
  }

  get lastRun(): ScheduleRecord['lastRun'] {
    return this.#record.lastRun;
  }

  /** Reads the jobs from the gateway (every page). @throws what the gateway call throws. */
  async refresh(gateway: CronReader, nowMs: number): Promise<CronJob[]> {
    const jobs: CronJob[] = [];
    let offset = 0;
    for (let page = 0; page < 20; page++) {
      const answer = await gateway.call<{ jobs?: Array<Record<string, unknown>>; hasMore?: boolean; nextOffset?: number | null }>('cron.list', { includeDisabled: false, limit: 200, offset });
      jobs.push(...(answer.jobs ?? []).map(toCronJob));
      if (!answer.hasMore || answer.nextOffset == null) break;
      offset = answer.nextOffset;
    }
    this.#record.jobs = jobs;
    this.#record.readAt = new Date(nowMs).toISOString();
    return jobs;
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
    this.#record.wakes = [...this.#record.wakes, { jobId: job.jobId, jobName: job.jobName, wokeAt: new Date(wokeAtMs).toISOString(), ms: Math.max(0, nowMs - wokeAtMs), outcome }].filter((w) => nowMs - Date.parse(w.wokeAt) < WAKES_KEPT_MS);
  }

  /** Seconds scheduled wakes ran in the last `hours` (to keep them out of the burn rate the cost guard extrapolates). */
  recentSeconds(nowMs: number, hours: number): number {
    const from = nowMs - hours * 3_600_000;
    return this.#record.wakes.filter((w) => Date.parse(w.wokeAt) >= from).reduce((sum, w) => sum + w.ms / 1000, 0);
  }

  /**
   * What the rest of the month's scheduled wakes will run: the waking jobs'
   * runs until `untilMs`, runs close together sharing one wake, spaced by
   * `gapMs`, each wake `bootMs` + the job's typical run + a stop long.
   */
  upcoming(options: NextWakeOptions & { untilMs: number; bootMs: number }): { wakes: number; seconds: number } {
    const runs = this.wakingJobs(options.mode).flatMap((j) => runsBetween(j, options.nowMs, options.untilMs)).sort((a, b) => a - b);
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
    const runMs = this.#record.lastRun?.durationMs ?? DEFAULT_RUN_MS;
    return { wakes, seconds: (wakes * (options.leadMs + options.bootMs + runMs + STOP_MS)) / 1000 };
  }

  /**
   * Whether the run a scheduled wake stays up for has finished, by the
   * gateway's run history (a run at or after its due time that finished).
   */
  async runFinished(gateway: CronReader, job: ScheduledJob): Promise<boolean> {
    const answer = await gateway.call<{ entries?: Array<Record<string, unknown>> }>('cron.runs', { id: job.jobId, limit: 20 });
    const entry = (answer.entries ?? []).find((e) => e.action === 'finished' && typeof e.runAtMs === 'number' && e.runAtMs >= job.runAtMs - SAME_WAKE_MS);
    if (!entry) return false;
    this.#record.lastRun = { jobId: job.jobId, jobName: job.jobName, at: new Date(entry.runAtMs as number).toISOString(), status: String(entry.status ?? 'unknown'), durationMs: typeof entry.durationMs === 'number' ? entry.durationMs : null };
    return true;
  }

  toJSON(): ScheduleRecord {
    return structuredClone(this.#record);
  }
}
