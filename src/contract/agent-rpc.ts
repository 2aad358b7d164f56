/**
 * The wire contract of the Agent Durable Object: the RPC surface that the
 * Worker, the cost guard, the Telegram webhook and the Discord relay call on
 * a stub of either Agent class (production `Agent`, local `LocalAgent`), and
 * its named answers. Types only: the payloads are named by the modules that
 * own them (type imports, nothing at run time), and the classes implement it
 * once in src/agent/durable-object/agent-rpc.ts.
 */
import type { LifecycleState } from '../../machines/lifecycle-types.ts';
import type { AgentUsageReport } from '../agent/agent-parts.ts';
import type { CommandResult } from '../agent/durable-object/agent-requests.ts';
import type { CommandOptions, LifecycleCommand } from '../agent/lifecycle-actor.ts';
import type { ModelSignIn } from '../agent/model-sign-in.ts';
import type { BackupEvent } from '../agent/records/state-keeper.ts';
import type { BudgetEvaluation, CostSummary } from '../cost/budget-keeper.ts';
import type { ModelCall, ModelGate } from '../cost/model-meter.ts';
import type { ErrorBody } from '../errors.ts';
import type { DiscordInbound } from '../inbox/discord-frames.ts';
import type { InboxChannel } from '../inbox/inbox.ts';
import type { Receipt, TelegramUpdate } from '../inbox/inbox-types.ts';
import type { ContainerDiagnosis } from '../runtime/runtime.ts';

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
export type { AgentUsageReport, CommandResult };

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
