/**
 * The Agent Durable Object of the local mode: a plain Durable Object (no
 * container), its timers in DO alarms, its runtime the local dev host. Its
 * RPC methods are the shared ones (agent-rpc.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Config } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { Env } from '../../env.ts';
import { LocalRuntime } from '../../runtime/local-runtime.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import { AgentCore } from './agent-core.ts';
import { withAgentRpc } from './agent-rpc.ts';
import type { BrowserSessions } from '../../browser/browser-sessions.ts';

export class LocalAgent extends withAgentRpc(DurableObject<Env>) {
  protected readonly core: AgentCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.core = new AgentCore(env, {
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
      await this.core.ready;
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
      throw new AppError(
        'not_configured',
        'LOCAL_HOST_TOKEN is not set: the local mode runs through `npm start`, which gives the Worker and the local host a secret of their own',
      );
    }
  }

  /** The controller's clock. */
  protected now(): number {
    return Date.now();
  }

  override async fetch(request: Request): Promise<Response> {
    return this.core.fetch(request);
  }

  override async alarm(): Promise<void> {
    await this.core.wakeup();
  }

  /** The local host reports that the runtime process exited. */
  async runtimeExited(exitCode: number | null, reason: string): Promise<void> {
    await this.core.runtimeStopped(exitCode, reason);
  }
}
