/**
 * Persistence in the local mode, for real: the local host wipes the
 * assistant's home at every boot (as a new container's disk is empty), so
 * whatever survives a sleep, a hibernation or a crash came back from a backup
 * in the (emulated) R2 bucket.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { keepAwake, killRuntime, post, ROOT, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { lastModelRequestMentions as modelLogMentions } from '../support/model-log.ts';
import { runSoak, SOAK_STACK_ENV } from '../support/soak.ts';
import { ageBackups, persistedBucket } from '../support/r2-aging.ts';

let lastStatus: AgentStatus | null = null;
async function status(stack: LocalStack): Promise<AgentStatus> {
  lastStatus = (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;
  return lastStatus;
}

function waitFor(stack: LocalStack, check: (s: AgentStatus) => boolean, what: string, ms = 60_000) {
  return until(
    async () => {
      const s = await status(stack);
      if (s.state === 'stopped' && s.lastError && what !== 'stopped') throw new Error(`${what}: ${s.lastError.code}: ${s.lastError.message}`);
      return check(s) ? s : undefined;
    },
    ms,
    what,
    100,
  );
}
const settled = (state: string) => (s: AgentStatus) => s.state === state && s.stopping === null;

async function wake(stack: LocalStack) {
  await post(`${stack.url}/api/wake`);
  return waitFor(stack, settled('ready'), 'ready', 120_000);
}

const DEBOUNCE_MS = 5_000;

async function chat(stack: LocalStack, content: string, user = 'persistence'): Promise<string> {
  const r = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user, messages: [{ role: 'user', content }] }),
  });
  const body = (await r.json()) as { choices?: Array<{ message: { content: string } }> };
  return body.choices?.[0]?.message.content ?? JSON.stringify(body);
}

/** Whether the conversation's earlier turns reach the model with its next turn. */
async function lastModelRequestMentions(stack: LocalStack, user: string, word: string): Promise<boolean> {
  await chat(stack, 'what was the word?', user);
  return modelLogMentions(join(stack.stateDir, 'mock-llm.jsonl'), word);
}

describe('persistence with the real OpenClaw (local mode)', () => {
  let stack: LocalStack;
  let home: string;
  beforeAll(async () => {
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      SLEEP_AFTER: '6s',
      QUIET_AFTER: '2s',
      BACKUP_INTERVAL: '10m',
      BACKUP_DEBOUNCE: `${DEBOUNCE_MS}ms`,
      CHANGE_CHECK_INTERVAL: '2s',
      HEALTH_INTERVAL: '1s',
    });
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
    const wrote = await chat(
      stack,
      '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo marker-7a1 > "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt" && echo done]]',
    );
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

  it('should keep everything when the runtime is killed with SIGKILL: what no backup had is recovered from the home at the next boot', async () => {
    await wake(stack);
    writeFileSync(join(home, '.openclaw', 'workspace', 'unsaved.txt'), 'written just before the kill');
    expect(killRuntime(home)).toBeGreaterThan(0);
    await waitFor(stack, (s) => s.state === 'stopped' && s.lastError?.code === 'container_exited', 'stopped', 30_000);
    await wake(stack);
    const s = await status(stack);
    expect(s.backups.history.some((e) => e.reason === 'recovered at boot' && e.result === 'ok')).toBe(true);
    expect(readFileSync(join(home, '.openclaw', 'workspace', 'unsaved.txt'), 'utf8')).toBe('written just before the kill');
  }, 240_000);

  it('should have backed up a file and a chat turn BACKUP_DEBOUNCE after they were written, before a SIGKILL that also loses the disk', async () => {
    await wake(stack);
    expect(await chat(stack, '[[exec: echo debounced-5c2 > "$OPENCLAW_STATE_DIR/workspace/debounced.txt" && echo ok]]', 'debounce-e2e')).toBe(
      'Tool output: ok',
    );
    expect(await chat(stack, 'remember the word walrus-83e', 'debounce-e2e')).toBe('mock answer: remember the word walrus-83e');
    await keepAwake(stack, DEBOUNCE_MS + 10_000); // in use all along: no idle sleep (and its backup) meanwhile
    expect(killRuntime(home)).toBeGreaterThan(0);
    await waitFor(stack, (s) => s.state === 'stopped' && s.lastError?.code === 'container_exited', 'stopped', 30_000);
    rmSync(home, { recursive: true, force: true }); // a container's disk goes with the container
    await wake(stack);
    const restored = (await status(stack)).backups.lastRestore;
    expect(restored?.result).toBe('ok');
    expect((await status(stack)).backups.history.find((e) => e.id === restored?.id)?.reason).toBe('changed');
    expect(await chat(stack, '[[exec: cat "$OPENCLAW_STATE_DIR/workspace/debounced.txt"]]', 'debounce-e2e')).toBe('Tool output: debounced-5c2');
    expect(await lastModelRequestMentions(stack, 'debounce-e2e', 'walrus-83e')).toBe(true);
  }, 240_000);
});

describe('Ctrl-C is a sleep (local mode, real OpenClaw)', () => {
  it('should back up on Ctrl-C, with progress on the terminal, and have the file and the chat turn after the next start', async () => {
    const first = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m', BACKUP_INTERVAL: '10m', CHANGE_CHECK_INTERVAL: '10m' });
    const stateDir = first.stateDir;
    let second: LocalStack | null = null;
    try {
      await wake(first);
      expect(await chat(first, '[[exec: echo ctrl-c-9d1 > "$OPENCLAW_STATE_DIR/workspace/ctrl-c.txt" && echo ok]]', 'ctrl-c-e2e')).toBe('Tool output: ok');
      expect(await chat(first, 'remember the word heron-2b7', 'ctrl-c-e2e')).toBe('mock answer: remember the word heron-2b7');
      expect(await first.interrupt()).toBe(0);
      expect(first.output()).toContain('putting the assistant to sleep first');
      expect(first.output()).toMatch(/sleeping after \d+\.\d s — last backup ok \(before sleep/);
      // The next start: a new home (as a container's disk would be), restored from that backup.
      rmSync(join(stateDir, 'agents', 'default', 'home'), { recursive: true, force: true });
      second = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m' }, 90_000, { stateDir });
      await wake(second);
      expect(await chat(second, '[[exec: cat "$OPENCLAW_STATE_DIR/workspace/ctrl-c.txt"]]', 'ctrl-c-e2e')).toBe('Tool output: ctrl-c-9d1');
      expect(await lastModelRequestMentions(second, 'ctrl-c-e2e', 'heron-2b7')).toBe(true);
    } finally {
      if (second) await second.stop();
      else rmSync(stateDir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('persistence soak (local mode, stand-in gateway)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack(SOAK_STACK_ENV);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('should lose nothing over 20 wake → write → sleep or kill cycles', async () => {
    const result = await runSoak(stack, 20, { seed: 7 });
    if (result.lost.length) {
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      writeFileSync(join(ROOT, 'test-results', 'e2e-soak.log'), `${JSON.stringify(result, null, 2)}\n${stack.output()}`);
    }
    expect(result.lost).toEqual([]);
    expect(result.endings.kill + result.endings['kill-and-lose-disk']).toBeGreaterThan(0);
    expect(result.endings.sleep).toBeGreaterThan(0);
  }, 900_000);
});

describe('a dormancy of 90 days (local mode, real OpenClaw)', () => {
  it('should wake with its data after 90 days of hibernation: the bucket as Terraform configures it keeps the newest backup', async () => {
    const first = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m', BACKUP_INTERVAL: '10m', CHANGE_CHECK_INTERVAL: '10m' });
    const stateDir = first.stateDir;
    let second: LocalStack | null = null;
    try {
      await wake(first);
      expect(await chat(first, '[[exec: echo dormant-90d > "$OPENCLAW_STATE_DIR/workspace/dormant.txt" && echo ok]]', 'dormant-e2e')).toBe('Tool output: ok');
      expect((await post(`${first.url}/api/hibernate`, { reason: 'a long dormancy' })).status).toBe(202);
      await waitFor(first, settled('hibernated'), 'hibernated');
      expect(await first.interrupt()).toBe(0);
      // 90 days pass: the container's disk is long gone, and the lifecycle rules as deployed have run on the bucket.
      rmSync(join(stateDir, 'agents', 'default', 'home'), { recursive: true, force: true });
      const bucket = await persistedBucket(join(stateDir, 'wrangler'), 'openclaw-ondemand-local-backups');
      try {
        const aged = await ageBackups(bucket, 90);
        expect(aged.objects).toBeGreaterThan(0);
        expect(aged.deleted, `the lifecycle rules deleted: ${aged.deleted.join(', ')}`).toEqual([]);
      } finally {
        await bucket.dispose();
      }
      second = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m' }, 90_000, { stateDir });
      expect((await post(`${second.url}/api/resume`)).status).toBe(200);
      await wake(second);
      expect((await status(second)).backups.lastRestore).toMatchObject({ result: 'ok' });
      expect(await chat(second, '[[exec: cat "$OPENCLAW_STATE_DIR/workspace/dormant.txt"]]', 'dormant-e2e')).toBe('Tool output: dormant-90d');
    } finally {
      await second?.stop();
      await first.stop();
    }
  }, 360_000);
});
