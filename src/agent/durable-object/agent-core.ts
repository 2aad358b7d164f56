/**
 * What the two Durable Object classes share: building the controller from
 * the environment and answering RPC commands, requests and status.
 */
import { CONTAINER_CONTRACT_VERSION } from '../../contract/boot-status.ts';
import { parseConfig, type Config } from '../../config.ts';
import type { Env } from '../../env.ts';
import { AppError, errorBody, errorMessage, errorResponse, type ErrorBody } from '../../errors.ts';
import { BackupStore } from '../../backup/backup-store.ts';
import { postWebhook } from '../../notify/webhook.ts';
import { parseCostConfig } from '../../cost/cost-config.ts';
import { containerEnv, discordEnv, telegramEnv } from '../../runtime/container-env.ts';
import { discordBot } from '../../inbox/discord-rest.ts';
import { TELEGRAM_WEBHOOK_PATH } from '../../inbox/telegram-webhook.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import { AgentController } from '../agent-controller.ts';
import type { ControllerStorage } from '../effect-context.ts';
import type { CommandOptions, LifecycleCommand } from '../lifecycle-actor.ts';
import type { BudgetEvaluation } from '../../cost/budget-keeper.ts';
import type { ModelCall, ModelGate, ModelLines } from '../../cost/model-meter.ts';
import type { AgentUsageReport } from '../agent-parts.ts';
import { handleAgentRequest, runCommand, type CommandResult } from './agent-requests.ts';
import type { BackupResult, BudgetResult, CostResult, DoctorResult, InboxResult, SignInResult, StatusResult } from '../../contract/agent-rpc.ts';
import type { AgentCoreApi } from './agent-rpc.ts';
import type { WakeupPort } from '../records/timer-table.ts';
import { BrowserRunSessions, type BrowserSessions } from '../../browser/browser-sessions.ts';
import { localEgressUrl, parseUpstreams } from '../../egress/local-egress.ts';
import { setting } from '../../settings.ts';
import { parsePublicOrigins } from '../../auth/request-guard.ts';
import type { InboxChannel, InboxStorage } from '../../inbox/inbox.ts';
import { telegramBot } from '../../inbox/telegram.ts';
import type { DiscordBot, Receipt, TelegramUpdate } from '../../inbox/inbox-types.ts';
import type { DiscordInbound } from '../../inbox/discord-frames.ts';

export interface AgentCoreParts {
  /** The Durable Object's storage: the controller's records and the chat inbox. */
  storage: ControllerStorage & InboxStorage;
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
export class AgentCore implements AgentCoreApi {
  readonly ready: Promise<AgentController | AppError>;

  constructor(env: Env, parts: AgentCoreParts) {
    this.ready = (async () => {
      let config: Config;
      let notifyUrl: string | null;
      let modelLines: ModelLines;
      let egressUrl: string | null = null;
      let telegram: Awaited<ReturnType<typeof telegramBot>> = null;
      // The Discord bot: the relay holds its gateway session; the inbox sends its notes and hands messages to the gateway's hook.
      let discord: DiscordBot | null = null;
      try {
        config = parseConfig(env);
        if (parts.runtimeKind === 'local') egressUrl = localEgressUrl(parsePublicOrigins(env.PUBLIC_ORIGINS)[0] ?? '');
        ({ notifyWebhookUrl: notifyUrl, modelLines } = parseCostConfig(env));
        await parts.configure?.(config);
        const upstreams = parts.runtimeKind === 'local' ? parseUpstreams(setting(env, 'LOCAL_EGRESS_UPSTREAMS')) : new Map<string, string>();
        telegram = await telegramBot(env, upstreams.get('api.telegram.org'));
        discord = await discordBot(env, upstreams.get('discord.com'));
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
        // The container (or the local gateway) reaches its providers through the Worker's egress, which adds the credentials: it holds placeholders.
        containerEnv: {
          ...containerEnv(env, config.gatewayPort, {
            placeholders: true,
            ...(egressUrl ? { localEgressUrl: egressUrl } : {}),
          }),
          ...(telegram ? telegramEnv(env, telegram.listenerSecret, TELEGRAM_WEBHOOK_PATH) : {}),
          ...(discord ? discordEnv(env, discord.hookToken) : {}),
        },
        modelLines,
        backups: env.BACKUP_BUCKET ? new BackupStore(env.BACKUP_BUCKET, config.agentName, config.backupKeep, parts.clock ?? Date.now) : null,
        ...(notifyUrl ? { notify: async (body: Record<string, unknown>) => void (await postWebhook(notifyUrl, body)) } : {}),
        ...(parts.onActivity ? { onActivity: parts.onActivity } : {}),
        // Browser Rendering is the container's browser (production); the local mode's gateway launches its own.
        browserSessions: parts.browserSessions
          ? parts.browserSessions(env)
          : parts.runtimeKind === 'sandbox' && env.BROWSER
            ? new BrowserRunSessions(env.BROWSER)
            : null,
        ...(parts.clock ? { clock: parts.clock } : {}),
        ...(telegram || discord ? { inbox: { storage: parts.storage, telegram, discord } } : {}),
      });
    })();
  }

  /** Runs `work` on the controller, or answers the configuration error it could not load with. */
  async #answer<T>(work: (controller: AgentController) => T | Promise<T>): Promise<T | ({ ok: false } & ErrorBody)> {
    const controller = await this.ready;
    if (controller instanceof AppError) return { ok: false, ...errorBody(controller) };
    return work(controller);
  }

  applyBudget(evaluation: BudgetEvaluation): Promise<BudgetResult> {
    return this.#answer(async (c) => ({ ok: true as const, ...(await c.applyBudget(evaluation)) }));
  }

  costSummary(): Promise<CostResult> {
    return this.#answer((c) => ({ ok: true as const, cost: c.costSummary() }));
  }

  /** The cost guard's inputs; null when the Agent is not configured (it runs nothing then). */
  async usageReport(hours: number, withSchedule = true): Promise<AgentUsageReport | null> {
    const controller = await this.ready;
    return controller instanceof AppError ? null : controller.usageReport(hours, withSchedule);
  }

  /** The egress handler's question before a model call; with no controller (not configured) the call goes. */
  async modelGate(): Promise<ModelGate> {
    const controller = await this.ready;
    return controller instanceof AppError ? { go: true, delayMs: 0, level: 'ok' } : controller.modelGate();
  }

  async recordModelCall(call: ModelCall): Promise<void> {
    const controller = await this.ready;
    if (!(controller instanceof AppError)) controller.recordModelCall(call);
  }

  /** A Telegram update the Worker checked: into the inbox. */
  inboxTelegram(update: TelegramUpdate): Promise<InboxResult> {
    return this.#intoInbox((c) => c.receiveTelegram(update));
  }

  /** A Discord message the relay checked (an allowed sender): into the inbox. */
  inboxDiscord(message: DiscordInbound): Promise<InboxResult> {
    return this.#intoInbox((c) => c.receiveDiscord(message));
  }

  /** A message into the inbox, its receipt or the error it met as an answer (an RPC caller gets no thrown error's code). */
  #intoInbox(receive: (controller: AgentController) => Promise<Receipt>): Promise<InboxResult> {
    return this.#answer(async (c) => {
      try {
        return { ok: true as const, receipt: await receive(c) };
      } catch (error) {
        return { ok: false as const, ...errorBody(error instanceof AppError ? error : new AppError('internal', errorMessage(error))) };
      }
    });
  }

  /** A sender the Worker refused: counted in the inbox's status. */
  async inboxRefused(sender: string, reason: string, channel: InboxChannel = 'telegram'): Promise<void> {
    const controller = await this.ready;
    if (!(controller instanceof AppError)) await controller.refused(channel, sender, reason);
  }

  lifecycleCommand(name: LifecycleCommand, options: CommandOptions = {}): Promise<CommandResult> {
    return this.#answer((c) => runCommand(c, name, options));
  }

  lifecycleStatus(): Promise<StatusResult> {
    return this.#answer((c) => ({ ok: true as const, status: c.status() }));
  }

  /** `clawctl doctor`: what the Agent knows of its container (versions, ingress source), read only while one runs. */
  lifecycleDoctor(): Promise<DoctorResult> {
    return this.#answer(async (c) => ({ ok: true as const, doctor: { state: c.state, contract: CONTAINER_CONTRACT_VERSION, container: await c.diagnose() } }));
  }

  lifecycleBackup(reason: string): Promise<BackupResult> {
    return this.#answer(async (c) => {
      try {
        return { ok: true as const, backup: await c.backupNow(reason) };
      } catch (error) {
        return { ok: false as const, ...errorBody(error instanceof AppError ? error : new AppError('backup_failed', errorMessage(error))) };
      }
    });
  }

  /** The model sign-in (`/api/login`): start, cancel or read it. */
  modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult> {
    return this.#answer(async (c) => {
      try {
        return { ok: true as const, signIn: await c.modelLogin(action) };
      } catch (error) {
        return { ok: false as const, ...errorBody(error instanceof AppError ? error : new AppError('runtime_unreachable', errorMessage(error))) };
      }
    });
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
