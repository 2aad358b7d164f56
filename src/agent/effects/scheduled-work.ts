/**
 * Work the Agent asks the gateway about: whether work still runs inside
 * before an idle sleep (the machine's `checkWork` actor), the next job that
 * should wake a sleeping assistant (read at the stop before a sleep), the run
 * a scheduled wake stays up for, and what scheduled wakes cost (for the cost
 * guard and the status).
 */
import type { LifecycleContext, LifecycleEvent, LifecycleState, ScheduledJob, StopOutput, WorkCheck } from '../../../machines/lifecycle-types.ts';
import type { InstanceType } from '../../config.ts';
import type { BudgetKeeper } from '../../cost/budget-keeper.ts';
import { errorMessage } from '../../errors.ts';
import { GatewayRpc, GatewayRpcError } from '../../runtime/gateway-rpc.ts';
import type { ScheduledWakeInProgress } from '../agent-record.ts';
import type { AgentStatus } from '../agent-status.ts';
import type { BootTimeline } from '../records/boot-timeline.ts';
import type { EffectContext } from '../effect-context.ts';
import { ScheduleKeeper, type ScheduleRecord } from '../records/schedule-keeper.ts';

export interface ScheduledWorkParts {
  boots: BootTimeline;
  budget: BudgetKeeper;
  /** Sends an event to the machine and waits until it is persisted. */
  send: (event: LifecycleEvent) => Promise<void>;
  record?: { schedule?: ScheduleRecord; scheduledWake?: ScheduledWakeInProgress | null };
}

/** The scheduled wakes' part of an Agent's usage report. */
export interface ScheduleReport {
  upcomingWakes: number;
  upcomingSeconds: number;
  recentSeconds: number;
  instanceType: InstanceType;
  /** The schedule was too large to work out: upcomingSeconds is the whole rest of the month. */
  saturated: boolean;
}

export class ScheduledWork {
  readonly #ctx: EffectContext;
  readonly #parts: ScheduledWorkParts;
  /** The Agent's own control channel to the gateway (suspend checks, the schedule). */
  readonly #gateway: GatewayRpc;
  /** The gateway's scheduled jobs and the wakes they cost (persisted). */
  readonly #schedule: ScheduleKeeper;
  /** The scheduled wake under way (persisted). */
  #wake: ScheduledWakeInProgress | null;

  constructor(ctx: EffectContext, parts: ScheduledWorkParts) {
    this.#ctx = ctx;
    this.#parts = parts;
    this.#gateway = new GatewayRpc(ctx.deps.runtime, ctx.deps.config.gatewayUser);
    this.#schedule = new ScheduleKeeper(parts.record?.schedule);
    this.#wake = parts.record?.scheduledWake ?? null;
  }

  /**
   * Idle means idle inside too: the gateway is asked (refuse-only suspend)
   * whether work still runs. Busy work counts as activity: the machine waits
   * retryAfterMs and asks again. @throws when the gateway cannot say.
   */
  async checkWork(since: number | null): Promise<WorkCheck> {
    const now = this.#ctx.now();
    const answer = await this.#gateway.prepareSuspend(`ondemand-idle-${now}`);
    if (answer.status === 'ready') {
      // The lease closes the gateway's admission (cron.list included): reopen it, the stop that follows drains anyway.
      await this.#gateway
        .resumeSuspend(answer.suspensionId)
        .catch((error: unknown) => this.#ctx.log('lifecycle:work-check', { result: 'resume-failed', message: errorMessage(error) }));
      this.#ctx.log('lifecycle:work-check', { result: 'idle' });
      return { idle: true };
    }
    const first = since ?? now;
    const blockers = answer.blockers.map((b) => ({ kind: b.kind, count: b.count, message: b.message.slice(0, 200) }));
    this.#ctx.log('lifecycle:work-check', { result: 'busy', blockers: blockers.map((b) => `${b.kind}×${b.count}`).join(', '), waitedMs: now - first });
    return { idle: false, blockers, retryAfterMs: Math.min(5 * 60_000, Math.max(5_000, answer.retryAfterMs)), since: first, waitedMs: now - first };
  }

  /** The next scheduled wake, read from the gateway's jobs; null when none wakes it (or the gateway cannot say). */
  async nextWake(): Promise<StopOutput['nextWake']> {
    const { config } = this.#ctx.deps;
    if (config.scheduledWakes === 'off') return null;
    const now = this.#ctx.now();
    try {
      await this.#schedule.refresh(this.#gateway, now);
    } catch (error) {
      this.#ctx.log('lifecycle:schedule-unread', { message: errorMessage(error) });
      if (!(error instanceof GatewayRpcError)) return null;
    }
    const next = this.#schedule.nextWake({ nowMs: now, mode: config.scheduledWakes, leadMs: this.leadMs(), gapMs: this.gapMs() });
    if (next)
      this.#ctx.log('lifecycle:scheduled-wake', {
        job: next.jobName,
        runAt: new Date(next.runAtMs).toISOString(),
        wakeAt: new Date(next.wakeAtMs).toISOString(),
      });
    return next;
  }

  /** How far ahead of a job the assistant wakes: SCHEDULED_WAKE_LEAD, or the last boot × 1.5 + 10 s (20 s to 10 min). */
  leadMs(): number {
    const { scheduledWakeLeadMs } = this.#ctx.deps.config;
    if (scheduledWakeLeadMs !== null) return scheduledWakeLeadMs;
    const boot = this.#parts.boots.last?.totalMs ?? 60_000;
    return Math.min(10 * 60_000, Math.max(20_000, Math.round(boot * 1.5 + 10_000)));
  }

  /** Over the soft budget line, scheduled wakes are spaced SCHEDULE_SOFT_GAP apart (thinned); else not at all. */
  gapMs(): number {
    return this.#parts.budget.last?.decision.level === 'soft' ? this.#ctx.deps.config.scheduleSoftGapMs : 0;
  }

  /**
   * A scheduled wake's container time, kept for the cost projection: from
   * the wake for a job to the stop that ends it, when no person used the
   * assistant meanwhile (then it is ordinary use).
   */
  track(from: LifecycleState, to: LifecycleState, running: boolean, before: LifecycleContext, after: LifecycleContext): void {
    const now = this.#ctx.now();
    if (from === 'sleeping' && to === 'booting' && after.scheduledRun) {
      this.#wake = { job: after.scheduledRun, wokeAt: now, outcome: 'interrupted' };
      this.#schedule.woke(now);
      return;
    }
    const wake = this.#wake;
    if (!wake || running) return;
    if (!before.personSeen) this.#schedule.ended(wake.job, wake.wokeAt, now, wake.outcome);
    this.#wake = null;
  }

  /** Up for a scheduled run: has it finished (the gateway's run history), or has the wait run out? */
  async checkRun(run: ScheduledJob): Promise<void> {
    const now = this.#ctx.now();
    const finished = await this.#schedule.runFinished(this.#gateway, run).catch(() => false);
    const gaveUp = !finished && now > Math.max(run.runAtMs, run.wakeAtMs) + this.#ctx.deps.config.scheduledRunWaitMs;
    if (!finished && !gaveUp) return;
    this.#ctx.log('lifecycle:scheduled-run', { job: run.jobName, outcome: finished ? 'finished' : 'gave-up' });
    if (this.#wake) this.#wake.outcome = finished ? 'finished' : 'gave-up';
    await this.#parts.send({ type: 'schedule.finished', outcome: finished ? 'finished' : 'gave-up' });
  }

  /**
   * For the cost guard: how many wakes the waking jobs will cause until the
   * month ends and the seconds they will run (none while hibernated: it
   * never wakes for a job; the whole rest of the month when the schedule is
   * too large to work out: `saturated`), and the seconds scheduled wakes ran
   * in the last `hours` (kept out of the burn rate it extrapolates).
   */
  report(hours: number, state: LifecycleState): ScheduleReport {
    const now = this.#ctx.now();
    const recentSeconds = this.#schedule.recentSeconds(now, hours);
    const { instanceType, scheduledWakes } = this.#ctx.deps.config;
    if (state === 'hibernated') return { upcomingWakes: 0, upcomingSeconds: 0, recentSeconds, instanceType, saturated: false };
    const end = new Date(now);
    const untilMs = Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1);
    const upcoming = this.#schedule.upcoming({
      nowMs: now,
      untilMs,
      mode: scheduledWakes,
      leadMs: this.leadMs(),
      gapMs: this.gapMs(),
      bootMs: this.#parts.boots.last?.totalMs ?? 60_000,
    });
    return { upcomingWakes: upcoming.wakes, upcomingSeconds: upcoming.seconds, recentSeconds, instanceType, saturated: upcoming.saturated };
  }

  /** The `schedule` part of the status. */
  status(context: LifecycleContext): AgentStatus['schedule'] {
    const mode = this.#ctx.deps.config.scheduledWakes;
    return {
      mode,
      next: context.scheduledWake
        ? {
            ...context.scheduledWake,
            runAt: new Date(context.scheduledWake.runAtMs).toISOString(),
            wakeAt: new Date(context.scheduledWake.wakeAtMs).toISOString(),
          }
        : null,
      awaiting: context.scheduledRun ? { ...context.scheduledRun, runAt: new Date(context.scheduledRun.runAtMs).toISOString() } : null,
      lastRun: this.#schedule.lastRun,
      jobs: this.#schedule.jobs.length,
      wakingJobs: this.#schedule.wakingJobs(mode).length,
      thinnedToEveryMs: this.gapMs() || null,
    };
  }

  toJSON(): { schedule: ScheduleRecord; scheduledWake: ScheduledWakeInProgress | null } {
    return { schedule: this.#schedule.toJSON(), scheduledWake: this.#wake };
  }
}
