/**
 * What the two Durable Object classes share: building the controller from
 * the environment and answering RPC commands, requests and status.
 */
import { parseConfig, type Config } from '../config.ts';
import type { Env } from '../env.ts';
import { AppError, errorBody, errorResponse } from '../errors.ts';
import { BackupStore } from '../backup/backup-store.ts';
import { postWebhook } from '../notify/webhook.ts';
import { parseCostConfig } from '../cost/cost-config.ts';
import { containerEnv } from '../runtime/container-env.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { AgentController, type ControllerStorage, type CostSummary, type LifecycleCommand } from './agent-controller.ts';
import type { BudgetEvaluation } from '../cost/budget-keeper.ts';
import { handleAgentRequest, runCommand, type CommandResult } from './agent-requests.ts';
import type { BackupEvent } from './state-keeper.ts';
import type { WakeupPort } from './timer-table.ts';
import { BrowserRunSessions, type BrowserSessions } from '../browser/browser-sessions.ts';

export type StatusResult = CommandResult;
export type BackupResult = { ok: true; backup: BackupEvent } | ({ ok: false } & ReturnType<typeof errorBody>);

export interface AgentHostParts {
  storage: ControllerStorage;
  wakeups: WakeupPort;
  runtimeKind: 'local' | 'sandbox';
  makeRuntime: (config: Config) => Runtime;
  /** Applies the configuration to the platform before the controller loads; may throw AppError `not_configured`. */
  configure?: (config: Config) => Promise<void>;
  /** Called whenever a person's request counts as activity. */
  onActivity?: () => void;
  /** Where browser sessions come from (default: the BROWSER binding in production, none in the local mode); a test stands a local Chromium in. */
  browserSessions?: (env: Env) => BrowserSessions | null;
  clock?: () => number;
}

/** Loads the controller once; a configuration error is kept and answered, never thrown at the platform. */
export class AgentHost {
  readonly ready: Promise<AgentController | AppError>;

  constructor(env: Env, parts: AgentHostParts) {
    this.ready = (async () => {
      let config: Config;
      let notifyUrl: string | null;
      try {
        config = parseConfig(env);
        notifyUrl = parseCostConfig(env).notifyWebhookUrl;
        await parts.configure?.(config);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
      return AgentController.load({
        storage: parts.storage,
        wakeups: parts.wakeups,
        runtime: parts.makeRuntime(config),
        runtimeKind: parts.runtimeKind,
        config,
        containerEnv: containerEnv(env, config.gatewayPort),
        backups: env.BACKUP_BUCKET ? new BackupStore(env.BACKUP_BUCKET, config.agentName, config.backupKeep) : null,
        ...(notifyUrl ? { notify: async (body: Record<string, unknown>) => void (await postWebhook(notifyUrl, body)) } : {}),
        ...(parts.onActivity ? { onActivity: parts.onActivity } : {}),
        // Browser Rendering is the container's browser (production); the local mode's gateway launches its own.
        browserSessions: parts.browserSessions ? parts.browserSessions(env) : parts.runtimeKind === 'sandbox' && env.BROWSER ? new BrowserRunSessions(env.BROWSER) : null,
        ...(parts.clock ? { clock: parts.clock } : {}),
      });
    })();
  }

  async applyBudget(evaluation: BudgetEvaluation): Promise<{ ok: true; changed: boolean; previousLevel: string | null; state: string } | ({ ok: false } & ReturnType<typeof errorBody>)> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    return { ok: true, ...(await controller.applyBudget(evaluation)) };
  }

  async costSummary(): Promise<{ ok: true; cost: CostSummary } | ({ ok: false } & ReturnType<typeof errorBody>)> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    return { ok: true, cost: controller.costSummary() };
  }

  async meterReport(hours: number): Promise<{ month: Record<string, number>; recent: Record<string, number> } | null> {
    const controller = await this.ready;
    if (controller instanceof AppError) return null;
    return controller.meterReport(hours) as { month: Record<string, number>; recent: Record<string, number> };
  }

  async browserReport(hours: number): Promise<{ monthHours: number; recentHours: number } | null> {
    const controller = await this.ready;
    if (controller instanceof AppError) return null;
    return controller.browserReport(hours);
  }

  async scheduleReport(hours: number): Promise<ReturnType<AgentController['scheduleReport']> | null> {
    const controller = await this.ready;
    if (controller instanceof AppError) return null;
    return controller.scheduleReport(hours);
  }

  async command(name: LifecycleCommand, options: { reason?: string; by?: string; override?: boolean; identity?: string } = {}): Promise<CommandResult> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    return runCommand(controller, name, options);
  }

  async status(): Promise<StatusResult> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    return { ok: true, status: controller.status() };
  }

  async backup(reason: string): Promise<BackupResult> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    try {
      return { ok: true, backup: await controller.backupNow(reason) };
    } catch (error) {
      if (error instanceof AppError) return { ok: false, ...errorBody(error) };
      return { ok: false, ...errorBody(new AppError('backup_failed', error instanceof Error ? error.message : String(error))) };
    }
  }

  async fetch(request: Request): Promise<Response> {
    const controller = await this.ready;
    if (controller instanceof AppError) return errorResponse(controller);
    return handleAgentRequest(controller, request);
  }

  async wakeup(): Promise<void> {
    const controller = await this.ready;
    if (!(controller instanceof AppError)) await controller.onWakeup();
  }

  async runtimeStopped(exitCode: number | null, reason: string): Promise<void> {
    const controller = await this.ready;
    if (!(controller instanceof AppError)) await controller.onRuntimeStopped(exitCode, reason);
  }

  /** @returns whether a container is expected to run now (false: a stray container may be stopped). */
  async activityExpired(): Promise<boolean> {
    const controller = await this.ready;
    if (controller instanceof AppError) return false;
    return controller.onActivityExpired();
  }
}
