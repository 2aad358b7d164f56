/**
 * The operator's ChatGPT/Codex subscription in the local mode, with the real
 * OpenClaw and no API key: a boot with no key and no sign-in still brings the
 * gateway up; `clawctl login codex` signs in through OpenClaw's own
 * device-code flow against a recorded stand-in of OpenAI's sign-in and model
 * endpoints at their real hostnames (test/support/codex-standin.ts, reached
 * through HTTPS_PROXY with a CA the gateway trusts); the sign-in is backed up
 * at once; a chat turn is answered on the subscription's route; after a
 * sleep and a wake (the home restored from the backup) a turn still is; a
 * refresh that rotates the token is backed up at once, so a crash that loses
 * the home (as a container's disk is lost) inside BACKUP_DEBOUNCE still wakes
 * with the newest token, not a revoked one.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import type { ModelSignIn } from '../../src/agent/model-sign-in.ts';
import { CREDENTIALS_BACKUP_REASON, SIGN_IN_BACKUP_REASON } from '../../src/agent/model-access.ts';
import { startCodexStandIn, type CodexStandIn } from '../support/codex-standin.ts';
import { clawctl } from '../support/clawctl-run.ts';
import { chromiumMissing, withChromiumPage } from '../support/control-ui.ts';
import {
  ACCESS_LIFETIME_S,
  connectInControlUi,
  revokedSaysSignInAgain,
  rotateWithTurns,
  signInWithClawctl,
  untilNewestTokenBackedUp,
} from '../support/codex-scenarios.ts';
import { killRuntime, post, ROOT, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';

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

/** What the stand-in saw last, for a failure's message: when, what, with which token (its serial). */
function standInLog(): string {
  const serial = (bearer: string | null) =>
    bearer ? (JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString()) as { serial?: number }).serial : null;
  const seen = standIn.requests.slice(-10).map((r) => `${new Date(r.at).toISOString()} ${r.method} ${r.host}${r.path} token ${serial(r.bearer)} → ${r.status}`);
  const now = standIn.current();
  return `the stand-in saw ${JSON.stringify(seen)}; its refreshes ${now.refreshes}, the newest minted ${new Date(now.mintedAt).toISOString()}`;
}

describe('ChatGPT/Codex subscription sign-in (local mode, real OpenClaw)', () => {
  beforeAll(async () => {
    standIn = await startCodexStandIn();
    // Access tokens that live 5½ minutes: 30 s after minting they are inside OpenClaw's 5-minute refresh margin,
    // and the next turn refreshes (and rotates) them.
    standIn.setAccessLifetime(ACCESS_LIFETIME_S);
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
    const s = await until(
      async () => {
        const x = await status();
        if (x.lastError) throw new Error(`boot failed: ${x.lastError.code}: ${x.lastError.message}`);
        return x.state === 'ready' ? x : undefined;
      },
      180_000,
      'ready without a model key',
    );
    expect(s.lastError).toBeNull();
    expect(s.model).toMatchObject({ route: 'subscription', model: 'openai/gpt-6-astra' });
    expect(s.model.detail).toContain('no model connected');
    expect(s.model.detail).toContain('clawctl login codex');
    const shown = await clawctl(['status', '--url', stack.url]);
    expect(shown.stdout).toContain('no model connected');
    // A chat turn says it too, in place of OpenClaw's own words.
    const turn = await chat('anyone there?');
    expect(turn.status).toBe(401);
    expect(JSON.parse(turn.text)).toMatchObject({ error: { code: 'model_not_connected', type: 'authentication_error' } });
    expect(turn.text).toContain('clawctl login codex');
    const signIn = (await (await fetch(`${stack.url}/api/login`)).json()) as ModelSignIn;
    expect(signIn.state).toBe('idle');
    expect(signIn.message).toContain('clawctl login codex');
  }, 240_000);

  it('should sign in with `clawctl login codex` through the device-code flow, and back the sign-in up at once', async () => {
    const startedAt = new Date().toISOString();
    const code = await signInWithClawctl(stack.url, standIn);
    const signIn = (await (await fetch(`${stack.url}/api/login`)).json()) as ModelSignIn;
    expect(signIn).toMatchObject({ state: 'signed-in', profile: 'openai:operator@example.com', userCode: code });
    // Backed up at once (BACKUP_DEBOUNCE is 10 minutes here).
    // By the change check or by the sign-in's own backup, whichever comes first (the other finds it unchanged).
    const backed = await until(
      async () =>
        (await status()).backups.history.find(
          (e) => [SIGN_IN_BACKUP_REASON, CREDENTIALS_BACKUP_REASON].includes(e.reason) && e.result === 'ok' && e.at > startedAt,
        ),
      60_000,
      'the sign-in backed up',
    );
    expect(backed.id).toBeTruthy();
    const s = await until(async () => ((await status()).model.signIn?.profile ? status() : undefined), 30_000, 'the sign-in in the status');
    expect(s.model.signIn).toMatchObject({ profile: 'openai:operator@example.com', status: expect.stringMatching(/^(ok|expiring)$/) });
    expect(s.model.detail).toContain('signed in as openai:operator@example.com');
    expect(JSON.stringify(s)).not.toContain(standIn.current().refresh as string);
    expect(JSON.stringify(s)).not.toContain(standIn.current().access as string);
    expect(standIn.requests.filter((r) => r.host === 'auth.openai.com' && r.path === '/oauth/token' && r.status === 200)).toHaveLength(1);
  }, 360_000);

  it('should answer a chat turn on the subscription route, with the stored sign-in', async () => {
    const turn = await chat('hello from the subscription');
    expect(turn.status, turn.text).toBe(200);
    expect(turn.text).toContain('codex answer:');
    expect(
      standIn.turns.some((t) => t.includes('hello from the subscription')),
      JSON.stringify(standIn.turns),
    ).toBe(true);
    const used = standIn.requests.filter((r) => r.host === 'chatgpt.com' && r.path === '/backend-api/codex/responses' && r.status === 200);
    expect(used.at(-1)?.bearer).toBe(standIn.current().access);
  }, 300_000);

  it('should still answer after a sleep and a wake (the sign-in restored from the backup)', async () => {
    expect((await post(`${stack.url}/api/sleep`)).status).toBe(202);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'asleep');
    const before = standIn.turns.length;
    const turn = await chat('still signed in after a sleep?');
    expect(turn.status, `${turn.text}; ${standInLog()}`).toBe(200);
    expect(turn.text).toContain('codex answer:');
    expect(standIn.turns.length).toBeGreaterThan(before);
    const s = await status();
    expect(s.backups.lastRestore?.result).toBe('ok');
  }, 360_000);

  it('should back a rotated refresh token up at once, so a crash that loses the home wakes with the newest token', async () => {
    // Into the refresh margin of the current token (a wait the token's own lifetime sets, not a race), and a turn.
    const refreshedAt = await rotateWithTurns(standIn, chat, { steady: true }).catch((error: Error) => {
      throw new Error(`${error.message}; ${standInLog()}`);
    });
    // Backed up by the change check (seconds), not after BACKUP_DEBOUNCE (10 minutes here) — the newest token, should
    // OpenClaw have rotated it again meanwhile.
    const { backup } = await untilNewestTokenBackedUp(standIn, status, 60_000).catch(async (error: Error) => {
      const s = await status();
      throw new Error(
        `${error.message}; the refresh at ${refreshedAt}; ${standInLog()}; the model ${JSON.stringify(s.model)}; the backups ${JSON.stringify(s.backups.history.slice(-4))}`,
      );
    });
    const rotated = standIn.current();
    // A crash: the gateway killed, and the home gone with it (a container's disk does not survive one).
    const home = join(stack.stateDir, 'agents', 'default', 'home');
    expect(killRuntime(home)).toBeGreaterThan(0);
    await until(async () => ((await status()).state === 'stopped' ? true : undefined), 60_000, 'the crash noticed');
    rmSync(home, { recursive: true, force: true });
    expect((await post(`${stack.url}/api/wake`)).status).toBe(202);
    const answer = await chat('still signed in after the crash?');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toContain('codex answer:');
    // The turn ran on tokens minted from the rotated refresh token, never on a revoked one.
    expect(standIn.requests.filter((r) => r.host === 'auth.openai.com' && r.path === '/oauth/token' && r.status !== 200)).toEqual([]);
    expect(standIn.current().refreshes).toBeGreaterThanOrEqual(rotated.refreshes);
    const s = await status();
    expect(s.backups.lastRestore?.id).toBe(backup?.id);
  }, 480_000);

  it('should sign in again from the status page in Chromium: one click, the code shown, the sign-in stored', async (context) => {
    const missing = chromiumMissing();
    if (missing) return context.skip(missing);
    await withChromiumPage(async (page) => {
      await page.goto(`${stack.url}/_ondemand/`);
      await page.getByRole('button', { name: 'Sign in to ChatGPT' }).click();
      const codes = standIn.userCodes.length;
      const shown = await until(
        async () =>
          (await page
            .getByTestId('user-code')
            .textContent()
            .catch(() => null)) || undefined,
        60_000,
        'the code on the page',
      );
      expect(standIn.userCodes.length).toBe(codes + 1);
      expect(shown).toBe(standIn.userCodes.at(-1));
      expect(await page.getByRole('link', { name: 'https://auth.openai.com/codex/device' }).count()).toBe(1);
      standIn.approve(shown);
      await until(async () => ((await page.getByTestId('sign-in').textContent())?.includes('signed in') ? true : undefined), 60_000, 'signed in on the page');
      await until(
        async () => ((await page.getByTestId('model').textContent())?.includes('signed in as openai:operator@example.com') ? true : undefined),
        30_000,
        'the model card',
      );
    });
    const turn = await chat('after the sign-in from the status page');
    expect(turn.status, turn.text).toBe(200);
  }, 240_000);

  it("should sign in through the Control UI's own Connect provider in Chromium: the owner's session is the gateway's administrator", async (context) => {
    const missing = chromiumMissing();
    if (missing) return context.skip(missing);
    await connectInControlUi(stack.url, standIn, 60_000, join(ROOT, 'test-results', 'control-ui-connect-failure.png'));
    // The change check sees the new sign-in and backs it up at once.
    await until(async () => ((await status()).model.signIn?.profile === 'openai:operator@example.com' ? true : undefined), 60_000, 'the sign-in in the status');
    const turn = await chat('after the sign-in from the Control UI');
    expect(turn.status, turn.text).toBe(200);
    expect(turn.text).toContain('codex answer:');
  }, 240_000);

  it('should say "sign in again" in the status when the provider revoked the sign-in, not fail silently', async () => {
    await revokedSaysSignInAgain({
      url: stack.url,
      openai: standIn,
      turn: chat,
      status,
    });
  }, 300_000);
});
