/**
 * The one RPC surface of both Agent Durable Object classes (production
 * `Agent`, a Sandbox; local `LocalAgent`), written once as a mixin over
 * their different platform bases: each class only builds its `core` (AgentCore) from its
 * own platform parts. `Env.AGENT` is typed with this surface, so the Worker
 * calls either class the same way.
 */
import type { LifecycleState } from '../../../machines/lifecycle-types.ts';
import type { BudgetEvaluation, CostSummary } from '../../cost/budget-keeper.ts';
import type { ModelCall, ModelGate } from '../../cost/model-meter.ts';
import type { ErrorBody } from '../../errors.ts';
import type { ContainerDiagnosis } from '../../runtime/runtime.ts';
import type { AgentUsageReport } from '../agent-parts.ts';
import type { CommandResult } from './agent-requests.ts';
import type { CommandOptions, LifecycleCommand } from '../lifecycle-actor.ts';
import type { ModelSignIn } from '../model-sign-in.ts';
import type { BackupEvent } from '../records/state-keeper.ts';
import type { Receipt, TelegramUpdate } from '../../inbox/inbox-types.ts';
import type { DiscordInbound } from '../../inbox/discord-frames.ts';
import type { InboxChannel } from '../../inbox/inbox.ts';

/** The answers of the RPC surface: ok with the result, or the error body of why not. */
export type StatusResult = CommandResult;
export type DoctorResult =
  | { ok: true; doctor: { state: LifecycleState; contract: number; container: ContainerDiagnosis | null } }
  | ({ ok: false } & ErrorBody);
export type SignInResult = { ok: true; signIn: ModelSignIn } | ({ ok: false } & ErrorBody);
export type BackupResult = { ok: true; backup: BackupEvent } | ({ ok: false } & ErrorBody);
export type BudgetResult = { ok: true; changed: boolean; previousLevel: string | null; state: LifecycleState } | ({ ok: false } & ErrorBody);
export type CostResult = { ok: true; cost: CostSummary } | ({ ok: false } & ErrorBody);
export type InboxResult = { ok: true; receipt: Receipt } | ({ ok: false } & ErrorBody);
export type { AgentUsageReport };

/** What the surface asks of the core each class builds (AgentCore). */
export interface AgentCoreApi {
  command(name: LifecycleCommand, options?: CommandOptions): Promise<CommandResult>;
  status(): Promise<StatusResult>;
  backup(reason: string): Promise<BackupResult>;
  doctor(): Promise<DoctorResult>;
  applyBudget(evaluation: BudgetEvaluation): Promise<BudgetResult>;
  costSummary(): Promise<CostResult>;
  modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult>;
  usageReport(hours: number, withSchedule?: boolean): Promise<AgentUsageReport | null>;
  modelGate(): Promise<ModelGate>;
  recordModelCall(call: ModelCall): Promise<void>;
  inboxTelegram(update: TelegramUpdate): Promise<InboxResult>;
  inboxDiscord(message: DiscordInbound): Promise<InboxResult>;
  inboxRefused(sender: string, reason: string, channel?: InboxChannel): Promise<void>;
}

/** What a stub of either Agent class answers. */
export interface AgentRpcApi {
  lifecycleCommand(name: LifecycleCommand, options?: CommandOptions): Promise<CommandResult>;
  lifecycleStatus(): Promise<StatusResult>;
  lifecycleBackup(reason: string): Promise<BackupResult>;
  /** What `clawctl doctor` asks of the deployment: the container's versions and ingress source. */
  lifecycleDoctor(): Promise<DoctorResult>;
  /** The cost guard's evaluation (from the cron), applied through the machine. */
  applyBudget(evaluation: BudgetEvaluation): Promise<BudgetResult>;
  costSummary(): Promise<CostResult>;
  /** Self-metered running seconds, browser-hours and scheduled wakes (unless `withSchedule` is false): what the cost guard prices. */
  usageReport(hours: number, withSchedule?: boolean): Promise<AgentUsageReport | null>;
  /** The model sign-in: start, cancel or read OpenClaw's device-code flow in the running container. */
  modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult>;
  /** The container's egress, before a model call: go, wait, or refuse (the model budget lines). */
  modelGate(): Promise<ModelGate>;
  /** The container's egress, after a model call: its usage as the Worker read it from the provider's answer. */
  recordModelCall(call: ModelCall): Promise<void>;
  /** The Telegram webhook, after its checks: the update into the inbox (stored before Telegram is answered). */
  inboxTelegram(update: TelegramUpdate): Promise<InboxResult>;
  /** The Discord relay, after its sender check: the message into the inbox (stored before its sequence is kept). */
  inboxDiscord(message: DiscordInbound): Promise<InboxResult>;
  /** The Telegram webhook or the Discord relay refused a sender (not on the channel's allowed list): counted in the status. */
  inboxRefused(sender: string, reason: string, channel?: InboxChannel): Promise<void>;
  fetch(request: Request): Promise<Response>;
}

/** The Agent namespace binding, whichever class it binds. */
export type AgentNamespace = DurableObjectNamespace<AgentRpcApi & Rpc.DurableObjectBranded>;

// A mixin's base takes any constructor arguments (TypeScript requires `any[]` here).
// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[] (TS2545).
type Constructor = abstract new (...args: any[]) => object;

export function withAgentRpc<TBase extends Constructor>(Base: TBase) {
  abstract class AgentRpc extends Base {
    /** The AgentCore, built by each class from its platform's parts. */
    protected abstract readonly core: AgentCoreApi;

    async lifecycleCommand(name: LifecycleCommand, options: CommandOptions = {}): Promise<CommandResult> {
      return this.core.command(name, options);
    }

    async lifecycleStatus(): Promise<StatusResult> {
      return this.core.status();
    }

    async lifecycleBackup(reason: string): Promise<BackupResult> {
      return this.core.backup(reason);
    }

    async lifecycleDoctor(): Promise<DoctorResult> {
      return this.core.doctor();
    }

    async applyBudget(evaluation: BudgetEvaluation): Promise<BudgetResult> {
      return this.core.applyBudget(evaluation);
    }

    async costSummary(): Promise<CostResult> {
      return this.core.costSummary();
    }

    async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult> {
      return this.core.modelLogin(action);
    }

    async usageReport(hours: number, withSchedule = true): Promise<AgentUsageReport | null> {
      return this.core.usageReport(hours, withSchedule);
    }

    async modelGate(): Promise<ModelGate> {
      return this.core.modelGate();
    }

    async recordModelCall(call: ModelCall): Promise<void> {
      return this.core.recordModelCall(call);
    }

    async inboxTelegram(update: TelegramUpdate): Promise<InboxResult> {
      return this.core.inboxTelegram(update);
    }

    async inboxDiscord(message: DiscordInbound): Promise<InboxResult> {
      return this.core.inboxDiscord(message);
    }

    async inboxRefused(sender: string, reason: string, channel: InboxChannel = 'telegram'): Promise<void> {
      return this.core.inboxRefused(sender, reason, channel);
    }
  }
  return AgentRpc;
}
