/**
 * The Agent Durable Object of production: a Cloudflare Sandbox (container)
 * whose lifecycle is decided by the shared controller. It uses the
 * library's schedule() for timers (never alarm()), onStop to notice a
 * container that exited, and onActivityExpired as the platform's own idle
 * signal.
 */
import { Sandbox } from '@cloudflare/sandbox';
import type { StopParams } from '@cloudflare/containers';
import type { Env } from '../env.ts';
import { SandboxRuntime, type SandboxHost } from '../runtime/sandbox-runtime.ts';
import type { LifecycleCommand } from './agent-controller.ts';
import { AgentHost, type BackupResult, type StatusResult } from './agent-host.ts';
import type { CommandResult } from './agent-requests.ts';
import type { BudgetEvaluation } from '../cost/budget-keeper.ts';

const WAKEUP_CALLBACK = 'onLifecycleWakeup';
/** Polls of the container's state after SIGTERM before SIGKILL (120 × 250 ms = 30 s). */
const STOP_POLLS = 120;
const STOP_POLL_MS = 250;

export class Agent extends Sandbox<Env> {
  readonly #host: AgentHost;

  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
    this.#host = new AgentHost(env, {
      storage: ctx.storage,
      wakeups: {
        setWakeup: async (at) => {
          this.deleteSchedules(WAKEUP_CALLBACK);
          if (at !== null) await this.schedule(new Date(Math.max(at, Date.now())), WAKEUP_CALLBACK);
        },
      },
      runtimeKind: 'sandbox',
      makeRuntime: (config) => {
        // The platform's own idle timeout is a backstop, a little longer than ours.
        this.sleepAfter = Math.ceil((config.lifecycle.sleepAfterMs * 1.5) / 1000);
        return new SandboxRuntime(this.sandboxHost(), config.gatewayPort);
      },
    });
  }

  /** Called by the Container schedule table when the controller's next timer is due. */
  async onLifecycleWakeup(): Promise<void> {
    await this.#host.wakeup();
  }

  override async onStop(params?: StopParams): Promise<void> {
    await super.onStop(params);
    await this.#host.runtimeStopped(params?.exitCode ?? null, params?.reason ?? 'container stopped');
  }

  /**
   * Our machine decides when to sleep (with a backup first), not the
   * library's default stop(). A container running while the machine says it
   * should not (started by a stray request) is stopped here, so it never bills
   * unnoticed.
   */
  override async onActivityExpired(): Promise<void> {
    const expected = await this.#host.activityExpired();
    if (!expected && this.ctx.container?.running) await this.stopContainerAndWait();
  }

  override async fetch(request: Request): Promise<Response> {
    return this.#host.fetch(request);
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

  /** What the runtime needs from this Sandbox: its process API and a stop that waits. */
  protected sandboxHost(): SandboxHost {
    return {
      startProcess: (command, options) => this.startProcess(command, options),
      getProcess: (id) => this.getProcess(id),
      readFile: (path) => this.readFile(path),
      containerFetch: (request, port) => this.containerFetch(request, port),
      wsConnect: (request, port) => this.wsConnect(request, port),
      stopContainer: () => this.stopContainerAndWait(),
      containerRunning: () => this.ctx.container?.running === true,
      exec: async (command) => {
        const r = await this.exec(command);
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      },
      createBackup: (options) => this.createBackup(options),
      restoreBackup: (backup) => this.restoreBackup(backup as Parameters<Sandbox['restoreBackup']>[0]),
    };
  }

  /**
   * SIGTERM (PID 1 forwards it to the gateway), re-sent if a concurrent
   * request started the container again, then SIGKILL if it has not stopped.
   */
  protected async stopContainerAndWait(): Promise<void> {
    await this.stop();
    for (let poll = 1; poll <= STOP_POLLS; poll++) {
      if (!this.ctx.container?.running) return;
      if (poll % 8 === 0) await this.stop();
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
    await this.destroy();
  }
}
