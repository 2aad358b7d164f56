/**
 * The production class (a Sandbox subclass) in Node with a fake
 * ctx.container: the platform's container is the only fake; the Container
 * base class's schedule table, alarm loop, stop() and onStop path are real.
 * The Sandbox's process API (its HTTP control protocol inside the image) is
 * replaced by a small process model on top of the fake container.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../src/agent/durable-object/sandbox-agent.ts';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { CONTAINER_CONTRACT_VERSION, BOOT_STATUS_FILE, READINESS_PATH, START_PROCESS_ID } from '../../src/contract/boot-status.ts';
import type { Env } from '../../src/env.ts';
import type { SandboxApi } from '../../src/runtime/sandbox-runtime.ts';
import { makeFakeCtx, type FakeContainerControl } from '../support/fake-container-ctx.ts';

interface ProcessModel {
  started: number;
  env: Record<string, string> | null;
  probesUntilReady: number;
  phase: string;
  failure: string | null;
  /** The gateway exited after its SIGTERM (a drain). */
  drained: boolean;
  commands: string[];
}

/** The production Agent with the Sandbox process API modelled on the fake container. */
class TestSandboxAgent extends Agent {
  static model: ProcessModel;
  static control: FakeContainerControl;

  protected override sandboxApi(): SandboxApi {
    const real = super.sandboxApi();
    const model = TestSandboxAgent.model;
    const control = TestSandboxAgent.control;
    // The SDK's control client renews the activity timeout on every call it makes (its onActivity hook).
    const rpc = () => this.renewActivityTimeout();
    return {
      ...real,
      startContainer: async () => {
        rpc();
        await this.start();
      },
      startProcess: async (_command, options) => {
        rpc();
        await this.start(); // the real Container.start(): ctx.container.start() + monitor
        model.started += 1;
        model.drained = false;
        model.env = options.env;
        model.phase = 'configuring';
        return { id: options.processId };
      },
      getProcess: async (id) => {
        rpc();
        if (id !== START_PROCESS_ID || model.started === 0) return null;
        return { status: control.running && !model.drained ? 'running' : 'completed', exitCode: 0 };
      },
      readFile: async (path) => {
        rpc();
        if (path !== BOOT_STATUS_FILE || !control.running) throw new Error('no such file');
        if (model.failure)
          return {
            content: JSON.stringify({
              phase: 'failed',
              at: '',
              contract: CONTAINER_CONTRACT_VERSION,
              error: { code: 'config_unreadable', message: model.failure },
              retryable: false,
            }),
          };
        const content = JSON.stringify({ phase: model.phase, at: '', contract: CONTAINER_CONTRACT_VERSION });
        model.phase = 'starting-gateway'; // the script moves on after configuring
        return { content };
      },
      exec: async (command) => {
        rpc();
        model.commands.push(command);
        if (command.includes('snapshot-state.ts snapshot')) return { exitCode: 0, stdout: '{"changed":false}', stderr: '' };
        if (command.startsWith('kill -TERM')) model.drained = true;
        return { exitCode: 0, stdout: '', stderr: '' };
      },
      containerFetch: async (request) => {
        if (!control.running) throw new Error('container not running');
        return new Response(JSON.stringify({ gateway: 'sandbox-fake', path: new URL(request.url).pathname }));
      },
    };
  }
}

/** An empty R2 bucket: no backup to restore yet. */
const emptyBucket = {
  list: async () => ({ objects: [], truncated: false }),
  get: async () => null,
  head: async () => null,
  put: async () => null,
  delete: async () => undefined,
};

const env = {
  SLEEP_AFTER: '10m',
  QUIET_AFTER: '60s',
  BOOT_POLL_INTERVAL: '50ms',
  OPENCLAW_GATEWAY_TOKEN: 'tok-sandbox',
  INSTANCE_TYPE: 'standard-1',
  BACKUP_TRANSFER: 'binding',
  BACKUP_BUCKET: emptyBucket,
  CHANGE_CHECK_INTERVAL: '10m',
} as unknown as Env;

function setup(environment: Env = env) {
  const fake = makeFakeCtx();
  TestSandboxAgent.control = fake.control;
  TestSandboxAgent.model = { started: 0, env: null, probesUntilReady: 2, phase: 'launching', failure: null, drained: false, commands: [] };
  // The gateway's port, as the Agent's readiness probe reaches it (ctx.container.getTcpPort).
  fake.control.handler = async (port, request) => {
    const model = TestSandboxAgent.model;
    if (port !== 18789) return new Response('ok'); // the Sandbox control server
    if (new URL(request.url).pathname !== READINESS_PATH || model.drained) throw new Error('connection refused');
    if (model.probesUntilReady > 0) {
      model.probesUntilReady -= 1;
      return new Response('starting', { status: 503 });
    }
    return new Response('ok');
  };
  const agent = new TestSandboxAgent(fake.ctx as unknown as ConstructorParameters<typeof TestSandboxAgent>[0], environment);
  return { agent, fake };
}

async function status(agent: Agent): Promise<AgentStatus> {
  const result = await agent.lifecycleStatus();
  if (!result.ok) throw new Error(result.error.message);
  return result.status;
}

async function untilState(agent: Agent, state: string) {
  await vi.waitFor(async () => expect((await status(agent)).state).toBe(state), { timeout: 3000, interval: 10 });
}

/** Moves the clock to the controller's next schedule row and runs the Container's alarm. */
async function runDueSchedule(agent: Agent, fake: ReturnType<typeof makeFakeCtx>) {
  const rows = fake.ctx.storage.sql.exec('SELECT time FROM container_schedules WHERE callback = ?', 'onLifecycleWakeup').toArray();
  expect(rows.length).toBe(1);
  vi.setSystemTime(Number(rows[0]?.time) * 1000 + 1000);
  await runAlarm(agent);
}

/** Runs the Container's alarm. While the container runs, the library's alarm keeps the DO alive with a wait: end that wait once it began. */
async function runAlarm(agent: Agent) {
  const library = agent as unknown as { resolve: (() => void) | undefined };
  library.resolve = undefined;
  const waiting = () => library.resolve;
  let finished = false;
  const done = agent.alarm().then(() => {
    finished = true;
  });
  await vi.waitFor(() => expect(finished || waiting() !== undefined).toBe(true), { timeout: 3000, interval: 2 });
  waiting()?.();
  await done;
}

describe('Agent (production Sandbox class, fake ctx.container)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 10, 24, 12));
  });
  afterEach(() => vi.useRealTimers());

  describe('constructor', () => {
    it('should construct on a DO that has a container, and throw without one', () => {
      expect(() => setup()).not.toThrow();
      const { ctx } = makeFakeCtx();
      expect(() => new Agent({ ...ctx, container: undefined } as unknown as ConstructorParameters<typeof Agent>[0], env)).toThrow(
        /Containers have not been enabled/,
      );
    });
  });

  describe('lifecycleCommand', () => {
    it('should start the container and reach ready through the gateway readiness check', async () => {
      const { agent, fake } = setup();
      const woken = await agent.lifecycleCommand('wake');
      expect(woken).toMatchObject({ ok: true, status: { state: 'booting', runtime: 'sandbox' } });
      await untilState(agent, 'ready');
      expect(fake.control.starts).toBe(1);
      expect(TestSandboxAgent.model.env).toMatchObject({ OPENCLAW_GATEWAY_TOKEN: 'tok-sandbox', GATEWAY_PORT: '18789' });
      // The agent's browser host is intercepted for this container only, to the Worker's ContainerProxy, not all egress.
      expect(fake.control.intercepted.get('browser.ondemand.internal')).toMatchObject({
        containerId: 'fake-default',
        className: 'TestSandboxAgent',
        interceptAll: false,
      });
      expect(fake.control.intercepted.has('*')).toBe(false);
      // Its HTTPS too (interceptHttps), to the same entrypoint; the container is told to trust the platform's CA.
      expect(fake.control.interceptedHttps.get('browser.ondemand.internal')).toMatchObject({ containerId: 'fake-default', interceptAll: false });
      expect([...fake.control.interceptedHttps.keys()]).toEqual(['browser.ondemand.internal']);
      expect(fake.control.lastStart?.env).toMatchObject({ SANDBOX_INTERCEPT_HTTPS: '1' });
    });

    it('should give up on a boot the start script reports as failed, with its reason', async () => {
      const { agent } = setup();
      TestSandboxAgent.model.failure = 'openclaw.json is not valid JSON; it was left untouched';
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'stopped');
      expect((await status(agent)).lastError).toMatchObject({ code: 'config_unreadable' });
    });
  });

  describe('schedule', () => {
    it('should keep its timers in the Container schedule table, not in its own alarm()', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      const rows = fake.ctx.storage.sql.exec('SELECT callback FROM container_schedules').toArray();
      expect(rows).toEqual([{ callback: 'onLifecycleWakeup' }]);
      expect(Object.hasOwn(Agent.prototype, 'alarm')).toBe(false);
    });

    it('should go idle → sleeping through the library alarm and stop the container with SIGTERM', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      for (let i = 0; i < 10 && (await status(agent)).state === 'ready'; i++) await runDueSchedule(agent, fake);
      expect((await status(agent)).state).toBe('idle');
      for (let i = 0; i < 30 && (await status(agent)).state === 'idle' && (await status(agent)).stopping === null; i++) {
        await runDueSchedule(agent, fake);
      }
      await untilState(agent, 'sleeping');
      expect(fake.control.running).toBe(false);
      expect(fake.control.signals).toContain(15);
      expect((await status(agent)).meter.running).toBe(false);
    });
  });

  describe('onStop', () => {
    it('should notice a container that exited by itself', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      fake.control.crash(137);
      // The platform reports the exit through the monitor; the library then calls onStop.
      await agent.onStop({ exitCode: 137, reason: 'exit' });
      await untilState(agent, 'stopped');
      expect((await status(agent)).lastError).toMatchObject({ code: 'container_exited' });
    });

    it('should not treat its own stop as a crash', async () => {
      const { agent } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      await agent.lifecycleCommand('sleep');
      await untilState(agent, 'sleeping');
      expect((await status(agent)).lastError).toBeNull();
    });
  });

  describe('onActivityExpired', () => {
    it('should stop a stray container that runs while the assistant sleeps', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      await agent.lifecycleCommand('sleep');
      await untilState(agent, 'sleeping');
      await agent.start(); // e.g. a stray request through the Sandbox API started it again
      expect(fake.control.running).toBe(true);
      await agent.onActivityExpired();
      expect(fake.control.running).toBe(false);
      expect((await status(agent)).state).toBe('sleeping');
    });

    it('should leave a container alone while the assistant is ready', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      await agent.onActivityExpired();
      expect(fake.control.running).toBe(true);
      expect((await status(agent)).state).toBe('ready');
    });
  });

  describe('fetch', () => {
    it('should proxy to the gateway port once ready and answer 503 while booting', async () => {
      const { agent } = setup();
      TestSandboxAgent.model.probesUntilReady = 1_000;
      const booting = await agent.fetch(new Request('https://poc.example.com/v1/models'));
      expect(booting.status).toBe(503);
      TestSandboxAgent.model.probesUntilReady = 0;
      await untilState(agent, 'ready');
      const proxied = await agent.fetch(new Request('https://poc.example.com/v1/models'));
      expect(await proxied.json()).toEqual({ gateway: 'sandbox-fake', path: '/v1/models' });
    });
  });

  describe('configuration', () => {
    it('should answer not_configured at the first request when production backups lack their R2 settings, naming them', async () => {
      const { BACKUP_TRANSFER: _binding, ...production } = env as unknown as Record<string, unknown>;
      const { agent } = setup(production as unknown as Env);
      const answer = await agent.lifecycleStatus();
      expect(answer).toMatchObject({ ok: false, error: { code: 'not_configured' } });
      const message = (answer as unknown as { error: { message: string } }).error.message;
      for (const name of ['BACKUP_BUCKET_NAME', 'CLOUDFLARE_ACCOUNT_ID', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY']) expect(message).toContain(name);
    });

    it('should start when the R2 settings for presigned backups are all there', async () => {
      const { BACKUP_TRANSFER: _binding, ...production } = env as unknown as Record<string, unknown>;
      const { agent } = setup({
        ...production,
        BACKUP_BUCKET_NAME: 'b',
        CLOUDFLARE_ACCOUNT_ID: 'a',
        R2_ACCESS_KEY_ID: 'k',
        R2_SECRET_ACCESS_KEY: 's',
      } as unknown as Env);
      expect(await agent.lifecycleStatus()).toMatchObject({ ok: true, status: { state: 'stopped' } });
    });

    it("should set the platform's sleepAfter through the SDK (persisted), as a backstop 1.5 × SLEEP_AFTER", async () => {
      const { agent, fake } = setup();
      await agent.lifecycleStatus();
      expect(await fake.ctx.storage.get('sleepAfter')).toBe(900); // SLEEP_AFTER 10m → 15 min
    });
  });

  describe('renewActivityTimeout', () => {
    it('should let the platform backstop fire sleepAfter × 1.5 after the last request, however often the Agent itself calls the container', async () => {
      const { agent } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      const start = Date.now();
      const expired = vi.spyOn(agent, 'onActivityExpired');
      vi.setSystemTime(start + 14 * 60_000);
      await agent.lifecycleBackup("the Agent's own call, not a person's"); // exec in the container
      vi.setSystemTime(start + 16 * 60_000);
      await runAlarm(agent);
      expect(expired).toHaveBeenCalled();
    });

    it("should push the backstop back for a person's request", async () => {
      const { agent } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      const start = Date.now();
      const expired = vi.spyOn(agent, 'onActivityExpired');
      vi.setSystemTime(start + 14 * 60_000);
      await agent.fetch(new Request('https://poc.example.com/v1/models'));
      vi.setSystemTime(start + 16 * 60_000);
      await runAlarm(agent);
      expect(expired).not.toHaveBeenCalled();
    });
  });

  describe('stop', () => {
    it('should drain the gateway (its own SIGTERM, then its exit) before the container gets SIGTERM', async () => {
      const { agent, fake } = setup();
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      await agent.lifecycleCommand('sleep');
      await untilState(agent, 'sleeping');
      expect(TestSandboxAgent.model.commands.some((c) => c.startsWith('kill -TERM'))).toBe(true);
      expect(fake.control.signals).toContain(15);
      expect((await status(agent)).lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0 });
    });

    it('should pass OPENAI_MODEL and OPENCLAW_MODEL to the container', async () => {
      const { agent } = setup({ ...env, OPENAI_MODEL: 'gpt-x', OPENCLAW_MODEL: 'compat/gpt-x' } as unknown as Env);
      await agent.lifecycleCommand('wake');
      await untilState(agent, 'ready');
      expect(TestSandboxAgent.model.env).toMatchObject({ OPENAI_MODEL: 'gpt-x', OPENCLAW_MODEL: 'compat/gpt-x' });
    });
  });
});
