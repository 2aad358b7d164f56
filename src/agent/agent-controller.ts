/**
 * The lifecycle controller: hosts the XState actor for one assistant inside
 * a Durable Object (production Sandbox class or local class alike), turns
 * every stimulus into an event, supplies the machine's side effects, and
 * persists the snapshot, timers and meter after every transition.
 */
import { createActor, fromCallback, fromPromise, type Actor, type InspectionEvent, type SnapshotFrom } from 'xstate';
import { lifecycleMachine } from '../../machines/lifecycle.ts';
import {
  LIFECYCLE_STATES,
  TIMER_EVENTS,
  type BootInput,
  type LifecycleEvent,
  type LifecycleState,
  type LifecycleError,
  type ScheduledJob,
  type StopInput,
  type StopOutput,
  type WorkCheck,
} from '../../machines/lifecycle-types.ts';
import type { Config } from '../config.ts';
import { AppError, errorMessage } from '../errors.ts';
import { logLine } from '../log.ts';
import { gatewayRequest } from '../runtime/gateway-request.ts';
import type { Runtime, RuntimeProbe, RuntimeStopReport } from '../runtime/runtime.ts';
import { describeTransition, type AgentStatus, type TransitionRecord } from './agent-status.ts';
import type { BackupStore } from '../backup/backup-store.ts';
import { ContainerMeter, type MeterRecord } from './container-meter.ts';
import { RestoreFailure, StateKeeper, type BackupEvent, type StateKeeperRecord } from './state-keeper.ts';
import { BudgetKeeper, type BudgetEvaluation, type BudgetRecord } from '../cost/budget-keeper.ts';
import type { InstanceType } from '../config.ts';
import { TimerTable, type TimerEntries, type WakeupPort } from './timer-table.ts';
import { BootTimeline, bootParts, type BootRecord } from './boot-timeline.ts';
import { ScheduleKeeper, type ScheduleRecord } from './schedule-keeper.ts';
import { GatewayRpc, GatewayRpcError } from '../runtime/gateway-rpc.ts';
import { CdpPassthrough, type CdpRecord, type CdpStatus } from '../browser/cdp-passthrough.ts';
import type { BrowserSessions } from '../browser/browser-sessions.ts';

/** The slice of Durable Object storage the controller uses (a Map-backed fake will do). */
export interface ControllerStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

export interface ControllerDeps {
  storage: ControllerStorage;
  wakeups: WakeupPort;
  runtime: Runtime;
  config: Config;
  runtimeKind: 'local' | 'sandbox';
  /** Environment for the start script (secrets; never logged). */
  containerEnv: Record<string, string>;
  /** Where backups go; null disables backups (and restores). */
  backups?: BackupStore | null;
  clock?: () => number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Posts an operator notification (NOTIFY_WEBHOOK_URL); absent when none is configured. */
  notify?: (body: Record<string, unknown>) => Promise<void>;
  /** Told whenever a person's request counts as activity (the platform's idle timer follows it). */
  onActivity?: () => void;
  /** Browser Rendering (production): the agent's browser through the CDP passthrough; absent: OpenClaw's own (local mode) or none. */
  browserSessions?: BrowserSessions | null;
}

interface PersistedRecord {
  snapshot: unknown;
  timers: TimerEntries;
  meter: MeterRecord;
  since: number;
  lastActivityAt: number | null;
  history: TransitionRecord[];
  state?: StateKeeperRecord;
  budget?: BudgetRecord;
  lastStop?: StopRecord | null;
  finalBackupOwed?: boolean;
  boots?: { current: BootRecord | null; last: BootRecord | null };
  schedule?: ScheduleRecord;
  scheduledWake?: ScheduledWakeInProgress | null;
  browser?: CdpRecord;
  /** The browser the start script reported at the last boot (local mode: the machine's Chromium, or none). */
  localBrowser?: { mode: string; detail: string } | null;
}

interface ScheduledWakeInProgress {
  job: ScheduledJob;
  wokeAt: number;
  outcome: 'finished' | 'gave-up' | 'interrupted';
}

/** How the last intentional stop went (shown in the status). */
export interface StopRecord {
  at: string;
  target: StopInput['target'];
  /** The gateway exited by itself after its SIGTERM (null: the runtime cannot tell). */
  drained: boolean | null;
  gatewayExitCode: number | null;
  drainMs: number | null;
  /** What the stop gave up, e.g. a final backup that failed. */
  warning: LifecycleError | null;
}

/** What GET /api/cost shows of one Agent. */
export interface CostSummary {
  last: BudgetEvaluation | null;
  decisions: BudgetRecord['decisions'];
  /** sleepAfter in force (shortened by the budget, or the configured one). */
  sleepAfterMs: number;
  configuredSleepAfterMs: number;
}

type LifecycleActor = Actor<typeof lifecycleMachine>;
type LifecycleSnapshot = SnapshotFrom<typeof lifecycleMachine>;
export type LifecycleCommand = 'wake' | 'sleep' | 'stop' | 'hibernate' | 'resume';

const STORAGE_KEY = 'lifecycle';
const HISTORY_LIMIT = 50;
/** While booting, the DO wakes itself at least this often, so an evicted boot resumes. */
const BOOT_KEEPALIVE_MS = 10_000;
/** The reason of a backup the change check brought forward. */
export const CHANGE_BACKUP_REASON = 'changed';
const RUNNING_STATES: ReadonlySet<LifecycleState> = new Set(['booting', 'ready', 'idle']);

export function topState(snapshot: LifecycleSnapshot): LifecycleState {
  const value = snapshot.value;
  const top = typeof value === 'string' ? value : Object.keys(value)[0];
  return LIFECYCLE_STATES.includes(top as LifecycleState) ? (top as LifecycleState) : 'stopped';
}

export function isStopping(snapshot: LifecycleSnapshot): boolean {
  return JSON.stringify(snapshot.value).includes('"stopping"');
}

export class AgentController {
  readonly #deps: ControllerDeps;
  readonly #now: () => number;
  readonly #log: (event: string, fields: Record<string, unknown>) => void;
  readonly #timers: TimerTable;
  readonly #meter: ContainerMeter;
  #actor!: LifecycleActor;
  #since: number;
  #lastActivityAt: number | null;
  #history: TransitionRecord[];
  #lastEvent: { type: string; reason?: unknown } = { type: 'init' };
  #previous!: LifecycleSnapshot;
  #writes: Promise<void> = Promise.resolve();
  readonly #keeper: StateKeeper;
  readonly #budget: BudgetKeeper;
  /** Container-starting wakes per identity in the last minute (memory only). */
  readonly #wakes = new Map<string, number[]>();
  /** Work in progress within a state, counted (overlapping backups), shown as the phase. */
  readonly #activities = new Map<'restoring' | 'backing-up', number>();
  #lastStop: StopRecord | null;
  /** The state's stamp at the last change check (memory only: after a restart the first check counts as a change). */
  #lastStamp: string | null = null;
  /** A change was seen since the last periodic backup (which then says so in its reason). */
  #changeSeen = false;
  /**
   * The platform wakeup last set (undefined: not known). Set again only when
   * it changes: setting a DO alarm again and again (a request every few
   * hundred ms) keeps a due alarm from ever running.
   */
  #wakeupSet: number | null | undefined = undefined;
  /** Gateway requests whose answer is not read to the end yet (memory only: a restart ends them). */
  #requestsInFlight = 0;
  /** The current stop sequence's failure was posted to the webhook (once per sequence). */
  #stopFailureNotified = false;
  /** The stop under way drained a running gateway and still owes its final backup (persisted). */
  #finalBackupOwed: boolean;
  /** How the current stop sequence's drain went. */
  #lastDrain: RuntimeStopReport | null = null;
  /** Where the boots' time went (persisted). */
  readonly #boots: BootTimeline;
  /** The gateway's scheduled jobs and the wakes they cost (persisted). */
  readonly #schedule: ScheduleKeeper;
  /** The scheduled wake under way (persisted): its job, when it began, how its run went. */
  #scheduledWake: ScheduledWakeInProgress | null;
  /** The Agent's own control channel to the gateway (suspend checks, the schedule). */
  readonly #gateway: GatewayRpc;
  /** The agent's browser in production (Browser Rendering through the CDP passthrough), else null. */
  readonly #browser: CdpPassthrough | null;
  /** The browser the start script reported (local mode), persisted. */
  #localBrowser: { mode: string; detail: string } | null;

  private constructor(deps: ControllerDeps, record: PersistedRecord | undefined) {
    this.#deps = deps;
    this.#now = deps.clock ?? Date.now;
    const secrets = Object.values(deps.containerEnv);
    this.#log = deps.log ?? ((event, fields) => console.log(logLine(event, fields, secrets)));
    this.#timers = new TimerTable(record?.timers);
    this.#meter = new ContainerMeter(record?.meter);
    this.#since = record?.since ?? this.#now();
    this.#lastActivityAt = record?.lastActivityAt ?? null;
    this.#history = record?.history ?? [];
    this.#lastStop = record?.lastStop ?? null;
    this.#finalBackupOwed = record?.finalBackupOwed ?? false;
    this.#budget = new BudgetKeeper(record?.budget);
    this.#boots = new BootTimeline(record?.boots);
    this.#schedule = new ScheduleKeeper(record?.schedule);
    this.#scheduledWake = record?.scheduledWake ?? null;
    this.#gateway = new GatewayRpc(deps.runtime, deps.config.gatewayUser);
    this.#browser = deps.browserSessions
      ? new CdpPassthrough({ sessions: deps.browserSessions, now: this.#now, log: this.#log, onChange: () => this.#persist(), ...(record?.browser ? { record: record.browser } : {}) })
      : null;
    this.#localBrowser = record?.localBrowser ?? null;
    this.#keeper = new StateKeeper({
      runtime: deps.runtime,
      store: deps.backups ?? null,
      agent: deps.config.agentName,
      runtimeKind: deps.runtimeKind,
      now: this.#now,
      ...(record?.state ? { record: record.state } : {}),
    });
  }

  /** Loads the persisted snapshot (or starts fresh in `stopped`) and starts the actor. */
  static async load(deps: ControllerDeps): Promise<AgentController> {
    const record = await deps.storage.get<PersistedRecord>(STORAGE_KEY);
    const controller = new AgentController(deps, record);
    controller.#start(record?.snapshot);
    const override = controller.#budget.sleepAfterOverrideMs;
    const settings = { ...deps.config.lifecycle, ...(override !== null ? { sleepAfterMs: override } : {}) };
    const context = controller.#actor.getSnapshot().context;
    if ((Object.keys(settings) as Array<keyof typeof settings>).some((k) => context[k] !== settings[k])) {
      controller.#actor.send({ type: 'settings.updated', settings });
    }
    controller.#persist();
    await controller.settle();
    return controller;
  }

  #start(persisted: unknown): void {
    const machine = lifecycleMachine.provide({
      actions: {
        scheduleTimer: (_, params) => this.#timers.schedule(params.timer, this.#now() + params.delayMs),
        cancelTimer: (_, params) => this.#timers.cancel(params.timer),
        checkHealth: ({ context }) => {
          void this.#checkHealth();
          if (context.scheduledRun) void this.#checkScheduledRun(context.scheduledRun);
        },
        runBackup: () => void this.#periodicBackup(),
        checkChanges: () => void this.#checkChanges(),
      },
      actors: {
        bootRuntime: fromCallback<LifecycleEvent, BootInput>(({ sendBack, input }) => this.#bootLoop(input, sendBack)),
        stopRuntime: fromPromise<StopOutput, StopInput>(({ input }) => this.#stopRuntime(input)),
        checkWork: fromPromise<WorkCheck, { since: number | null }>(({ input }) => this.#checkWork(input.since)),
      },
    });
    const inspect = (event: InspectionEvent) => {
      if (event.type === '@xstate.event' && event.actorRef === this.#actor) this.#lastEvent = event.event as { type: string };
    };
    const input = this.#deps.config.lifecycle;
    if (persisted && isReadableSnapshot(persisted)) {
      this.#actor = createActor(machine, { input, inspect, snapshot: persisted as LifecycleSnapshot });
      this.#actor.start();
    } else {
      // A snapshot this machine cannot read must not lose a hibernation: start fresh and re-enter it.
      if (persisted) this.#log('lifecycle:restore-failed', { agent: this.#deps.config.agentName, value: JSON.stringify((persisted as { value?: unknown }).value ?? null) });
      const wasHibernated = JSON.stringify((persisted as { value?: unknown } | undefined)?.value ?? '').includes('hibernated');
      this.#actor = createActor(machine, { input, inspect });
      this.#actor.start();
      if (wasHibernated) this.#actor.send({ type: 'lifecycle.hibernate', reason: 'restored after an unreadable snapshot', by: 'system' });
    }
    this.#previous = this.#actor.getSnapshot();
    this.#actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot),
      error: (error) => this.#log('lifecycle:actor-error', { message: error instanceof Error ? error.message : String(error) }),
    });
  }

  /** Resolves once every change so far is written to storage. */
  async settle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.#writes;
      await current;
    } while (current !== this.#writes);
  }

  get state(): LifecycleState {
    return topState(this.#actor.getSnapshot());
  }

  /** Sends one event and waits until the result is persisted. */
  async send(event: LifecycleEvent): Promise<void> {
    this.#actor.send(event);
    await this.settle();
  }

  /** Runs an operator command. @throws AppError `hibernated` (wake) or `conflict` (resume when not hibernated). */
  async command(name: LifecycleCommand, options: { reason?: string; by?: string; override?: boolean; identity?: string } = {}): Promise<AgentStatus> {
    const snapshot = this.#actor.getSnapshot();
    const state = topState(snapshot);
    switch (name) {
      case 'wake':
        if (state === 'hibernated') throw this.hibernatedError();
        if (state === 'stopped' || state === 'sleeping') this.#countWake(options.identity ?? 'unknown');
        this.#lastActivityAt = this.#now();
        this.#deps.onActivity?.();
        await this.send({ type: 'lifecycle.wake', reason: options.reason ?? 'wake requested' });
        break;
      case 'sleep':
        await this.send({ type: 'lifecycle.sleep', reason: options.reason ?? 'sleep requested' });
        break;
      case 'stop':
        await this.send({ type: 'lifecycle.stop', reason: options.reason ?? 'stop requested' });
        break;
      case 'hibernate':
        await this.send({ type: 'lifecycle.hibernate', reason: options.reason ?? 'hibernated by the operator', by: options.by ?? 'operator' });
        break;
      case 'resume': {
        if (state !== 'hibernated') throw new AppError('conflict', `nothing to resume: the assistant is ${state}, not hibernated`);
        const last = this.#budget.last;
        if (last?.decision.level === 'hard' && !options.override) {
          throw new AppError(
            'budget_exceeded',
            `the month is still projected at $${last.projectedUsd.toFixed(2)}, over the hard limit $${last.hardUsd.toFixed(2)}; resume with {"override": true} to run anyway (the next cron run may hibernate it again)`,
            { projectedUsd: last.projectedUsd, hardUsd: last.hardUsd },
          );
        }
        await this.send({ type: 'lifecycle.resume', reason: options.reason ?? 'resumed by the operator' });
        break;
      }
    }
    return this.status();
  }

  /**
   * Backs the running state up now (POST /api/backup).
   * @throws AppError `conflict` when no container runs (the last backup is the state then).
   */
  async backupNow(reason = 'requested'): Promise<BackupEvent> {
    const snapshot = this.#actor.getSnapshot();
    const state = topState(snapshot);
    if ((state !== 'ready' && state !== 'idle') || isStopping(snapshot)) {
      throw new AppError('conflict', `nothing to back up: the assistant is ${state}${isStopping(snapshot) ? ' (stopping)' : ''}; its last backup holds its state`);
    }
    try {
      return await this.#withActivity('backing-up', () => this.#keeper.backup(reason));
    } finally {
      this.#persist();
      await this.settle();
    }
  }

  /**
   * Applies the cost guard's evaluation: the sleepAfter it imposes, and a
   * hibernation (with its backup) when over the hard line. Waits, bounded,
   * until a hibernation's stop has finished.
   */
  async applyBudget(evaluation: BudgetEvaluation): Promise<{ changed: boolean; previousLevel: string | null; state: LifecycleState }> {
    const { changed, previousLevel } = this.#budget.record(evaluation);
    const sleepAfterMs = this.#budget.sleepAfterOverrideMs ?? this.#deps.config.lifecycle.sleepAfterMs;
    if (this.#actor.getSnapshot().context.sleepAfterMs !== sleepAfterMs) this.#actor.send({ type: 'settings.updated', settings: { sleepAfterMs } });
    if (evaluation.decision.hibernate && this.state !== 'hibernated') {
      this.#actor.send({ type: 'lifecycle.hibernate', reason: evaluation.decision.reason, by: 'budget' });
    }
    if (changed) this.#log('cost:decision', { agent: this.#deps.config.agentName, level: evaluation.decision.level, projectedUsd: evaluation.projectedUsd, sleepAfterMs, source: evaluation.source });
    this.#persist();
    await this.settle();
    for (let i = 0; i < 600 && isStopping(this.#actor.getSnapshot()); i++) await new Promise((r) => setTimeout(r, 100));
    await this.settle();
    return { changed, previousLevel, state: this.state };
  }

  costSummary(): CostSummary {
    return {
      last: this.#budget.last,
      decisions: this.#budget.decisions.slice(-20),
      sleepAfterMs: this.#actor.getSnapshot().context.sleepAfterMs,
      configuredSleepAfterMs: this.#deps.config.lifecycle.sleepAfterMs,
    };
  }

  /** The self-meter's seconds this month and in the last `hours`, per instance type. */
  meterReport(hours: number): { month: Partial<Record<InstanceType, number>>; recent: Partial<Record<InstanceType, number>> } {
    const now = this.#now();
    return { month: this.#meter.totals(now).seconds, recent: this.#meter.recentSeconds(now, hours) };
  }

  /**
   * Scheduled wakes, for the cost guard: how many the waking jobs will cause
   * until the month ends and the seconds they will run (none while
   * hibernated: it never wakes for a job), and the seconds scheduled wakes
   * ran in the last `hours` (kept out of the burn rate it extrapolates).
   */
  scheduleReport(hours: number): { upcomingWakes: number; upcomingSeconds: number; recentSeconds: number; instanceType: InstanceType } {
    const now = this.#now();
    const recentSeconds = this.#schedule.recentSeconds(now, hours);
    const { instanceType } = this.#deps.config;
    if (this.state === 'hibernated') return { upcomingWakes: 0, upcomingSeconds: 0, recentSeconds, instanceType };
    const end = new Date(now);
    const untilMs = Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1);
    const upcoming = this.#schedule.upcoming({ nowMs: now, untilMs, mode: this.#deps.config.scheduledWakes, leadMs: this.#scheduledWakeLeadMs(), gapMs: this.#scheduleGapMs(), bootMs: this.#boots.last?.totalMs ?? 60_000 });
    return { upcomingWakes: upcoming.wakes, upcomingSeconds: upcoming.seconds, recentSeconds, instanceType };
  }

  /** A CDP connection from the container's browser tool (production), to the passthrough. */
  async browserConnect(request: Request): Promise<Response> {
    if (!this.#browser) return new Response('this assistant has no Browser Rendering binding', { status: 404 });
    if (!RUNNING_STATES.has(this.state)) return new Response(`the assistant is ${this.state}`, { status: 409 });
    return this.#browser.accept(request);
  }

  /** Browser-hours this month and recently (for the cost guard); zero without Browser Rendering. */
  browserReport(hours: number): { monthHours: number; recentHours: number } {
    return this.#browser?.meterReport(hours) ?? { monthHours: 0, recentHours: 0 };
  }

  #browserStatus(): AgentStatus['browser'] {
    if (this.#browser) return this.#browser.status();
    if (this.#localBrowser) return { mode: this.#localBrowser.mode as 'local-chromium' | 'off', detail: this.#localBrowser.detail };
    return { mode: 'unknown', detail: 'not reported yet: it is known after the first boot' };
  }

  /** Counts a request as activity; wakes a stopped or sleeping assistant. */
  async recordRequest(identity = 'unknown'): Promise<void> {
    this.#lastActivityAt = this.#now();
    this.#deps.onActivity?.();
    const state = this.state;
    if (state === 'stopped' || state === 'sleeping') {
      this.#countWake(identity);
      await this.send({ type: 'lifecycle.wake', reason: 'request received' });
    }
    else if (state !== 'hibernated') await this.send({ type: 'activity.recorded' });
  }

  /** Whether the last boot failed for good (a request should show the error, not boot again). */
  get bootFailed(): boolean {
    const error = this.#actor.getSnapshot().context.lastError;
    return this.state === 'stopped' && error !== null && error.code !== 'container_exited';
  }

  /**
   * Forwards a request to the gateway; a dead runtime becomes
   * `container.exited`. The request counts as in flight until its answer's
   * body is read to the end (or cancelled), and as activity again then: an
   * agent turn that takes longer than the quiet time is not idleness.
   */
  async forward(request: Request, identity: string | null = null): Promise<Response> {
    this.#requestsInFlight += 1;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.#requestsInFlight -= 1;
      void this.#requestFinished();
    };
    try {
      const response = await this.#deps.runtime.fetch(gatewayRequest(request, { user: identity ?? this.#deps.config.gatewayUser }));
      if (!response.body || (response as { webSocket?: unknown }).webSocket) {
        finish();
        return response;
      }
      return new Response(whenRead(response.body, finish), response);
    } catch (error) {
      finish();
      await this.#checkHealth();
      throw new AppError('runtime_unreachable', error instanceof Error ? error.message : 'the gateway did not answer');
    }
  }

  async #requestFinished(): Promise<void> {
    this.#lastActivityAt = this.#now();
    this.#deps.onActivity?.();
    const state = this.state;
    if ((state === 'ready' || state === 'idle') && !isStopping(this.#actor.getSnapshot())) await this.send({ type: 'activity.recorded' });
  }

  /**
   * Wakes that start a container, per identity and minute, at most
   * config.wakeLimitPerMinute: a wake loop cannot run up the bill (and the
   * cost guard's hibernation wins anyway). @throws AppError `rate_limited`.
   */
  #countWake(identity: string): void {
    const now = this.#now();
    const recent = (this.#wakes.get(identity) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.#deps.config.wakeLimitPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000));
      throw new AppError('rate_limited', `too many wakes from ${identity}: at most ${this.#deps.config.wakeLimitPerMinute} a minute`, { retryAfterSeconds });
    }
    this.#wakes.set(identity, [...recent, now]);
  }

  hibernatedError(): AppError {
    const h = this.#actor.getSnapshot().context.hibernation;
    return new AppError(
      'hibernated',
      `The assistant is hibernated (${h?.reason ?? 'no reason recorded'}). Resume it with POST /api/resume (or \`clawctl resume\`), then wake it.`,
      { reason: h?.reason ?? null, by: h?.by ?? null },
    );
  }

  /** Fires every durable timer that is due. Called by the DO alarm / Container schedule. */
  async onWakeup(): Promise<void> {
    this.#wakeupSet = undefined; // the platform's wakeup is used up: set the next one whatever it is
    for (const name of this.#timers.takeDue(this.#now())) {
      this.#log('lifecycle:timer', { agent: this.#deps.config.agentName, timer: name });
      // A request still in flight (a long agent turn) is activity: the quiet and idle timers start over.
      if (this.#requestsInFlight > 0 && (name === 'quiet' || name === 'sleep')) {
        this.#actor.send({ type: 'activity.recorded' });
        continue;
      }
      this.#actor.send({ type: TIMER_EVENTS[name] } as LifecycleEvent);
    }
    this.#persist();
    await this.settle();
  }

  /** The platform says the container stopped (Sandbox onStop, local host exit). */
  async onRuntimeStopped(exitCode: number | null, reason: string): Promise<void> {
    const snapshot = this.#actor.getSnapshot();
    if (!RUNNING_STATES.has(topState(snapshot)) || isStopping(snapshot)) return;
    await this.send({ type: 'container.exited', exitCode, reason });
  }

  /**
   * The platform's own activity timeout ran out: treat it like our idle timer.
   * @returns whether the lifecycle expects a container to run now.
   */
  async onActivityExpired(): Promise<boolean> {
    if (this.state === 'idle') await this.send({ type: 'idle.timedOut' });
    return RUNNING_STATES.has(this.state);
  }

  status(): AgentStatus {
    const snapshot = this.#actor.getSnapshot();
    const c = snapshot.context;
    const state = topState(snapshot);
    const stopping = isStopping(snapshot);
    const sleepDue = this.#timers.dueAt('sleep');
    const quietDue = this.#timers.dueAt('quiet');
    const sleepAt = sleepDue ?? (quietDue !== undefined ? quietDue + (c.sleepAfterMs - Math.min(c.quietAfterMs, Math.floor(c.sleepAfterMs / 2))) : undefined);
    const now = this.#now();
    return {
      agent: this.#deps.config.agentName,
      runtime: this.#deps.runtimeKind,
      state,
      since: new Date(this.#since).toISOString(),
      phase: this.#activity() ?? (stopping ? 'stopping' : state === 'booting' ? (c.bootPhase ?? 'launching') : snapshot.matches({ idle: 'waitingForWork' }) ? 'waiting-for-work' : null),
      stopping: stopping ? c.stopIntent : null,
      bootAttempt: c.bootAttempt,
      maxBootAttempts: c.maxBootAttempts,
      lastTransition: this.#history.at(-1) ?? null,
      lastError: c.lastError,
      hibernation: c.hibernation,
      lastStop: this.#lastStop,
      lastBoot: bootSummary(this.#boots.latest),
      browser: this.#browserStatus(),
      work: c.work ? { ...c.work, since: new Date(c.work.since).toISOString() } : null,
      schedule: {
        mode: this.#deps.config.scheduledWakes,
        next: c.scheduledWake ? { ...c.scheduledWake, runAt: new Date(c.scheduledWake.runAtMs).toISOString(), wakeAt: new Date(c.scheduledWake.wakeAtMs).toISOString() } : null,
        awaiting: c.scheduledRun ? { ...c.scheduledRun, runAt: new Date(c.scheduledRun.runAtMs).toISOString() } : null,
        lastRun: this.#schedule.lastRun,
        jobs: this.#schedule.jobs.length,
        wakingJobs: this.#schedule.wakingJobs(this.#deps.config.scheduledWakes).length,
        thinnedToEveryMs: this.#scheduleGapMs() || null,
      },
      sleepAfterMs: c.sleepAfterMs,
      sleepAt: !stopping && sleepAt !== undefined ? new Date(sleepAt).toISOString() : null,
      lastActivityAt: this.#lastActivityAt === null ? null : new Date(this.#lastActivityAt).toISOString(),
      meter: { ...this.#meter.totals(now), instanceType: this.#deps.config.instanceType },
      backups: {
        enabled: this.#keeper.enabled,
        intervalMs: c.backupIntervalMs,
        lastBackup: [...this.#keeper.history].reverse().find((e) => e.kind === 'backup') ?? null,
        lastRestore: [...this.#keeper.history].reverse().find((e) => e.kind === 'restore') ?? null,
        lastGood: this.#keeper.lastGood,
        history: this.#keeper.history.slice(-10),
      },
      cost: this.costSummary(),
      history: this.#history.slice(-20),
    };
  }

  #bootLoop(input: BootInput, sendBack: (event: LifecycleEvent) => void): () => void {
    let cancelled = false;
    const { runtime, config, containerEnv } = this.#deps;
    this.#boots.begin(input.attempt, this.#now());
    void (async () => {
      // A runtime that is not running starts from the newest intact backup (never from empty state while backups exist).
      const before = await runtime.probe().catch(() => ({ status: 'stopped' as const }));
      if (before.status === 'stopped' || before.status === 'failed') {
        // The container starts once the leftover state was looked at (recover), before the restore proper.
        const provision = async () => {
          await runtime.provision();
          this.#boots.mark('restoring', this.#now());
          if (!cancelled) sendBack({ type: 'boot.progressed', phase: 'restoring' });
        };
        try {
          const restored = await this.#withActivity('restoring', () => this.#keeper.restore(provision));
          this.#log('lifecycle:restore', { agent: config.agentName, result: restored.result, id: restored.id ?? null, ms: restored.ms });
        } catch (error) {
          const failure = error instanceof RestoreFailure ? error : new RestoreFailure('restore_failed', String(error), true);
          this.#log('lifecycle:restore-failed', { agent: config.agentName, code: failure.code, message: failure.message });
          this.#persist();
          if (!cancelled) sendBack({ type: 'boot.failed', error: { code: failure.code, message: failure.message }, retryable: failure.retryable });
          return;
        }
        this.#persist();
      }
      if (cancelled) return;
      this.#boots.mark('starting', this.#now());
      // The agent's browser (production): this boot's own secret in the CDP URL the gateway is given.
      const browserEnv: Record<string, string> = this.#browser ? { BROWSER_CDP_URL: (await this.#browser.newBootSecret()).url } : {};
      if (cancelled) return;
      try {
        await runtime.start({ agentId: config.agentName, attempt: input.attempt, env: { ...containerEnv, ...browserEnv } });
      } catch (error) {
        if (!cancelled) sendBack({ type: 'boot.failed', error: asError('runtime_start_failed', error), retryable: true });
        return;
      }
      let phase = '';
      while (!cancelled) {
        const probe = await runtime.probe().catch((error): RuntimeProbe => {
          this.#log('lifecycle:probe-failed', { message: asError('probe_failed', error).message });
          return { status: 'starting', phase: phase || 'launching' };
        });
        if (cancelled) return;
        if (probe.status === 'ready') {
          this.#boots.finish(this.#now());
          return sendBack({ type: 'boot.succeeded' });
        }
        if (probe.status === 'failed') return sendBack({ type: 'boot.failed', error: probe.error, retryable: probe.retryable });
        if (probe.status === 'stopped') return sendBack({ type: 'container.exited', exitCode: probe.exitCode, reason: probe.reason });
        for (const [name, at] of Object.entries(probe.timeline ?? {})) this.#boots.mark(name, at);
        if (probe.browser) this.#localBrowser = probe.browser;
        if (probe.phase !== phase) {
          phase = probe.phase;
          sendBack({ type: 'boot.progressed', phase });
        }
        await new Promise((resolve) => setTimeout(resolve, config.bootPollMs));
      }
    })();
    return () => {
      cancelled = true;
    };
  }

  /**
   * An intentional stop of a gateway that runs: drain it (its own SIGTERM,
   * so in-flight work finishes and is written), back the quiet state up, then
   * stop the runtime. A failed backup fails the stop, which is retried with
   * the container kept (data first) and posted to the webhook once; a forced
   * stop (the hard budget line) tries one backup, bounded by
   * finalBackupTimeoutMs, and stops regardless. That a final backup is still
   * owed is persisted: a retry after a restart of the DO still takes it,
   * although the drained gateway no longer answers.
   */
  async #stopRuntime(input: StopInput): Promise<StopOutput> {
    const { runtime, config } = this.#deps;
    let warning: LifecycleError | null = null;
    if (input.backup && !this.#finalBackupOwed) {
      const probe = await runtime.probe().catch(() => null);
      this.#finalBackupOwed = probe?.status === 'ready';
      this.#persist();
    }
    // Before the gateway goes: its scheduled jobs say when to wake it next (a sleep only).
    const nextWake = input.target === 'sleeping' && this.#finalBackupOwed ? await this.#nextScheduledWake() : null;
    if (input.backup && this.#finalBackupOwed) {
      const drain = await runtime.drain();
      if (drain && drain.drainMs > 0) {
        this.#lastDrain = drain;
        this.#log('lifecycle:drain', { agent: config.agentName, drained: drain.drained, gatewayExitCode: drain.gatewayExitCode, ms: drain.drainMs, note: drain.note ?? null });
      }
      const purpose = input.target === 'sleeping' ? 'sleep' : input.target === 'hibernated' ? 'hibernation' : 'stop';
      try {
        const backup = this.#withActivity('backing-up', () => this.#keeper.backup(`before ${purpose}: ${input.reason}`));
        const event = await (input.force ? withTimeout(backup, config.finalBackupTimeoutMs, `the final backup took longer than ${config.finalBackupTimeoutMs / 1000} s`) : backup);
        this.#log('lifecycle:backup', { agent: config.agentName, result: event.result, id: event.id ?? null, ms: event.ms });
      } catch (error) {
        this.#persist();
        if (!input.force) {
          await this.#notifyStopBlocked(input, error);
          throw error;
        }
        const lastGood = this.#keeper.lastGood;
        warning = {
          code: 'final_backup_failed',
          message: `the final backup before ${purpose} failed (${errorMessage(error)}); stopped anyway to stop the bill. ${lastGood ? `The last good backup is ${lastGood.id} from ${lastGood.at}; changes after it are lost.` : 'There is no earlier backup.'}`,
        };
        this.#log('lifecycle:final-backup-failed', { agent: config.agentName, message: warning.message });
      }
      this.#finalBackupOwed = false;
      this.#persist();
    }
    await runtime.stop(input.reason);
    this.#stopFailureNotified = false;
    if (input.backup) {
      const drain = this.#lastDrain;
      this.#lastStop = {
        at: new Date(this.#now()).toISOString(),
        target: input.target,
        drained: drain?.drained ?? null,
        gatewayExitCode: drain?.gatewayExitCode ?? null,
        drainMs: drain?.drainMs ?? null,
        warning,
      };
      this.#lastDrain = null;
    }
    return { warning, nextWake };
  }

  /**
   * Idle means idle inside too: the gateway is asked (refuse-only suspend)
   * whether work still runs. Busy work counts as activity: the machine waits
   * retryAfterMs and asks again. @throws when the gateway cannot say.
   */
  async #checkWork(since: number | null): Promise<WorkCheck> {
    const now = this.#now();
    const answer = await this.#gateway.prepareSuspend(`ondemand-idle-${now}`);
    if (answer.status === 'ready') {
      // The lease closes the gateway's admission (cron.list included): reopen it, the stop that follows drains anyway.
      await this.#gateway.resumeSuspend(answer.suspensionId).catch((error: unknown) => this.#log('lifecycle:work-check', { agent: this.#deps.config.agentName, result: 'resume-failed', message: errorMessage(error) }));
      this.#log('lifecycle:work-check', { agent: this.#deps.config.agentName, result: 'idle' });
      return { idle: true };
    }
    const first = since ?? now;
    const blockers = answer.blockers.map((b) => ({ kind: b.kind, count: b.count, message: b.message.slice(0, 200) }));
    this.#log('lifecycle:work-check', { agent: this.#deps.config.agentName, result: 'busy', blockers: blockers.map((b) => `${b.kind}×${b.count}`).join(', '), waitedMs: now - first });
    return { idle: false, blockers, retryAfterMs: Math.min(5 * 60_000, Math.max(5_000, answer.retryAfterMs)), since: first, waitedMs: now - first };
  }

  /** The next scheduled wake, read from the gateway's jobs; null when none wakes it (or the gateway cannot say). */
  async #nextScheduledWake(): Promise<StopOutput['nextWake']> {
    const { config } = this.#deps;
    if (config.scheduledWakes === 'off') return null;
    const now = this.#now();
    try {
      await this.#schedule.refresh(this.#gateway, now);
    } catch (error) {
      this.#log('lifecycle:schedule-unread', { agent: config.agentName, message: errorMessage(error) });
      if (!(error instanceof GatewayRpcError)) return null;
    }
    const next = this.#schedule.nextWake({ nowMs: now, mode: config.scheduledWakes, leadMs: this.#scheduledWakeLeadMs(), gapMs: this.#scheduleGapMs() });
    if (next) this.#log('lifecycle:scheduled-wake', { agent: config.agentName, job: next.jobName, runAt: new Date(next.runAtMs).toISOString(), wakeAt: new Date(next.wakeAtMs).toISOString() });
    return next;
  }

  /** How far ahead of a job the assistant wakes: SCHEDULED_WAKE_LEAD, or the last boot × 1.5 + 10 s (20 s to 10 min). */
  #scheduledWakeLeadMs(): number {
    if (this.#deps.config.scheduledWakeLeadMs !== null) return this.#deps.config.scheduledWakeLeadMs;
    const boot = this.#boots.last?.totalMs ?? 60_000;
    return Math.min(10 * 60_000, Math.max(20_000, Math.round(boot * 1.5 + 10_000)));
  }

  /** Over the soft budget line, scheduled wakes are spaced SCHEDULE_SOFT_GAP apart (thinned); else not at all. */
  #scheduleGapMs(): number {
    return this.#budget.last?.decision.level === 'soft' ? this.#deps.config.scheduleSoftGapMs : 0;
  }

  /**
   * A scheduled wake's container time, kept for the cost projection: from
   * the wake for a job to the stop that ends it, when no person used the
   * assistant meanwhile (then it is ordinary use).
   */
  #trackScheduledWake(from: LifecycleState, to: LifecycleState, next: LifecycleSnapshot): void {
    const now = this.#now();
    if (from === 'sleeping' && to === 'booting' && next.context.scheduledRun) {
      this.#scheduledWake = { job: next.context.scheduledRun, wokeAt: now, outcome: 'interrupted' };
      this.#schedule.woke(now);
      return;
    }
    const wake = this.#scheduledWake;
    if (!wake || RUNNING_STATES.has(to)) return;
    if (!this.#previous.context.personSeen) this.#schedule.ended(wake.job, wake.wokeAt, now, wake.outcome);
    this.#scheduledWake = null;
  }

  /** Up for a scheduled run: has it finished (the gateway's run history), or has the wait run out? */
  async #checkScheduledRun(run: ScheduledJob): Promise<void> {
    const now = this.#now();
    const finished = await this.#schedule.runFinished(this.#gateway, run).catch(() => false);
    const gaveUp = !finished && now > Math.max(run.runAtMs, run.wakeAtMs) + this.#deps.config.scheduledRunWaitMs;
    if (!finished && !gaveUp) return;
    this.#log('lifecycle:scheduled-run', { agent: this.#deps.config.agentName, job: run.jobName, outcome: finished ? 'finished' : 'gave-up' });
    if (this.#scheduledWake) this.#scheduledWake.outcome = finished ? 'finished' : 'gave-up';
    await this.send({ type: 'schedule.finished', outcome: finished ? 'finished' : 'gave-up' });
  }

  async #notifyStopBlocked(input: StopInput, error: unknown): Promise<void> {
    if (this.#stopFailureNotified || !this.#deps.notify) return;
    this.#stopFailureNotified = true;
    const lastGood = this.#keeper.lastGood;
    await this.#deps.notify({
      event: 'openclaw-ondemand:stop-blocked',
      agent: this.#deps.config.agentName,
      target: input.target,
      reason: input.reason,
      error: errorMessage(error),
      lastGoodBackup: lastGood,
      note: 'the container keeps running (and billing) until a backup succeeds; the stop is retried',
    });
  }

  async #periodicBackup(): Promise<void> {
    const reason = this.#changeSeen ? CHANGE_BACKUP_REASON : 'periodic';
    this.#changeSeen = false;
    try {
      const event = await this.#withActivity('backing-up', () => this.#keeper.backup(reason));
      this.#log('lifecycle:backup', { agent: this.#deps.config.agentName, result: event.result, id: event.id ?? null, ms: event.ms });
    } catch (error) {
      this.#log('lifecycle:backup-failed', { agent: this.#deps.config.agentName, message: error instanceof Error ? error.message : String(error) });
    } finally {
      this.#persist();
    }
  }

  async #withActivity<T>(activity: 'restoring' | 'backing-up', work: () => Promise<T>): Promise<T> {
    this.#activities.set(activity, (this.#activities.get(activity) ?? 0) + 1);
    try {
      return await work();
    } finally {
      this.#activities.set(activity, (this.#activities.get(activity) ?? 1) - 1);
    }
  }

  #activity(): 'restoring' | 'backing-up' | null {
    if (this.#activities.get('restoring')) return 'restoring';
    if (this.#activities.get('backing-up')) return 'backing-up';
    return null;
  }

  /**
   * A cheap look at the state (paths, sizes, mtimes); a change since the last
   * look brings the backup forward to at most backupDebounceMs ahead, so what
   * was written is in R2 within that time, and changes upload at most once
   * per that time. The first look after a (re)load counts as a change.
   */
  async #checkChanges(): Promise<void> {
    const stamp = await this.#deps.runtime.changeStamp().catch(() => null);
    if (stamp === null || stamp === this.#lastStamp) return;
    this.#lastStamp = stamp;
    const dueAt = this.#now() + this.#deps.config.backupDebounceMs;
    this.#changeSeen = true;
    if (!this.#timers.pullForward('backup', dueAt)) return;
    this.#log('lifecycle:changed', { agent: this.#deps.config.agentName, backupAt: new Date(dueAt).toISOString() });
    this.#persist();
  }

  async #checkHealth(): Promise<void> {
    const probe = await this.#deps.runtime.probe().catch(() => null);
    if (probe && (probe.status === 'stopped' || probe.status === 'failed')) {
      const reason = probe.status === 'stopped' ? probe.reason : probe.error.message;
      await this.onRuntimeStopped(probe.status === 'stopped' ? probe.exitCode : null, reason);
    }
  }

  #onSnapshot(next: LifecycleSnapshot): void {
    const from = topState(this.#previous);
    const to = topState(next);
    const now = this.#now();
    if (from !== to) {
      const record: TransitionRecord = {
        from,
        to,
        event: this.#lastEvent.type,
        reason: describeTransition(this.#lastEvent, next.context, this.#previous.context.stopIntent),
        at: new Date(now).toISOString(),
      };
      this.#since = now;
      this.#history = [...this.#history, record].slice(-HISTORY_LIMIT);
      this.#log('lifecycle:transition', { agent: this.#deps.config.agentName, from, to, cause: record.event, reason: record.reason, at: record.at });
    }
    if (RUNNING_STATES.has(to)) this.#meter.start(now, this.#deps.config.instanceType);
    else this.#meter.stop(now);
    this.#trackScheduledWake(from, to, next);
    // The browser bills while its session is open: it ends with the container, however the container ended.
    if (this.#browser && RUNNING_STATES.has(from) && !RUNNING_STATES.has(to)) void this.#browser.close(`the assistant is ${to}`);
    this.#previous = next;
    this.#persist();
  }

  #persist(): void {
    const record: PersistedRecord = {
      snapshot: this.#actor.getPersistedSnapshot(),
      timers: this.#timers.toJSON(),
      meter: this.#meter.toJSON(),
      since: this.#since,
      lastActivityAt: this.#lastActivityAt,
      history: this.#history,
      state: this.#keeper.toJSON(),
      budget: this.#budget.toJSON(),
      lastStop: this.#lastStop,
      finalBackupOwed: this.#finalBackupOwed,
      boots: this.#boots.toJSON(),
      schedule: this.#schedule.toJSON(),
      scheduledWake: this.#scheduledWake,
      ...(this.#browser ? { browser: this.#browser.toJSON() } : {}),
      localBrowser: this.#localBrowser,
    };
    const next = this.#timers.next();
    const wakeup = this.state === 'booting' ? Math.min(next ?? Infinity, this.#now() + BOOT_KEEPALIVE_MS) : next;
    const setWakeup = wakeup !== this.#wakeupSet;
    this.#wakeupSet = wakeup;
    this.#writes = this.#writes
      .then(() => this.#deps.storage.put(STORAGE_KEY, record))
      .then(() => (setWakeup ? this.#deps.wakeups.setWakeup(wakeup) : undefined))
      .catch((error) => {
        this.#wakeupSet = undefined; // try the wakeup again with the next write
        this.#log('lifecycle:persist-failed', { message: error instanceof Error ? error.message : String(error) });
      });
  }
}

function bootSummary(record: BootRecord | null): AgentStatus['lastBoot'] {
  if (!record) return null;
  const { phases: _phases, ...rest } = record;
  return { ...rest, parts: bootParts(record) };
}

/** Whether a stored snapshot fits this machine (state names exist, context present). */
function isReadableSnapshot(persisted: unknown): boolean {
  const candidate = persisted as { value?: unknown; context?: unknown; status?: unknown };
  if (!candidate || typeof candidate !== 'object' || candidate.status !== 'active') return false;
  if (!candidate.context || typeof candidate.context !== 'object') return false;
  try {
    const resolved = lifecycleMachine.resolveState({ value: candidate.value as string, context: candidate.context as never });
    return LIFECYCLE_STATES.includes(topState(resolved));
  } catch {
    return false;
  }
}

/** The same bytes, calling `done` once when they are read to the end, fail, or are cancelled. */
function whenRead(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          controller.close();
          done();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        done();
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}

/** Rejects with `message` when `work` takes longer than `ms` (the work itself goes on). */
function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function asError(code: string, error: unknown): { code: string; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const ownCode = (error as { code?: unknown })?.code;
  return { code: typeof ownCode === 'string' ? ownCode : code, message };
}
