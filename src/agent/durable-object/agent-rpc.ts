/**
 * The one RPC surface of both Agent Durable Object classes (production
 * `Agent`, a Sandbox; local `LocalAgent`), written once as a mixin over
 * their different platform bases: each class only builds its `core` (AgentCore) from its
 * own platform parts. The surface is the wire contract src/contract/agent-rpc.ts
 * (AgentRpcApi); `Env.AGENT` is typed with it, so the Worker calls either class the same way.
 */
import type {
  AgentRpcApi,
  AgentUsageReport,
  BackupResult,
  BudgetResult,
  CostResult,
  DoctorResult,
  InboxResult,
  SignInResult,
  StatusResult,
} from '../../contract/agent-rpc.ts';
import type { BudgetEvaluation } from '../../cost/budget-keeper.ts';
import type { ModelCall, ModelGate } from '../../cost/model-meter.ts';
import type { DiscordInbound } from '../../inbox/discord-frames.ts';
import type { InboxChannel } from '../../inbox/inbox.ts';
import type { TelegramUpdate } from '../../inbox/inbox-types.ts';
import type { CommandOptions, LifecycleCommand } from '../lifecycle-actor.ts';
import type { CommandResult } from './agent-requests.ts';

/** What the surface asks of the core each class builds (AgentCore): the contract's methods but fetch, under the same names. */
export type AgentCoreApi = Omit<AgentRpcApi, 'fetch'>;

// A mixin's base takes any constructor arguments (TypeScript requires `any[]` here).
// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[] (TS2545).
type Constructor = abstract new (...args: any[]) => object;

export function withAgentRpc<TBase extends Constructor>(Base: TBase) {
  // The contract's surface but fetch, which each class has from its platform base.
  abstract class AgentRpc extends Base implements Omit<AgentRpcApi, 'fetch'> {
    /** The AgentCore, built by each class from its platform's parts. */
    protected abstract readonly core: AgentCoreApi;

    async lifecycleCommand(name: LifecycleCommand, options: CommandOptions = {}): Promise<CommandResult> {
      return this.core.lifecycleCommand(name, options);
    }

    async lifecycleStatus(): Promise<StatusResult> {
      return this.core.lifecycleStatus();
    }

    async lifecycleBackup(reason: string): Promise<BackupResult> {
      return this.core.lifecycleBackup(reason);
    }

    async lifecycleDoctor(): Promise<DoctorResult> {
      return this.core.lifecycleDoctor();
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
