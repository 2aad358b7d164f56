/**
 * The Agent Durable Object of production: a Cloudflare Sandbox (container)
 * whose lifecycle is decided by the shared controller. It uses the
 * library's schedule() for timers (never alarm()), onStop to notice a
 * container that exited, and onActivityExpired as a backstop to its own idle
 * timer.
 */
import { Sandbox } from '@cloudflare/sandbox';
import type { StopParams } from '@cloudflare/containers';
import { checkSandboxBackups } from '../../backup/backup-config.ts';
import { BROWSER_CDP_HOST } from '../../browser/cdp-passthrough.ts';
import { egressHosts } from '../../egress/credentials.ts';
import { STOP_EXPECTED_FILE } from '../../contract/boot-status.ts';
import type { Env } from '../../env.ts';
import { SandboxRuntime, type SandboxApi } from '../../runtime/sandbox-runtime.ts';
import { AgentCore } from './agent-core.ts';
import { withAgentRpc } from './agent-rpc.ts';

const WAKEUP_CALLBACK = 'onLifecycleWakeup';
/** Polls of the container's state after SIGTERM before SIGKILL (120 × 250 ms = 30 s). */
const STOP_POLLS = 120;
const STOP_POLL_MS = 250;
/** A readiness probe that gets no answer within this long counts as "not answering". */
const PROBE_TIMEOUT_MS = 5_000;
/** The platform's idle timeout, as a multiple of our sleepAfter: a backstop that fires only if our own timer did not. */
const BACKSTOP_FACTOR = 1.5;

/** The placeholder handler of an intercepted host: the ContainerProxy entrypoint answers every one of them first. */
const answeredByContainerProxy = () => new Response('the ContainerProxy entrypoint answers this host', { status: 500 });

/**
 * Adds the hosts the Worker holds credentials for (src/egress/credentials.ts)
 * to the ones the platform intercepts. The table is the class's (the
 * library reads it at each container start); the secrets are the same for
 * every Agent of this Worker, so it is set once per isolate, before any start.
 */
function interceptEgressHosts(env: Env): void {
  const hosts = Object.fromEntries([...egressHosts(env).keys()].map((host) => [host, answeredByContainerProxy]));
  Agent.outboundByHost = { ...hosts, [BROWSER_CDP_HOST]: answeredByContainerProxy };
}

export class Agent extends withAgentRpc(Sandbox<Env>) {
  /**
   * The container's requests to the agent's browser host are intercepted
   * (the Worker's ContainerProxy answers them, forwarding to this Agent's
   * CDP passthrough); this entry only makes the platform intercept the host.
   */
  static override outboundByHost: Record<string, () => Response> = {
    [BROWSER_CDP_HOST]: () => new Response('the ContainerProxy entrypoint answers the browser host', { status: 500 }),
  };

  /**
   * HTTPS from the container to an intercepted host is intercepted too: the
   * platform writes its interception CA into the container
   * (/etc/cloudflare/certs/cloudflare-containers-ca.crt) and the Sandbox's
   * control server adds it to the system bundle and to the environment of
   * what it starts (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, CURL_CA_BUNDLE,
   * GIT_SSL_CAINFO), so Node, curl and git trust the Worker's answers. Hosts
   * without a handler are not intercepted.
   */
  override interceptHttps = true;

  protected readonly core: AgentCore;
  /** Whether a person's activity armed the platform's idle timer yet (its first renewal is always taken). */
  #activityArmed = false;
  #userActivity = false;

  // biome-ignore lint/complexity/noBannedTypes: the Sandbox base class's own state type.
  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
    this.core = new AgentCore(env, {
      storage: ctx.storage,
      wakeups: {
        setWakeup: async (at) => {
          this.deleteSchedules(WAKEUP_CALLBACK);
          if (at !== null) await this.schedule(new Date(Math.max(at, Date.now())), WAKEUP_CALLBACK);
        },
      },
      runtimeKind: 'sandbox',
      configure: async (config) => {
        checkSandboxBackups(env, config.backupTransfer);
        interceptEgressHosts(env);
        await this.setSleepAfter(Math.ceil((config.lifecycle.sleepAfterMs * BACKSTOP_FACTOR) / 1000));
      },
      makeRuntime: (config) =>
        new SandboxRuntime(this.sandboxApi(), {
          gatewayPort: config.gatewayPort,
          backupTransfer: config.backupTransfer,
          drainTimeoutMs: config.drainTimeoutMs,
        }),
      onActivity: () => this.#renewForActivity(),
    });
  }

  /** Called by the Container schedule table when the controller's next timer is due. */
  async onLifecycleWakeup(): Promise<void> {
    await this.core.wakeup();
  }

  override async onStop(params?: StopParams): Promise<void> {
    await super.onStop(params);
    await this.core.runtimeStopped(params?.exitCode ?? null, params?.reason ?? 'container stopped');
  }

  /**
   * The platform's idle timeout moves only with a person's activity (requests
   * the Agent proxies): the library also renews it for every call the Agent
   * makes itself (readiness probes, health checks, backups), which would keep
   * the backstop from ever firing.
   */
  override renewActivityTimeout(): void {
    if (this.#activityArmed && !this.#userActivity) return;
    this.#activityArmed = true;
    super.renewActivityTimeout();
  }

  #renewForActivity(): void {
    this.#userActivity = true;
    try {
      this.renewActivityTimeout();
    } finally {
      this.#userActivity = false;
    }
  }

  /**
   * The backstop fired: sleepAfter × 1.5 without a person's request. Our
   * machine decides (idle → sleep with a backup first), not the library's
   * default stop(); a container running while the machine says it should not
   * (started by a stray call) is stopped here, so it never bills unnoticed.
   */
  override async onActivityExpired(): Promise<void> {
    const expected = await this.core.activityExpired();
    if (!expected && this.ctx.container?.running) await this.stopContainerAndWait();
    this.#renewForActivity();
  }

  override async fetch(request: Request): Promise<Response> {
    return this.core.fetch(request);
  }

  /** What the runtime needs from this Sandbox: its process API, the container's ports and a stop that waits. */
  protected sandboxApi(): SandboxApi {
    return {
      startProcess: (command, options) => this.startProcess(command, options),
      getProcess: (id) => this.getProcess(id),
      readFile: (path) => this.readFile(path),
      containerFetch: (request, port) => this.containerFetch(request, port),
      probePort: async (port, path) => {
        const container = this.ctx.container;
        if (!container?.running) return null;
        try {
          const response = await container.getTcpPort(port).fetch(`http://container${path}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
          await response.body?.cancel();
          return response.status;
        } catch {
          return null;
        }
      },
      stopContainer: () => this.stopContainerAndWait(),
      containerRunning: () => this.ctx.container?.running === true,
      // Any process call starts the container through the SDK's own start path and waits for its control server.
      startContainer: async () => void (await this.exec('true')),
      exec: async (command) => {
        const r = await this.exec(command);
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      },
      createBackup: (options) => this.createBackup(options),
      restoreBackup: (backup) => this.restoreBackup(backup as Parameters<Sandbox['restoreBackup']>[0]),
    };
  }

  /**
   * SIGTERM to the container, re-sent if a concurrent request started it
   * again, then SIGKILL if it has not stopped. The stop is marked expected
   * first (STOP_EXPECTED_FILE), so the container's init passes this SIGTERM
   * on at once instead of holding it as it holds the platform's own.
   */
  protected async stopContainerAndWait(): Promise<void> {
    if (this.ctx.container?.running) await this.exec(`mkdir -p "$(dirname ${STOP_EXPECTED_FILE})" && touch ${STOP_EXPECTED_FILE}`).catch(() => null);
    await this.stop();
    for (let poll = 1; poll <= STOP_POLLS; poll++) {
      if (!this.ctx.container?.running) return;
      if (poll % 8 === 0) await this.stop();
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
    await this.destroy();
  }
}
