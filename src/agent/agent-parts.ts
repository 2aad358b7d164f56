/**
 * The records one assistant keeps beside its machine (timers, meter,
 * transitions, budget, boots, backups, stops, scheduled work, browser):
 * made from the persisted record, written back into it, and read for the
 * status and the cost guard's usage report. The controller owns one set.
 */
import type { LifecycleEvent, LifecycleState } from '../../machines/lifecycle-types.ts';
import type { InstanceType } from '../config.ts';
import { AgentBrowser } from '../browser/agent-browser.ts';
import { ModelAccess } from './model-access.ts';
import { BudgetKeeper } from '../cost/budget-keeper.ts';
import { ModelMeter } from '../cost/model-meter.ts';
import type { LifecycleSnapshot, PersistedRecord } from './agent-record.ts';
import { buildStatus, type AgentStatus } from './agent-status.ts';
import { BackupWork } from './effects/backup-work.ts';
import { BootTimeline } from './records/boot-timeline.ts';
import { UsageMeter } from '../cost/usage-meter.ts';
import type { EffectContext } from './effect-context.ts';
import { ScheduledWork, type ScheduleReport } from './effects/scheduled-work.ts';
import { StateKeeper } from './records/state-keeper.ts';
import { StopSequence } from './effects/stop-sequence.ts';
import { TimerTable } from './records/timer-table.ts';
import { TransitionLog } from './records/transition-log.ts';

export interface AgentUsageReport {
  meter: { month: Partial<Record<InstanceType, number>>; recent: Partial<Record<InstanceType, number>> };
  browser: { monthHours: number; recentHours: number };
  /** Model calls metered at egress: spent this month and in the last `hours`. */
  model?: { monthUsd: number; recentUsd: number; calls: number };
  schedule: ScheduleReport;
  /** The backups' R2 use: bytes kept now, operations this month. */
  r2: { storedBytes: number; backups: number; classA: number; classB: number };
}

export class AgentParts {
  readonly timers: TimerTable;
  readonly meter: UsageMeter;
  readonly transitions: TransitionLog;
  readonly budget: BudgetKeeper;
  readonly boots: BootTimeline;
  readonly keeper: StateKeeper;
  readonly backups: BackupWork;
  readonly scheduled: ScheduledWork;
  readonly stops: StopSequence;
  readonly browser: AgentBrowser;
  readonly model: ModelAccess;
  readonly modelMeter: ModelMeter;
  readonly #ctx: EffectContext;

  /** `send` gives the scheduled work a way to tell the machine (a job is due, work finished). */
  constructor(ctx: EffectContext, record: PersistedRecord | undefined, send: (event: LifecycleEvent) => Promise<void>) {
    const { deps, now, log } = ctx;
    this.#ctx = ctx;
    this.timers = new TimerTable(record?.timers);
    this.meter = new UsageMeter(record?.meter);
    this.transitions = new TransitionLog(record, now());
    this.budget = new BudgetKeeper(record?.budget);
    this.boots = new BootTimeline(record?.boots);
    this.keeper = new StateKeeper({
      runtime: deps.runtime,
      store: deps.backups ?? null,
      agent: deps.config.agentName,
      runtimeKind: deps.runtimeKind,
      now,
      ...(record?.state ? { record: record.state } : {}),
    });
    this.model = new ModelAccess(deps.containerEnv, now, record?.modelAccess);
    this.modelMeter = new ModelMeter(record?.modelMeter);
    this.backups = new BackupWork(ctx, this.keeper, this.timers, this.model);
    this.scheduled = new ScheduledWork(ctx, {
      boots: this.boots,
      budget: this.budget,
      send,
      record: { ...(record?.schedule ? { schedule: record.schedule } : {}), scheduledWake: record?.scheduledWake ?? null },
    });
    this.stops = new StopSequence(ctx, {
      keeper: this.keeper,
      nextWake: () => this.scheduled.nextWake(),
      record: { lastStop: record?.lastStop ?? null, finalBackupOwed: record?.finalBackupOwed ?? false },
    });
    this.browser = new AgentBrowser({
      sessions: deps.browserSessions,
      now,
      log,
      onChange: () => ctx.persist(),
      record: record?.browser,
      local: record?.localBrowser,
    });
  }

  /** The whole record to persist, with the machine's own snapshot. */
  record(snapshot: unknown, lastActivityAt: number | null): PersistedRecord {
    return {
      snapshot,
      timers: this.timers.toJSON(),
      meter: this.meter.toJSON(),
      ...this.transitions.toJSON(),
      lastActivityAt,
      state: this.keeper.toJSON(),
      budget: this.budget.toJSON(),
      ...this.stops.toJSON(),
      boots: this.boots.toJSON(),
      ...this.scheduled.toJSON(),
      ...this.browser.toJSON(),
      modelAccess: this.model.toJSON(),
      modelMeter: this.modelMeter.toJSON(),
    };
  }

  /** The cost guard's inputs: self-metered seconds per instance type, browser-hours, scheduled wakes (this month and in the last `hours`). */
  /**
   * The cost guard's inputs. `withSchedule: false` leaves the scheduled wakes
   * to come out (none counted): what the cost guard asks for when the full
   * report failed, so the Agent is still priced from its own meter.
   */
  usage(hours: number, state: LifecycleState, withSchedule = true): AgentUsageReport {
    const now = this.#ctx.now();
    return {
      meter: { month: this.meter.totals(now).seconds, recent: this.meter.recentSeconds(now, hours) },
      browser: this.browser.report(hours),
      model: this.modelMeter.report(hours, now),
      schedule: withSchedule
        ? this.scheduled.report(hours, state)
        : { upcomingWakes: 0, upcomingSeconds: 0, recentSeconds: 0, instanceType: this.#ctx.deps.config.instanceType, saturated: false },
      r2: this.keeper.r2Usage(now),
    };
  }

  status(snapshot: LifecycleSnapshot, lastActivityAt: number | null, cost: AgentStatus['cost'], inbox: AgentStatus['inbox'] = null): AgentStatus {
    const { deps, now } = this.#ctx;
    return buildStatus({
      agent: deps.config.agentName,
      runtime: deps.runtimeKind,
      snapshot,
      since: this.transitions.since,
      activity: this.#ctx.activities.current(),
      timers: { sleep: this.timers.dueAt('sleep'), quiet: this.timers.dueAt('quiet') },
      history: this.transitions.history,
      lastActivityAt,
      lastStop: this.stops.lastStop,
      boot: this.boots.latest,
      expectedBoot: this.boots.expected,
      now: now(),
      browser: this.browser.status(),
      model: this.model.status(),
      schedule: this.scheduled.status(snapshot.context),
      meter: { ...this.meter.totals(now()), instanceType: deps.config.instanceType },
      backups: { enabled: this.keeper.enabled, history: this.keeper.history, lastGood: this.keeper.lastGood },
      cost,
      inbox,
    });
  }
}
