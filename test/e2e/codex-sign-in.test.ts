/**
 * The operator's ChatGPT/Codex subscription in the local mode, with the real
 * OpenClaw and no API key: a boot with no key and no sign-in still brings the
 * gateway up; `clawctl login codex` signs in through OpenClaw's own
 * device-code flow against a recorded stand-in of OpenAI's sign-in and model
 * endpoints at their real hostnames (test/support/codex-standin.ts, reached
 * through HTTPS_PROXY with a CA the gateway trusts); the sign-in is backed up
 * at once; a chat turn is answered on the subscription's route; after a
 * sleep and a wake (the home restored from the backup) a turn still is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import type { ModelSignIn } from '../../src/agent/model-sign-in.ts';
import { SIGN_IN_BACKUP_REASON } from '../../src/agent/agent-controller.ts';
import { startCodexStandIn, type CodexStandIn } from '../support/codex-standin.ts';
import { clawctl } from '../support/clawctl-run.ts';
import { post, startLocalStack, until, type LocalStack } from '../support/node-local-stack.ts';

let stack: LocalStack;
let standIn: CodexStandIn;

async function status(): Promise<AgentStatus> {
  return (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;
}

async function chat(content: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'wait=240' },
    body: JSON.stringify({ model: 'openclaw', user: 'codex-e2e', messages: [{ role: 'user', content }] }),
  });
  const body = (await r.json()) as { choices?: Array<{ message: { content: string } }> };
  return { status: r.status, text: body.choices?.[0]?.message.content ?? JSON.stringify(body) };
}

describe('ChatGPT/Codex subscription sign-in (local mode, real OpenClaw)', () => {
  beforeAll(async () => {
    standIn = await startCodexStandIn();
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      LOCAL_MOCK_LLM: 'off',
      LOCAL_BROWSER: 'off',
      SLEEP_AFTER: '10m',
      // Long: the sign-in's backup must not wait for it.
      BACKUP_DEBOUNCE: '10m',
      ...standIn.env,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await standIn?.close();
  });

  it('should boot without a key or a sign-in, and say how to sign in', async () => {
    expect((await post(`${stack.url}/api/wake`)).status).toBe(202);
    const s = await until(async () => {
      const x = await status();
      if (x.lastError) throw new Error(`boot failed: ${x.lastError.code}: ${x.lastError.message}`);
      return x.state === 'ready' ? x : undefined;
    }, 180_000, 'ready without a model key');
    expect(s.lastError).toBeNull();
    const signIn = (await (await fetch(`${stack.url}/api/login`)).json()) as ModelSignIn;
    expect(signIn.state).toBe('idle');
    expect(signIn.message).toContain('clawctl login codex');
  }, 240_000);

  it('should sign in with `clawctl login codex` through the device-code flow, and back the sign-in up at once', async () => {
    const run = clawctl(['login', 'codex', '--url', stack.url], {}, 300_000);
    // The operator enters the code shown on OpenAI's page: the stand-in's approval.
    const code = await until(async () => standIn.userCodes.at(-1), 120_000, 'a device code requested');
    standIn.approve(code);
    const result = await run;
    expect(result.stderr).toContain(code);
    expect(result.stderr).toContain('https://auth.openai.com/codex/device');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('openai:operator@example.com');
    const signIn = (await (await fetch(`${stack.url}/api/login`)).json()) as ModelSignIn;
    expect(signIn).toMatchObject({ state: 'signed-in', profile: 'openai:operator@example.com', userCode: code });
    // Backed up at once (BACKUP_DEBOUNCE is 10 minutes here).
    const backed = await until(async () => (await status()).backups.history.find((e) => e.reason === SIGN_IN_BACKUP_REASON && e.result === 'ok'), 60_000, 'the sign-in backed up');
    expect(backed.id).toBeTruthy();
    expect(standIn.requests.filter((r) => r.host === 'auth.openai.com' && r.path === '/oauth/token' && r.status === 200)).toHaveLength(1);
  }, 360_000);

  it('should answer a chat turn on the subscription route, with the stored sign-in', async () => {
    const turn = await chat('hello from the subscription');
    expect(turn.status, turn.text).toBe(200);
    expect(turn.text).toContain('codex answer:');
    expect(standIn.turns.some((t) => t.includes('hello from the subscription')), JSON.stringify(standIn.turns)).toBe(true);
    const used = standIn.requests.filter((r) => r.host === 'chatgpt.com' && r.path === '/backend-api/codex/responses' && r.status === 200);
    expect(used.at(-1)?.bearer).toBe(standIn.current().access);
  }, 300_000);

  it('should still answer after a sleep and a wake (the sign-in restored from the backup)', async () => {
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    const before = standIn.turns.length;
    const turn = await chat('still signed in after a sleep?');
    expect(turn.status, turn.text).toBe(200);
    expect(turn.text).toContain('codex answer:');
    expect(standIn.turns.length).toBeGreaterThan(before);
    const s = await status();
    expect(s.backups.lastRestore?.result).toBe('ok');
  }, 360_000);
});
