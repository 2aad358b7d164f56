/**
 * The lifecycle controller: hosts the XState actor for one assistant inside
 * a Durable Object (production Sandbox class or local class alike), turns
 * commands, requests and timers into events, and persists the record after
 * every transition. The effects the machine names live beside it: the boot
 * loop, the stop sequence, the backups, the gateway's work and schedule.
 */
import type { ContainerDiagnosis } from '../runtime/runtime.ts';
import { waitFor } from 'xstate';
import { RUNNING_TAG, SERVING_TAG, STOPPING_TAG } from '../../machines/lifecycle.ts';
import { TIMER_EVENTS, type LifecycleEvent, type LifecycleState } from '../../machines/lifecycle-types.ts';
import { AppError, errorMessage } from '../errors.ts';
import { boundLog } from '../log.ts';
import type { BudgetEvaluation, CostSummary } from '../cost/budget-keeper.ts';
import type { ModelCall, ModelGate } from '../cost/model-meter.ts';
import { RecordWriter, topState, type LifecycleSnapshot, type PersistedRecord } from './agent-record.ts';
import { commandEvent, startLifecycleActor, type CommandOptions, type LifecycleActor, type LifecycleCommand } from './lifecycle-actor.ts';
import { AgentParts, type AgentUsageReport } from './agent-parts.ts';
import type { AgentStatus } from './agent-status.ts';
import { startBootLoop } from './effects/boot-loop.ts';
import { Activities, EffectTracker, type ControllerDeps, type EffectContext, type Log } from './effect-context.ts';
import { GatewayForwarder } from './effects/gateway-forward.ts';
import type { BackupEvent } from './records/state-keeper.ts';
import { WakeLimiter } from './records/wake-limiter.ts';
import { readSignIn, type ModelSignIn } from './model-sign-in.ts';
import { noModelAnswer, SIGN_IN_BACKUP_REASON } from './model-access.ts';
import { Inbox } from '../inbox/inbox.ts';
import { InboxWork, type Receipt } from '../inbox/inbox-work.ts';
import type { TelegramUpdate } from '../inbox/inbox-types.ts';
import type { DiscordInbound } from '../inbox/discord-frames.ts';
import type { InboxChannel } from '../inbox/inbox.ts';

/** While booting, the DO wakes itself at least this often, so an evicted boot resumes. */
const BOOT_KEEPALIVE_MS = 10_000;
/** How long the cost guard's hibernation is waited for (its stop: drain, final backup, stop). */
const BUDGET_STOP_WAIT_MS = 60_000;
/** How often a stop the platform asked for looks whether the requests in flight have finished. */
const IN_FLIGHT_POLL_MS = 250;

/** The log lines of one Agent, each with its name first: the given log, else JSON lines with the container's secrets redacted. */
function logFor(deps: ControllerDeps): Log {
  return boundLog({ agent: deps.config.agentName }, Object.values(deps.containerEnv), deps.log);
}

function isStopping(snapshot: LifecycleSnapshot): boolean {
  return snapshot.hasTag(STOPPING_TAG);
}

const NO_MODEL_LINES = { softUsd: null, hardUsd: null, slowDelayMs: 0 } as const;

/** What a proxied request gets (admit, standing): served now, waits for the boot, or refused with why. */
export type Admission = { kind: 'serve' } | { kind: 'wait' } | { kind: 'refuse'; error: unknown };

export class AgentController {
  readonly #deps: ControllerDeps;
  readonly #ctx: EffectContext;
  readonly #writer: RecordWriter;
  readonly #parts: AgentParts;
  readonly #forwarder: GatewayForwarder;
  /** A stop the platform asked for is being carried out (see #stopIfTerminating). */
  #terminating = false;
  readonly #wakeLimit: WakeLimiter;
  #actor!: LifecycleActor;
  #previous!: LifecycleSnapshot;
  #lastActivityAt: number | null;
  /** The sign-in whose storing was backed up (memory only: a reload reads the log again and backs up once more). */
  #signInBackedUp: string | null = null;
  /** A health check found the runtime gone without an exit code: the platform's own word (onStop, with the code) may still be on its way. */
  #goneWithoutCode = false;
  /** The chat inbox (null: no chat channel connected). */
  readonly #inbox: InboxWork | null;

  private constructor(deps: ControllerDeps, writer: RecordWriter, record: PersistedRecord | undefined) {
    this.#deps = deps;
    const now = deps.clock ?? Date.now;
    const log = logFor(deps);
    this.#ctx = { deps, now, log, persist: () => this.#persist(), activities: new Activities(), effects: new EffectTracker() };
    this.#writer = writer;
    this.#lastActivityAt = record?.lastActivityAt ?? null;
    this.#parts = new AgentParts(this.#ctx, record, (event) => this.send(event));
    this.#forwarder = new GatewayForwarder({
      runtime: deps.runtime,
      defaultUser: deps.config.gatewayUser,
      onFinished: () => this.#track(this.#requestFinished()),
      onUnreachable: () => this.#checkHealth(),
    });
    this.#wakeLimit = new WakeLimiter(deps.config.wakeLimitPerMinute, now);
    this.#inbox = deps.inbox ? this.#inboxWork(deps.inbox) : null;
  }

  #inboxWork(inbox: NonNullable<ControllerDeps['inbox']>): InboxWork {
    return new InboxWork({
      inbox: new Inbox(inbox.storage, this.#ctx.now),
      telegram: inbox.telegram,
      discord: inbox.discord ?? null,
      state: () => this.state,
      serving: () => this.serving,
      hibernationReason: () => this.#actor.getSnapshot().context.hibernation?.reason ?? null,
      wake: async (identity, reason) => void (await this.command('wake', { identity, reason })),
      toListener: (channel, request) => {
        const listener = this.#deps.runtime.fetchListener?.bind(this.#deps.runtime);
        if (!listener) throw new Error(`this runtime has no ${channel} listener`);
        return listener(channel, request);
      },
      toGateway: (request) => this.#deps.runtime.fetch(request),
      log: this.#ctx.log,
    });
  }

  /** Whether the gateway takes requests now (ready or idle, no stop under way: the machine's `serving` tag). */
  get serving(): boolean {
    return this.#actor.getSnapshot().hasTag(SERVING_TAG);
  }

  /**
   * A Telegram update the Worker checked (its secret, an allowed sender):
   * stored, then handed to the gateway once it serves (a sleeping assistant
   * is woken for it; a hibernated one is not).
   * @throws AppError `not_configured` when no Telegram bot is connected.
   */
  async receiveTelegram(update: TelegramUpdate): Promise<Receipt> {
    if (!this.#inbox) throw new AppError('not_configured', 'no Telegram bot is connected (TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET)');
    return this.#inbox.telegram(update);
  }

  /** A Discord message the relay checked (an allowed sender): as a Telegram update is. @throws AppError `not_configured` without a bot. */
  async receiveDiscord(message: DiscordInbound): Promise<Receipt> {
    if (!this.#inbox) throw new AppError('not_configured', 'no Discord bot is connected (DISCORD_BOT_TOKEN)');
    return this.#inbox.discord(message);
  }

  /** A sender the Worker refused: counted, shown in the status. */
  async refused(channel: InboxChannel, sender: string, reason: string): Promise<void> {
    await this.#inbox?.refused(channel, sender, reason);
  }

  /** Loads the persisted snapshot (or starts fresh in `stopped`) and starts the actor. */
  static async load(deps: ControllerDeps): Promise<AgentController> {
    const writer = new RecordWriter(deps.storage, deps.wakeups, logFor(deps));
    const record = await writer.read();
    const controller = new AgentController(deps, writer, record);
    controller.#start(record?.snapshot);
    controller.#syncSettings();
    controller.#persist();
    await controller.settle();
    await controller.#inbox?.refresh().catch(() => undefined);
    return controller;
  }

  #start(persisted: unknown): void {
    this.#actor = startLifecycleActor({
      persisted,
      settings: this.#deps.config.lifecycle,
      agent: this.#deps.config.agentName,
      log: this.#ctx.log,
      onEvent: (event) => this.#parts.transitions.received(event),
      effects: {
        scheduleTimer: (timer, delayMs) => this.#parts.timers.schedule(timer, this.#ctx.now() + delayMs),
        cancelTimer: (timer) => this.#parts.timers.cancel(timer),
        checkHealth: (scheduledRun) => {
          void this.#track(this.#checkHealth());
          if (scheduledRun) void this.#track(this.#parts.scheduled.checkRun(scheduledRun));
        },
        runBackup: () => void this.#track(this.#parts.backups.periodic()),
        checkChanges: () => {
          void this.#track(this.#parts.backups.checkChanges());
          // Messages waiting (a retry due, one that came while it booted): handed over while the gateway serves.
          if (this.#inbox) void this.#track(this.#inbox.kick());
        },
        boot: (input, sendBack) =>
          startBootLoop(
            this.#ctx,
            {
              keeper: this.#parts.keeper,
              boots: this.#parts.boots,
              browser: this.#parts.browser.passthrough,
              onBrowserReported: (b) => this.#parts.browser.reported(b),
            },
            input,
            sendBack,
          ),
        stop: (input) => this.#track(this.#parts.stops.run(input)),
        checkWork: (since) => this.#track(this.#parts.scheduled.checkWork(since)),
      },
    });
    this.#previous = this.#actor.getSnapshot();
    this.#actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot),
      error: (error) => this.#ctx.log('lifecycle:actor-error', { message: errorMessage(error) }),
    });
  }

  /** Resolves once every change so far is written to storage. */
  settle(): Promise<void> {
    return this.#writer.settle();
  }

  /**
   * Resolves once no background effect runs and every write is done: what a
   * caller that steps the clock itself (the tests) waits for between timers.
   */
  async idle(): Promise<void> {
    await this.#ctx.effects.drained();
    await this.settle();
  }

  /** Resolves when the machine is in `state` (or the snapshot satisfies it) and that is written. @throws after `timeoutMs`. */
  async reached(target: LifecycleState | ((snapshot: LifecycleSnapshot) => boolean), timeoutMs = 5_000): Promise<void> {
    const satisfied = typeof target === 'string' ? (s: LifecycleSnapshot) => topState(s) === target : target;
    await waitFor(this.#actor, satisfied, { timeout: timeoutMs });
    await this.idle();
  }

  #track<T>(work: Promise<T>): Promise<T> {
    return this.#ctx.effects.track(work);
  }

  get state(): LifecycleState {
    return topState(this.#actor.getSnapshot());
  }

  /** Sends one event and waits until the result is persisted. */
  async send(event: LifecycleEvent): Promise<void> {
    this.#actor.send(event);
    await this.settle();
  }

  /** Runs an operator command. @throws AppError `hibernated` (wake), `conflict` (resume when not hibernated), `budget_exceeded`, `rate_limited`. */
  async command(name: LifecycleCommand, options: CommandOptions = {}): Promise<AgentStatus> {
    const state = this.state;
    if (name === 'wake') {
      if (state === 'hibernated') throw this.hibernatedError();
      if (state === 'stopped' || state === 'sleeping') this.#wakeLimit.count(options.identity ?? 'unknown');
      this.#activity();
    }
    if (name === 'resume') {
      if (state !== 'hibernated') throw new AppError('conflict', `nothing to resume: the assistant is ${state}, not hibernated`);
      const refusal = this.#parts.budget.resumeRefusal(options.override === true);
      if (refusal) throw refusal;
    }
    await this.send(commandEvent(name, options));
    if (name === 'resume') await this.#inbox?.resumed();
    return this.status();
  }

  /** Backs the running state up now (POST /api/backup). @throws AppError `conflict` when no container runs (the last backup is the state then). */
  async backupNow(reason = 'requested'): Promise<BackupEvent> {
    const snapshot = this.#actor.getSnapshot();
    const state = topState(snapshot);
    if (!snapshot.hasTag(SERVING_TAG)) {
      throw new AppError(
        'conflict',
        `nothing to back up: the assistant is ${state}${isStopping(snapshot) ? ' (stopping)' : ''}; its last backup holds its state`,
      );
    }
    try {
      return await this.#parts.backups.now(reason);
    } finally {
      this.#persist();
      await this.settle();
    }
  }

  /**
   * Tells the machine the settings in force when they differ from its own:
   * the configured ones, with the sleepAfter the budget imposes (the one
   * place that rule is written).
   */
  #syncSettings(): void {
    const override = this.#parts.budget.sleepAfterOverrideMs;
    const settings = { ...this.#deps.config.lifecycle, ...(override !== null ? { sleepAfterMs: override } : {}) };
    const context = this.#actor.getSnapshot().context;
    if ((Object.keys(settings) as Array<keyof typeof settings>).some((k) => context[k] !== settings[k]))
      this.#actor.send({ type: 'settings.updated', settings });
  }

  /** Applies the cost guard's evaluation: the sleepAfter it imposes, and a hibernation (with its backup) over the hard line, waited for (bounded). */
  async applyBudget(evaluation: BudgetEvaluation): Promise<{ changed: boolean; previousLevel: string | null; state: LifecycleState }> {
    const { changed, previousLevel } = this.#parts.budget.record(evaluation);
    this.#syncSettings();
    const { sleepAfterMs } = this.#actor.getSnapshot().context;
    if (evaluation.decision.hibernate && this.state !== 'hibernated')
      this.#actor.send({ type: 'lifecycle.hibernate', reason: evaluation.decision.reason, by: 'budget' });
    if (changed)
      this.#ctx.log('cost:decision', {
        level: evaluation.decision.level,
        projectedUsd: evaluation.projectedUsd,
        sleepAfterMs,
        source: evaluation.source,
      });
    this.#persist();
    await this.settle();
    await waitFor(this.#actor, (s) => !s.hasTag(STOPPING_TAG), { timeout: BUDGET_STOP_WAIT_MS }).catch(() => undefined);
    await this.settle();
    return { changed, previousLevel, state: this.state };
  }

  costSummary(): CostSummary {
    const now = this.#ctx.now();
    const lines = this.#deps.modelLines ?? NO_MODEL_LINES;
    const gate = this.#parts.modelMeter.gate(lines, now);
    return {
      ...this.#parts.budget.summary(this.#actor.getSnapshot().context.sleepAfterMs, this.#deps.config.lifecycle.sleepAfterMs),
      model: this.#parts.modelMeter.summary(now),
      modelLines: { softUsd: lines.softUsd, hardUsd: lines.hardUsd, level: gate.level },
    };
  }

  /** Before a model call (the egress handler asks): the model budget lines against this month's metered spend; a refusal is counted. */
  modelGate(): ModelGate {
    const now = this.#ctx.now();
    const gate = this.#parts.modelMeter.gate(this.#deps.modelLines ?? NO_MODEL_LINES, now);
    if (!gate.go) {
      this.#parts.modelMeter.refused(now);
      this.#persist();
    }
    return gate;
  }

  /** After a model call: what the Worker read of its usage from the provider's answer. */
  recordModelCall(call: ModelCall): void {
    this.#parts.modelMeter.record(call, this.#ctx.now());
    this.#persist();
  }

  /** The cost guard's inputs: self-metered seconds per instance type, browser-hours, scheduled wakes (this month and in the last `hours`; left out when `withSchedule` is false). */
  usageReport(hours: number, withSchedule = true): AgentUsageReport {
    return this.#parts.usage(hours, this.state, withSchedule);
  }

  /** `clawctl doctor`: the running container's versions and ingress source; null when no container runs (nothing is started for it). */
  async diagnose(): Promise<ContainerDiagnosis | null> {
    if (!this.serving) return null;
    return (await this.#deps.runtime.diagnose?.()) ?? null;
  }

  /**
   * The model sign-in (POST/GET /api/login): `start` begins OpenClaw's
   * device-code flow in the running container, `cancel` ends it, `read`
   * says how it goes. A sign-in under way counts as activity (the assistant
   * does not sleep while the operator enters the code); a stored sign-in is
   * backed up at once (credentials never wait for BACKUP_DEBOUNCE).
   * @throws AppError `conflict` when no container serves (wake it first), `not_supported` where the runtime has no sign-in.
   */
  async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<ModelSignIn> {
    const snapshot = this.#actor.getSnapshot();
    const state = topState(snapshot);
    const login = this.#deps.runtime.modelLogin?.bind(this.#deps.runtime);
    if (!login) throw new AppError('not_supported', 'this runtime has no model sign-in');
    if (!snapshot.hasTag(SERVING_TAG)) {
      if (action === 'read') return { ...readSignIn(null), message: `the assistant is ${state}: wake it, then sign in (\`clawctl login codex\` does both)` };
      throw new AppError('conflict', `the assistant is ${state}${isStopping(snapshot) ? ' (stopping)' : ''}: wake it first (POST /api/wake), then sign in`);
    }
    if (action !== 'read') {
      await login(action);
      this.#signInBackedUp = null;
      this.#ctx.log('model:sign-in', { action });
    }
    const signIn = readSignIn(await login('read'));
    if (signIn.state === 'starting' || signIn.state === 'waiting') await this.recordRequest();
    if (signIn.state === 'signed-in' && this.#signInBackedUp !== signIn.profile) {
      this.#signInBackedUp = signIn.profile;
      // The gateway rereads its store (its next turn uses the sign-in), and the home with it is backed up now.
      this.#track(this.#parts.backups.credentials({ refresh: true, always: true, reason: SIGN_IN_BACKUP_REASON }));
    }
    return signIn;
  }

  /** A CDP connection from the container's browser tool (production), to the passthrough. */
  browserConnect(request: Request): Promise<Response> {
    return this.#parts.browser.connect(request, this.#actor.getSnapshot().hasTag(RUNNING_TAG), this.state);
  }

  /** Counts a request as activity; wakes a stopped or sleeping assistant. */
  async recordRequest(identity = 'unknown'): Promise<void> {
    this.#activity();
    const state = this.state;
    if (state === 'stopped' || state === 'sleeping') {
      this.#wakeLimit.count(identity);
      await this.send({ type: 'lifecycle.wake', reason: 'request received' });
    } else if (state !== 'hibernated') await this.send({ type: 'activity.recorded' });
  }

  /** Whether the last boot failed for good (a request should show the error, not boot again). */
  get bootFailed(): boolean {
    const error = this.#actor.getSnapshot().context.lastError;
    return this.state === 'stopped' && error !== null && error.code !== 'container_exited';
  }

  /**
   * Where a proxied request stands now, without counting it: served by the
   * gateway, waiting for the boot, or refused with why (hibernated, the last
   * boot failed for good).
   */
  standing(): Admission {
    if (this.state === 'hibernated') return { kind: 'refuse', error: this.hibernatedError() };
    if (this.serving) return { kind: 'serve' };
    if (this.bootFailed) {
      const last = this.#actor.getSnapshot().context.lastError;
      const error = new AppError('boot_failed', `the last boot failed: ${last?.message}. Retry with POST /api/wake.`, { lastError: last });
      return { kind: 'refuse', error };
    }
    return { kind: 'wait' };
  }

  /**
   * A proxied request's one question: unless it is refused as it stands, it
   * counts as activity (waking a stopped or sleeping assistant, within the
   * wake limit: over it, refused), then where it stands.
   */
  async admit(identity: string): Promise<Admission> {
    const before = this.standing();
    if (before.kind === 'refuse') return before;
    try {
      await this.recordRequest(identity);
    } catch (error) {
      return { kind: 'refuse', error };
    }
    return this.standing();
  }

  /**
   * Resolves true once a request can be answered without waiting: the
   * gateway serves (ready or idle, no stop under way), or the assistant is
   * stopped (a boot that failed for good) or hibernated; false when
   * `timeoutMs` runs out first.
   */
  async answerable(timeoutMs: number): Promise<boolean> {
    const answerable = (snapshot: LifecycleSnapshot) => {
      const state = topState(snapshot);
      return state === 'stopped' || state === 'hibernated' || snapshot.hasTag(SERVING_TAG);
    };
    return waitFor(this.#actor, answerable, { timeout: timeoutMs }).then(
      () => true,
      () => false,
    );
  }

  /**
   * Forwards a request to the gateway (in flight until its answer is read); a
   * dead runtime becomes `container.exited`. A chat turn refused because the
   * model's sign-in is missing or no longer works is answered in plain words
   * (`noModelAnswer`).
   */
  async forward(request: Request, identity: string | null = null): Promise<Response> {
    const response = await this.#forwarder.forward(request, identity);
    return response.status >= 400 && response.status < 500 ? noModelAnswer(this.#parts.model, request, response) : response;
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
    this.#writer.wakeupUsed();
    for (const name of this.#parts.timers.takeDue(this.#ctx.now())) {
      this.#ctx.log('lifecycle:timer', { timer: name });
      // A request still in flight (a long agent turn) is activity: the quiet and idle timers start over.
      if (this.#forwarder.inFlight > 0 && (name === 'quiet' || name === 'sleep')) {
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
    if (!snapshot.hasTag(RUNNING_TAG) || isStopping(snapshot)) return;
    await this.send({ type: 'container.exited', exitCode, reason });
  }

  /** The platform's own activity timeout ran out: treat it like our idle timer. @returns whether the lifecycle expects a container to run now. */
  async onActivityExpired(): Promise<boolean> {
    if (this.state === 'idle') await this.send({ type: 'idle.timedOut' });
    return this.#actor.getSnapshot().hasTag(RUNNING_TAG);
  }

  status(): AgentStatus {
    return this.#parts.status(this.#actor.getSnapshot(), this.#lastActivityAt, this.costSummary(), this.#inbox?.snapshot ?? null);
  }

  /** A person's request or command: activity now (the platform's idle timer follows it). */
  #activity(): void {
    this.#lastActivityAt = this.#ctx.now();
    this.#deps.onActivity?.();
  }

  async #requestFinished(): Promise<void> {
    this.#activity();
    if (this.serving) await this.send({ type: 'activity.recorded' });
  }

  async #checkHealth(): Promise<void> {
    const probe = await this.#deps.runtime.probe().catch(() => null);
    const gone = probe?.status === 'stopped' && probe.exitCode === null;
    // The first time without an exit code, wait one more check: a container that exited is reported by the platform with its code.
    if (gone && !this.#goneWithoutCode) {
      this.#goneWithoutCode = true;
      return;
    }
    this.#goneWithoutCode = false;
    if (probe && (probe.status === 'stopped' || probe.status === 'failed')) {
      await this.onRuntimeStopped(probe.status === 'stopped' ? probe.exitCode : null, probe.status === 'stopped' ? probe.reason : probe.error.message);
    } else if (probe?.status === 'ready') await this.#stopIfTerminating();
  }

  /**
   * The platform asked the container to stop on its own (a rollout, a host
   * move) and its init holds that SIGTERM for us: the requests in flight may
   * finish (for up to GATEWAY_DRAIN_TIMEOUT), then it goes to sleep as at any
   * sleep — the gateway drained, a final backup, the container stopped — and
   * the next request wakes it on whatever the platform runs then.
   */
  async #stopIfTerminating(): Promise<void> {
    const since = await this.#deps.runtime.terminationNotice?.().catch(() => null);
    if (!since || this.#terminating) return;
    this.#terminating = true;
    try {
      for (let polls = Math.ceil(this.#deps.config.drainTimeoutMs / IN_FLIGHT_POLL_MS); this.#forwarder.inFlight > 0 && polls > 0; polls--) {
        await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_POLL_MS));
      }
      const snapshot = this.#actor.getSnapshot();
      if (!snapshot.hasTag(RUNNING_TAG) || isStopping(snapshot)) return;
      this.#ctx.log('lifecycle:terminating', { since, inFlight: this.#forwarder.inFlight });
      await this.send({
        type: 'lifecycle.sleep',
        reason: `the platform asked the container to stop at ${since} (a rollout or a host move): drained and backed up before it went`,
      });
    } finally {
      this.#terminating = false;
    }
  }

  #onSnapshot(next: LifecycleSnapshot): void {
    const from = topState(this.#previous);
    const to = topState(next);
    const now = this.#ctx.now();
    const wasRunning = this.#previous.hasTag(RUNNING_TAG);
    const running = next.hasTag(RUNNING_TAG);
    this.#parts.transitions.changed(from, to, this.#previous, next, now, this.#ctx.log, this.#deps.config.agentName);
    if (running) this.#parts.meter.start(now, this.#deps.config.instanceType);
    else this.#parts.meter.stop(now);
    this.#parts.scheduled.track(from, to, running, this.#previous.context, next.context);
    // The browser bills while its session is open: it ends with the container, however the container ended.
    if (wasRunning && !running) this.#parts.browser.stopped(to);
    // The gateway serves now: the messages that waited for it go first.
    if (this.#inbox && (to === 'ready' || to === 'idle') && from !== 'ready' && from !== 'idle') void this.#track(this.#inbox.kick());
    this.#previous = next;
    this.#persist();
  }

  #persist(): void {
    const record: PersistedRecord = this.#parts.record(this.#actor.getPersistedSnapshot(), this.#lastActivityAt);
    const next = this.#parts.timers.next();
    this.#writer.write(record, this.state === 'booting' ? Math.min(next ?? Infinity, this.#ctx.now() + BOOT_KEEPALIVE_MS) : next);
  }
}
