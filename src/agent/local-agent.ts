/**
 * The Agent Durable Object of the local mode: a plain Durable Object (no
 * container), its timers in DO alarms, its runtime the local dev host.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Env } from '../env.ts';
import { LocalRuntime } from '../runtime/local-runtime.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { LifecycleCommand } from './agent-controller.ts';
import { AgentHost, type BackupResult, type StatusResult } from './agent-host.ts';
import type { CommandResult } from './agent-requests.ts';
import type { BudgetEvaluation } from '../cost/budget-keeper.ts';
import type { BrowserSessions } from '../browser/browser-sessions.ts';

export class LocalAgent extends DurableObject<Env> {
  readonly #host: AgentHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#host = new AgentHost(env, {
      storage: ctx.storage,
      wakeups: {
        setWakeup: async (at) => {
          if (at === null) await ctx.storage.deleteAlarm();
          else await ctx.storage.setAlarm(at);
        },
      },
      runtimeKind: 'local',
      configure: async (config) => this.checkConfig(config),
      makeRuntime: (config) => this.makeRuntime(config),
      browserSessions: () => this.browserSessions(),
      clock: () => this.now(),
    });
    void ctx.blockConcurrencyWhile(async () => {
      await this.#host.ready;
    });
  }

  /** The runtime this class drives: the local dev host. */
  protected makeRuntime(config: Config): Runtime {
    return new LocalRuntime(config.localHostUrl, config.agentName, config.localHostToken);
  }

  /** Where the agent's browser sessions come from: none here (the local gateway launches the machine's Chromium itself). */
  protected browserSessions(): BrowserSessions | null {
    return null;
  }

  /** @throws AppError `not_configured` when the local host's secret is missing (the local mode is started by `npm start`). */
  protected checkConfig(config: Config): void {
    if (config.localHostToken.length < 32) {
      throw new AppError('not_configured', 'LOCAL_HOST_TOKEN is not set: the local mode runs through `npm start`, which gives the Worker and the local host a secret of their own');
    }
  }

  /** The controller's clock. */
  protected now(): number {
    return Date.now();
  }

  override async fetch(request: Request): Promise<Response> {
    return this.#host.fetch(request);
  }

  override async alarm(): Promise<void> {
    await this.#host.wakeup();
  }

  async lifecycleCommand(name: LifecycleCommand, options: { reason?: string; by?: string; override?: boolean; identity?: string } = {}): Promise<CommandResult> {
    return this.#host.command(name, options);
  }

  async lifecycleStatus(): Promise<StatusResult> {
    return this.#host.status();
  }

  async lifecycleBackup(reason: string): Promise<BackupResult> {
    return this.#host.backup(reason);
  }

  /** The cost guard's evaluation (from the cron). */
  async applyBudget(evaluation: BudgetEvaluation) {
    return this.#host.applyBudget(evaluation);
  }

  async costSummary() {
    return this.#host.costSummary();
  }

  /** Self-metered running seconds (the cost guard's fallback usage source). */
  async meterReport(hours: number) {
    return this.#host.meterReport(hours);
  }

  /** Browser-hours (the cost guard prices them). */
  async browserReport(hours: number) {
    return this.#host.browserReport(hours);
  }

  /** Scheduled wakes to come and just run (the cost guard projects them). */
  async scheduleReport(hours: number) {
    return this.#host.scheduleReport(hours);
  }

  /** The local host reports that the runtime process exited. */
  async runtimeExited(exitCode: number | null, reason: string): Promise<void> {
    await this.#host.runtimeStopped(exitCode, reason);
  }
}
