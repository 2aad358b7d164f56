/**
 * The one RPC surface of both Agent Durable Object classes (production
 * `Agent`, a Sandbox; local `LocalAgent`), written once as a mixin over
 * their different platform bases: each class only builds its `core` (AgentCore) from its
 * own platform parts. `Env.AGENT` is typed with this surface, so the Worker
 * calls either class the same way.
 */
import type { BudgetEvaluation } from '../cost/budget-keeper.ts';
import type { AgentCore, AgentUsageReport, BackupResult, DoctorResult, SignInResult, StatusResult } from './agent-core.ts';
import type { CommandResult } from './agent-requests.ts';
import type { CommandOptions, LifecycleCommand } from './lifecycle-actor.ts';

/** What a stub of either Agent class answers. */
export interface AgentRpcApi {
  lifecycleCommand(name: LifecycleCommand, options?: CommandOptions): Promise<CommandResult>;
  lifecycleStatus(): Promise<StatusResult>;
  lifecycleBackup(reason: string): Promise<BackupResult>;
  /** What `clawctl doctor` asks of the deployment: the container's versions and ingress source. */
  lifecycleDoctor(): Promise<DoctorResult>;
  /** The cost guard's evaluation (from the cron), applied through the machine. */
  applyBudget(evaluation: BudgetEvaluation): ReturnType<AgentCore['applyBudget']>;
  costSummary(): ReturnType<AgentCore['costSummary']>;
  /** Self-metered running seconds, browser-hours and scheduled wakes (unless `withSchedule` is false): what the cost guard prices. */
  usageReport(hours: number, withSchedule?: boolean): Promise<AgentUsageReport | null>;
  /** The model sign-in: start, cancel or read OpenClaw's device-code flow in the running container. */
  modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult>;
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
    protected abstract readonly core: AgentCore;

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

    async applyBudget(evaluation: BudgetEvaluation): ReturnType<AgentCore['applyBudget']> {
      return this.core.applyBudget(evaluation);
    }

    async costSummary(): ReturnType<AgentCore['costSummary']> {
      return this.core.costSummary();
    }

    async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<SignInResult> {
      return this.core.modelLogin(action);
    }

    async usageReport(hours: number, withSchedule = true): Promise<AgentUsageReport | null> {
      return this.core.usageReport(hours, withSchedule);
    }
  }
  return AgentRpc;
}
