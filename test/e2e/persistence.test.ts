/**
 * Persistence in the local mode, for real: the local host wipes the
 * assistant's home at every boot (as a new container's disk is empty), so
 * whatever survives a sleep, a hibernation or a crash came back from a backup
 * in the (emulated) R2 bucket.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { post, processAlive, ROOT, startLocalStack, until, type LocalStack } from '../support/node-local-stack.ts';

let lastStatus: AgentStatus | null = null;
async function status(stack: LocalStack): Promise<AgentStatus> {
  lastStatus = (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;
  return lastStatus;
}

function waitFor(stack: LocalStack, check: (s: AgentStatus) => boolean, what: string, ms = 60_000) {
  return until(async () => {
    const s = await status(stack);
    if (s.state === 'stopped' && s.lastError && what !== 'stopped') throw new Error(`${what}: ${s.lastError.code}: ${s.lastError.message}`);
    return check(s) ? s : undefined;
  }, ms, what, 100);
}
const settled = (state: string) => (s: AgentStatus) => s.state === state && s.stopping === null;

async function wake(stack: LocalStack) {
  await post(`${stack.url}/api/wake`);
  return waitFor(stack, settled('ready'), 'ready', 120_000);
}

async function chat(stack: LocalStack, content: string): Promise<string> {
  const r = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user: 'persistence', messages: [{ role: 'user', content }] }),
  });
  const body = (await r.json()) as { choices?: Array<{ message: { content: string } }> };
  return body.choices?.[0]?.message.content ?? JSON.stringify(body);
}

describe('persistence with the real OpenClaw (local mode)', () => {
  let stack: LocalStack;
  let home: string;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '6s', QUIET_AFTER: '2s', BACKUP_INTERVAL: '10s', HEALTH_INTERVAL: '1s' });
    home = join(stack.stateDir, 'agents', 'default', 'home');
  }, 120_000);
  // A failure here is a data loss: keep the whole stack's output to find out why.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') {
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      writeFileSync(join(ROOT, 'test-results', `e2e-persistence-${context.task.id}.log`), `${JSON.stringify(lastStatus, null, 2)}\n${stack.output()}`);
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('should keep a workspace file and a config change made just before the idle timeout', async () => {
    await wake(stack);
    const wrote = await chat(stack, '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo marker-7a1 > "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt" && echo done]]');
    expect(wrote).toBe('Tool output: done');
    const configFile = join(home, '.openclaw', 'openclaw.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    config.agents.defaults.heartbeat.every = '45m';
    writeFileSync(configFile, JSON.stringify(config, null, 2));

    await waitFor(stack, settled('sleeping'), 'auto-sleep', 60_000);
    const asleep = await status(stack);
    expect(asleep.backups.history.some((e) => e.kind === 'backup' && e.reason.startsWith('before sleep') && ['ok', 'unchanged'].includes(e.result))).toBe(true);

    await wake(stack);
    expect((await status(stack)).backups.lastRestore).toMatchObject({ result: 'ok' });
    expect(readFileSync(join(home, '.openclaw', 'workspace', 'notes', 'marker.txt'), 'utf8').trim()).toBe('marker-7a1');
    expect(JSON.parse(readFileSync(configFile, 'utf8')).agents.defaults.heartbeat.every).toBe('45m');
    expect(await chat(stack, '[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt"]]')).toBe('Tool output: marker-7a1');
  }, 240_000);

  it('should keep data across hibernate and resume', async () => {
    await wake(stack);
    writeFileSync(join(home, '.openclaw', 'workspace', 'hibernated.txt'), 'kept through hibernation');
    const h = await post(`${stack.url}/api/hibernate`, { reason: 'e2e' });
    expect(h.status).toBe(202);
    await waitFor(stack, settled('hibernated'), 'hibernated');
    expect((await post(`${stack.url}/api/resume`)).status).toBe(200);
    await wake(stack);
    expect(readFileSync(join(home, '.openclaw', 'workspace', 'hibernated.txt'), 'utf8')).toBe('kept through hibernation');
  }, 240_000);

  it('should keep data older than one backup interval when the runtime is killed with SIGKILL', async () => {
    await wake(stack);
    // Keep it awake (requests count as activity) while waiting for the periodic backup.
    const keepAwake = setInterval(() => void fetch(`${stack.url}/healthz`).catch(() => {}), 1_000);
    const before = (await status(stack)).backups.history.length;
    writeFileSync(join(home, '.openclaw', 'workspace', 'old.txt'), 'backed up');
    const backedUp = await waitFor(
      stack,
      (s) => s.backups.history.slice(before).some((e) => e.kind === 'backup' && e.reason === 'periodic' && e.result === 'ok'),
      'a periodic backup',
      60_000,
    );
    expect(backedUp.backups.lastBackup?.result).toBe('ok');
    writeFileSync(join(home, '.openclaw', 'workspace', 'new.txt'), 'not backed up yet');
    clearInterval(keepAwake);
    // Kill every process of the runtime (the container dies).
    const pids = findGatewayPids();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(stack, (s) => s.state === 'stopped' && s.lastError?.code === 'container_exited', 'stopped', 30_000);
    await wake(stack);
    expect(readFileSync(join(home, '.openclaw', 'workspace', 'old.txt'), 'utf8')).toBe('backed up');
    expect(existsSync(join(home, '.openclaw', 'workspace', 'new.txt'))).toBe(false);
  }, 240_000);

  function findGatewayPids(): number[] {

    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
        if (environ.includes(`OPENCLAW_HOME=${home}\0`) && processAlive(Number(entry))) out.push(Number(entry));
      } catch {
        // not ours, or gone
      }
    }
    return out;
  }
});

describe('persistence soak (local mode, stand-in gateway)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', SLEEP_AFTER: '2s', QUIET_AFTER: '1s', HEALTH_INTERVAL: '1s' });
  }, 120_000);
  // A failure here is a data loss: keep the whole stack's output to find out why.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') {
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      writeFileSync(join(ROOT, 'test-results', `e2e-persistence-${context.task.id}.log`), `${JSON.stringify(lastStatus, null, 2)}\n${stack.output()}`);
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('should lose nothing over 20 wake → write → auto-sleep cycles', async () => {
    const CYCLES = 20;
    const home = join(stack.stateDir, 'agents', 'default', 'home');
    const lost: string[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await wake(stack);
      for (let earlier = 0; earlier < cycle; earlier++) {
        const file = join(home, 'data', `file-${earlier}.txt`);
        if (!existsSync(file) || readFileSync(file, 'utf8') !== `cycle ${earlier}\n`.repeat(earlier + 1)) lost.push(`cycle ${cycle}: file-${earlier}`);
      }
      mkdirSync(join(home, 'data'), { recursive: true });
      writeFileSync(join(home, 'data', `file-${cycle}.txt`), `cycle ${cycle}\n`.repeat(cycle + 1));
      await waitFor(stack, settled('sleeping'), `auto-sleep ${cycle}`, 30_000);
    }
    expect(lost).toEqual([]);
    await wake(stack);
    const files = readdirSync(join(home, 'data'));
    expect(files).toHaveLength(CYCLES);
  }, 600_000);
});
