/**
 * The ChatGPT/Codex subscription's sign-in on the production path: the
 * production Agent runs container/model-login.sh in a real container from
 * the Dockerfile (OpenClaw's device-code command under `script`, with the
 * gateway's own environment) through the Sandbox SDK and reads its log back;
 * OpenClaw reaches a recorded stand-in of OpenAI's sign-in and model
 * endpoints at their real hostnames (auth.openai.com, chatgpt.com: the
 * twin's stand-ins, at a public address, through the sidecar's TLS with the
 * interception CA the platform installs). The twin's model is the mock
 * behind OPENAI_BASE_URL, so the sign-in is an addition there: once signed
 * in, the owner makes `openai/gpt-6-astra` the default model (as in the
 * Control UI; `openclaw config set` here), which the configure step keeps at
 * every boot since a sign-in of OpenAI is stored.
 *
 * Scenarios: sign in with the clawctl binary and back the sign-in up at
 * once; a turn on the subscription; after a sleep (a presigned backup and a
 * FUSE restore) a turn still answered; a sleep asked for while a slow token
 * endpoint holds a refresh's answer, and the wake still answers on the new
 * tokens; a refresh that rotates the token, then
 * the container killed from outside (its disk gone): the next wake answers
 * with the newest token, never a revoked one; the owner signs in through
 * the Control UI's Connect provider in Chromium as well, and the
 * subscription answers on that sign-in; the provider revokes the sign-in:
 * the status, `clawctl status` and the next turn say "sign in again".
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CREDENTIALS_BACKUP_REASON, SIGN_IN_BACKUP_REASON } from '../../src/agent/model-access.ts';
import type { ModelSignIn } from '../../src/agent/model-sign-in.ts';
import { codexEndpoints, type CodexEndpoints } from '../support/codex-standin.ts';
import { chromiumMissing } from '../support/control-ui.ts';
import {
  ACCESS_LIFETIME_S,
  connectInControlUi,
  revokedSaysSignInAgain,
  rotateWithTurns,
  signInWithClawctl,
  sleepDuringRefresh,
  untilNewestTokenBackedUp,
} from '../support/codex-scenarios.ts';
import { ROOT, until } from '../../scripts/lib/local-stack.ts';
import { MOCK_MODEL_ID } from '../../container/mock-llm/server.mjs';
import { appContainer, docker, ensureAwake, inContainer, sleep, standIn, status, twinUrl, wake, waitFor, type StandIn } from './twin-client.ts';

/** The sign-in as the Worker reads it from the container's log. */
async function signInNow(): Promise<ModelSignIn> {
  return (await (await fetch(`${twinUrl()}/api/login`)).json()) as ModelSignIn;
}

/** A chat turn (on the subscription's model once the owner made it the default). */
async function subscriptionTurn(content: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${twinUrl()}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'wait=240' },
    body: JSON.stringify({ model: 'openclaw', user: 'twin-codex', messages: [{ role: 'user', content }] }),
  });
  const body = (await r.json()) as { choices?: Array<{ message: { content: string } }> };
  return { status: r.status, text: body.choices?.[0]?.message.content ?? JSON.stringify(body) };
}

/**
 * The OAuth profiles OpenClaw's shared store holds in the container (ids), and for
 * each its shape without a secret: type, the fields it has, its expiry from now and
 * which of the stand-in's refresh tokens it holds (`#N`, the serial the stand-in minted).
 */
function storedProfiles(): string {
  const script =
    "const {DatabaseSync}=require('node:sqlite');try{const d=new DatabaseSync('/home/openclaw/.openclaw/state/openclaw.sqlite',{readOnly:true});const r=d.prepare(\\\"SELECT state_key FROM config_machine_state\\\").all().map(x=>x.state_key);const v=d.prepare(\\\"SELECT value_json FROM config_machine_state WHERE state_key='authProfiles.store'\\\").get();const p=v?JSON.parse(v.value_json).profiles:null;console.log(r.join(','),p?Object.keys(p).join(','):'no store',p?JSON.stringify(Object.entries(p).map(([k,c])=>[k,c.type,Object.keys(c).sort().join('+'),typeof c.expires==='number'?Math.round((c.expires-Date.now())/1000)+'s':String(c.expires),typeof c.refresh==='string'?'#'+((/^rt-standin-(\\\\d+)-/.exec(c.refresh)||[])[1]||'?'):'no refresh'])):'')}catch(e){console.log('error',e.message)}";
  return inContainer(`node -e "${script}"; ls -la /home/openclaw/.openclaw/state/ 2>&1 | head`).trim();
}

/** The stand-in's last requests, for a failure's message: when, which token each carried (the current one or not), what a token request got, and whether the client gave up. */
function requestsSeen(openai: CodexEndpoints): string {
  const { access, refresh } = openai.current();
  return JSON.stringify({
    currentRefresh: refresh === null ? 'none' : `#${/^rt-standin-(\d+)-/.exec(refresh)?.[1] ?? '?'}`,
    requests: openai.requests
      .slice(-16)
      .map(
        (r) =>
          `${new Date(r.at).toISOString().slice(11, 23)} ${r.host}${r.path} ${r.status} ${r.bearer === null ? 'no token' : r.bearer === access ? 'current token' : 'old token'}` +
          `${r.note ? ` (${r.note})` : ''}${r.abandoned ? ' abandoned by the client' : ''}`,
      ),
  });
}

/** What the gateway's own log said about its sign-ins (the running container's), for a failure's message. */
function gatewayAuthLog(): string {
  return inContainer('cat /tmp/openclaw/*.log 2>/dev/null | grep -iE "oauth|refresh|auth.?profile|credential" | tail -n 12 | cut -c1-400 || true').trim();
}

describe.skipIf(inject('twinSkipped') !== '')('production twin: the ChatGPT/Codex subscription sign-in', () => {
  const openai = codexEndpoints();
  const hosts: StandIn[] = [];
  beforeAll(async () => {
    openai.setAccessLifetime(ACCESS_LIFETIME_S);
    for (const host of ['auth.openai.com', 'chatgpt.com']) hosts.push(await standIn(host, (req, res) => void openai.answer(host, req, req.raw, res)));
  });
  afterAll(async () => {
    // Leave the twin as the other tests expect it: the mock as the default model (the sign-in stays stored, unused),
    // in the state the next wake restores.
    await ensureAwake();
    inContainer(`OPENCLAW_HOME=/home/openclaw openclaw config set agents.defaults.model.primary compat/${MOCK_MODEL_ID} >/dev/null 2>&1; echo done`);
    await sleep();
    await Promise.all(hosts.map((h) => h.close()));
  }, 300_000);

  it("should sign in with `clawctl login codex` through OpenClaw's device-code flow in the container, and back the sign-in up at once", async () => {
    await ensureAwake();
    expect(inContainer('command -v script setsid xargs >/dev/null && test -x /container/model-login.sh && echo ok').trim()).toBe('ok');
    const startedAt = new Date().toISOString();
    const code = await signInWithClawctl(twinUrl(), openai, () => inContainer('tail -c 3000 /tmp/openclaw-boot/model-login.log'));
    const done = await signInNow();
    expect(done).toMatchObject({ state: 'signed-in', profile: 'openai:operator@example.com', userCode: code });
    // The gateway was told to reread its store (the sign-in's last step).
    expect(inContainer('tail -c 4000 /tmp/openclaw-boot/model-login.log')).toContain('__refreshed');
    // Backed up at once: by the sign-in's own backup or the credential check — or found already in the newest
    // backup (`unchanged`) when the debounced one, 10 s on the twin, took the new state first.
    const credential = await until(
      async () => {
        const s = await status();
        const b = s.model.lastCredentialBackup;
        return b && b.at > startedAt && (b.result === 'ok' || b.result === 'unchanged') ? s : undefined;
      },
      120_000,
      'the sign-in backed up',
    );
    const newest = credential.backups.history.filter((e) => e.kind === 'backup' && e.result === 'ok').at(-1);
    expect(newest && newest.at > startedAt).toBe(true);
    expect(credential.backups.history.some((e) => [SIGN_IN_BACKUP_REASON, CREDENTIALS_BACKUP_REASON].includes(e.reason))).toBe(true);
    // The owner picks the subscription's model (the Control UI's model picker does the same).
    inContainer('OPENCLAW_HOME=/home/openclaw openclaw config set agents.defaults.model.primary openai/gpt-6-astra >/dev/null 2>&1; echo done');
    // Taken (a CLI that failed would leave the mock as the model, and the later turns would say so less clearly).
    expect(
      inContainer(
        `node -e "console.log(JSON.parse(require('fs').readFileSync('/home/openclaw/.openclaw/openclaw.json','utf8')).agents.defaults.model.primary)"`,
      ).trim(),
    ).toBe('openai/gpt-6-astra');
    const s = await until(async () => ((await status()).model.signIn?.profile ? status() : undefined), 60_000, 'the sign-in in the status');
    expect(s.model.detail).toContain('signed in to the ChatGPT/Codex subscription as openai:operator@example.com');
  }, 360_000);

  it('should answer on the subscription after a sleep (the sign-in and the model choice restored from a presigned backup)', async () => {
    await ensureAwake();
    const before = storedProfiles();
    expect(before).toContain('openai:operator@example.com');
    await sleep();
    const turn = await subscriptionTurn('hello from the twin subscription');
    const why =
      turn.status === 200
        ? ''
        : `; stored before the sleep: ${before}; stored now: ${storedProfiles()}; the stand-in saw ${requestsSeen(openai)}; the gateway logged: ${gatewayAuthLog()}`;
    expect(turn.status, `${turn.text}${why}`).toBe(200);
    expect(turn.text).toContain('codex answer:');
    expect(openai.turns.some((t) => t.includes('hello from the twin subscription'))).toBe(true);
    expect((await status()).backups.lastRestore?.result).toBe('ok');
  }, 480_000);

  it('should keep the sign-in through a sleep that comes while OpenClaw refreshes it (a slow token endpoint): the drain lets the refresh be stored', async () => {
    await ensureAwake();
    await sleepDuringRefresh({
      openai,
      sleep: async () => {
        await sleep();
      },
      turn: subscriptionTurn,
      status,
      // The twin's SLEEP_AFTER is short: the Control UI's page, a request that ends at once.
      keepAwake: async () => {
        await (await fetch(`${twinUrl()}/`)).arrayBuffer();
      },
    }).catch((error: Error) => {
      const running = (read: () => string) => {
        try {
          return read();
        } catch (e) {
          return `(not read: ${(e as Error).message})`;
        }
      };
      throw new Error(
        `${error.message}; stored now: ${running(storedProfiles)}; the stand-in saw ${requestsSeen(openai)}; the gateway logged: ${running(gatewayAuthLog)}`,
      );
    });
  }, 480_000);

  it('should back a rotated refresh token up at once, so a container killed from outside wakes with the newest token', async () => {
    await ensureAwake();
    await rotateWithTurns(openai, subscriptionTurn, { steady: true });
    // Backed up at once by the credential check — or found already in the newest backup (`unchanged`) when the
    // debounced one (10 s on the twin) took the new state first: the newest token, should OpenClaw have rotated it again.
    const { backup } = await untilNewestTokenBackedUp(openai, status, 120_000);
    // A host move, a crash: no stop sequence, the disk is gone.
    docker('kill', appContainer());
    await waitFor((s) => s.state === 'stopped', 'stopped after the kill', 60_000);
    await wake();
    const answer = await subscriptionTurn('still signed in after the kill?');
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toContain('codex answer:');
    expect(openai.requests.filter((r) => r.host === 'auth.openai.com' && r.path === '/oauth/token' && r.status !== 200)).toEqual([]);
    expect((await status()).backups.lastRestore?.id).toBe(backup?.id);
  }, 600_000);

  it("should sign in through the Control UI's own Connect provider in Chromium as well, back the new sign-in up at once and answer on it", async (context) => {
    const missing = chromiumMissing();
    if (missing) return context.skip(missing);
    await ensureAwake();
    const startedAt = new Date().toISOString();
    await connectInControlUi(twinUrl(), openai, 90_000, join(ROOT, 'test-results', 'production-control-ui-connect-failure.png'));
    // The change check sees the new sign-in and backs it up at once (or the debounced backup took it first).
    const s = await until(
      async () => {
        const x = await status();
        const b = x.model.lastCredentialBackup;
        return x.model.signIn?.status !== 'expired' &&
          x.model.signIn?.profile === 'openai:operator@example.com' &&
          b &&
          b.at > startedAt &&
          (b.result === 'ok' || b.result === 'unchanged')
          ? x
          : undefined;
      },
      120_000,
      'the new sign-in in the status, backed up',
    );
    expect(s.model.detail).not.toContain('sign in again');
    const turn = await subscriptionTurn('after the sign-in from the Control UI');
    expect(turn.status, `${turn.text}; the stand-in saw ${requestsSeen(openai)}`).toBe(200);
    expect(turn.text).toContain('codex answer:');
  }, 360_000);

  it('should say "sign in again" in the status, `clawctl status` and a chat turn when the provider revoked the sign-in', async () => {
    await ensureAwake();
    await revokedSaysSignInAgain({ url: twinUrl(), openai, turn: subscriptionTurn, status });
  }, 420_000);
});
