/** The model sign-in's log (untrusted container output) and the model access the status shows. */
import { describe, expect, it } from 'vitest';
import { CODEX_DEVICE_URL, readSignIn } from '../../src/agent/model-sign-in.ts';
import { CREDENTIAL_BACKUP_MIN_MS, ModelAccess, modelRoute, noModelAnswer, type ModelAccessRecord } from '../../src/agent/model-access.ts';
import type { GatewayRpc, ModelAuthStatus } from '../../src/runtime/gateway-rpc.ts';

const ESC = String.fromCharCode(27);
/** What OpenClaw 2026.9.6 printed in a pseudo-terminal for a device-code sign-in (colours and box drawing kept). */
const WAITING = [
  `${ESC}[?25l${ESC}[90m│${ESC}[39m`,
  `${ESC}[32m◇${ESC}[39m  ${ESC}[0m${ESC}[1m${ESC}[91mOpenAI Codex device code${ESC}[39m${ESC}[22m${ESC}[0m ${ESC}[90m──────╮${ESC}[39m`,
  `${ESC}[90m│${ESC}[39m  Open this URL in your LOCAL browser and enter the code below.  ${ESC}[90m│${ESC}[39m`,
  `${ESC}[90m│${ESC}[39m  URL: <https://auth.openai.com/codex/device>                    ${ESC}[90m│${ESC}[39m`,
  `${ESC}[90m│${ESC}[39m  Code: ST1000-EIO1                                              ${ESC}[90m│${ESC}[39m`,
  `${ESC}[90m│${ESC}[39m  Code expires in 15 minutes. Never share it.                    ${ESC}[90m│${ESC}[39m`,
].join('\r\n');
const DONE = `${WAITING}\r\n${ESC}[2K${ESC}[?25h${ESC}[32m◇${ESC}[39m  OpenAI device code complete\r\nAuth profile: openai:operator@example.com (openai/oauth)\r\n__refreshed\n__exit 0\n`;

describe('readSignIn', () => {
  it('should read nothing started, starting, waiting with the code, and signed in with the profile', () => {
    expect(readSignIn(null).state).toBe('idle');
    expect(readSignIn('').state).toBe('starting');
    expect(readSignIn(WAITING)).toMatchObject({ state: 'waiting', userCode: 'ST1000-EIO1', verificationUrl: CODEX_DEVICE_URL });
    expect(readSignIn(WAITING).message).toContain('ST1000-EIO1');
    expect(readSignIn(DONE)).toMatchObject({ state: 'signed-in', profile: 'openai:operator@example.com' });
  });

  it('should say why a sign-in failed, in plain text, and see a cancel and a gateway that stopped', () => {
    const failed = readSignIn(`${WAITING}\r\n${ESC}[31mError: OpenAI device authorization failed: HTTP 500 upstream${ESC}[39m\r\n__exit 1\n`);
    expect(failed.state).toBe('failed');
    expect(failed.message).toContain('OpenAI device authorization failed: HTTP 500 upstream');
    expect(failed.message).not.toContain(ESC);
    expect(readSignIn(`${WAITING}\n__exit cancelled\n`).state).toBe('cancelled');
    expect(readSignIn(`${WAITING}\n__exit ended\n`).message).toContain('start it again');
    // Exit 0 without a stored profile is no sign-in.
    expect(readSignIn('__exit 0\n').state).toBe('failed');
  });

  it('should never take the page from the container, and bound what it reads', () => {
    const hostile = `URL: https://evil.example/phish\nCode: ABCD-EFGH\n${'x'.repeat(50_000)}\nAuth profile: openai:${'a'.repeat(500)}\n__exit 0\n`;
    const read = readSignIn(hostile);
    expect(read.verificationUrl).toBe(CODEX_DEVICE_URL);
    expect(JSON.stringify(read)).not.toContain('evil.example');
    expect((read.profile ?? '').length).toBeLessThanOrEqual(127);
    expect(read.message.length).toBeLessThan(400);
    expect(readSignIn('Code: <script>alert(1)</script>').userCode).toBeNull();
  });
});

/** A gateway whose `models.authStatus` answers, in turn, the subscription's sign-in (or none) and, optionally, other providers'. */
function gateway(answers: Array<ModelAuthStatus | null>, others: Record<string, ModelAuthStatus> = {}): GatewayRpc {
  return {
    modelAuth: async () => {
      const openai = answers.shift() ?? null;
      return new Map([...(openai ? [['openai', openai] as const] : []), ...Object.entries(others)]);
    },
  } as unknown as GatewayRpc;
}
const signedIn = (expiresAtMs: number, status = 'ok'): ModelAuthStatus => ({
  status,
  profiles: [{ id: 'openai:me@example.com', type: 'oauth', status, reasonCode: status === 'expired' ? 'invalid_grant' : null, expiresAtMs }],
});

describe('ModelAccess', () => {
  it('should take the route from the Worker settings: keys, an endpoint, else the subscription', () => {
    expect(modelRoute({ ANTHROPIC_API_KEY: 'k' }).route).toBe('api-key');
    expect(modelRoute({ OPENAI_BASE_URL: 'http://x', OPENAI_MODEL: 'm' })).toEqual({ route: 'compatible-endpoint', model: 'compat/m' });
    // The endpoint's key is OPENAI_API_KEY: still the endpoint's route, as configure-openclaw.mjs chooses it.
    expect(modelRoute({ OPENAI_BASE_URL: 'https://x', OPENAI_API_KEY: 'k', OPENAI_MODEL: 'm' }).route).toBe('compatible-endpoint');
    expect(modelRoute({ GITHUB_TOKEN: 't' })).toEqual({ route: 'subscription', model: 'openai/gpt-6-astra' });
  });

  it('should report a credential change once, hold a change inside the limit for a later look, and never when nothing changed', async () => {
    let now = 1_800_000_000_000;
    const access = new ModelAccess({}, () => now);
    expect(access.status().detail).toContain('no model connected');
    expect(await access.look(gateway([null]))).toBe(false);
    expect(await access.look(gateway([signedIn(now + 3_600_000)]))).toBe(true);
    expect(access.status().detail).toContain('signed in as openai:me@example.com');
    expect(await access.look(gateway([signedIn(now + 3_600_000)]))).toBe(false);
    // A refresh (new expiry) 10 s later: inside the limit, so not now, but pending.
    now += 10_000;
    expect(await access.look(gateway([signedIn(now + 3_600_000)]))).toBe(false);
    expect(access.pending).toBe(true);
    now += CREDENTIAL_BACKUP_MIN_MS;
    expect(await access.look(gateway([signedIn(now - CREDENTIAL_BACKUP_MIN_MS + 3_600_000)]))).toBe(true);
    expect(access.pending).toBe(false);
    // Refused by the provider: the status says to sign in again.
    now += CREDENTIAL_BACKUP_MIN_MS;
    await access.look(gateway([signedIn(now, 'expired')]));
    expect(access.status().detail).toMatch(/no longer works \(invalid_grant\): sign in again/);
    // Kept across a reload of the record.
    const reloaded = new ModelAccess({}, () => now, access.toJSON());
    expect(reloaded.status().signIn?.profile).toBe('openai:me@example.com');
    expect(await reloaded.look(gateway([signedIn(now, 'expired')]))).toBe(false);
  });

  it('should say an API key route needs no sign-in', () => {
    expect(new ModelAccess({ OPENAI_API_KEY: 'k' }, Date.now).status()).toMatchObject({ route: 'api-key', signIn: null });
  });

  it("should back up any provider's rotated sign-in at once, whatever the route (a Claude subscription beside an API key)", async () => {
    let now = 1_800_000_000_000;
    const access = new ModelAccess({ ANTHROPIC_API_KEY: 'k' }, () => now);
    const claude = (expiresAtMs: number): ModelAuthStatus => ({
      status: 'ok',
      profiles: [{ id: 'anthropic:me@example.com', type: 'oauth', status: 'ok', reasonCode: null, expiresAtMs }],
    });
    const apiKey: ModelAuthStatus = {
      status: 'static',
      profiles: [{ id: 'anthropic:default', type: 'api_key', status: 'static', reasonCode: null, expiresAtMs: null }],
    };
    expect(await access.look(gateway([null], { anthropic: apiKey }))).toBe(false);
    expect(await access.look(gateway([null], { anthropic: claude(now + 3_600_000) }))).toBe(true);
    now += CREDENTIAL_BACKUP_MIN_MS;
    expect(await access.look(gateway([null], { anthropic: claude(now + 3_600_000) }))).toBe(true);
    expect(await access.look(gateway([null], { anthropic: claude(now + 3_600_000) }))).toBe(false);
    // The status speaks of the route and the subscription's sign-in only.
    expect(access.status()).toMatchObject({ route: 'api-key', signIn: { profile: null } });
  });

  it('should answer a chat turn refused for a missing or broken sign-in in plain words, and pass every other answer unchanged', async () => {
    const signIn = (status: string): ModelAccessRecord => ({
      signIn: {
        profile: 'openai:me@example.com',
        status,
        reasonCode: status === 'expired' ? 'expired' : null,
        expiresAt: null,
        checkedAt: '2026-12-01T00:00:00.000Z',
      },
      fingerprint: null,
      lastCredentialBackup: null,
    });
    const answer = async (access: ModelAccess, status: number, body: unknown, path = '/v1/chat/completions') => {
      const r = await noModelAnswer(access, new Request(`https://x.example${path}`, { method: 'POST' }), Response.json(body, { status }));
      return { status: r.status, body: (await r.json()) as { error: { code?: string; message: string; type?: string } } };
    };
    const oauthRefused = { error: { message: 'OAuth token refresh failed for openai: refresh token revoked', type: 'permission_error' } };
    const badRequest = { error: { message: 'messages must not be empty', type: 'invalid_request_error' } };
    // The subscription, not signed in: a 401 says how to sign in.
    const none = new ModelAccess({}, Date.now);
    expect(await answer(none, 401, { error: { message: 'No route-compatible authentication source' } })).toMatchObject({
      status: 401,
      body: { error: { code: 'model_not_connected', message: expect.stringContaining('clawctl login codex') } },
    });
    expect((await answer(none, 400, badRequest)).body).toEqual(badRequest);
    // An endpoint route with a working sign-in beside it: nothing is rewritten.
    const endpoint = { OPENAI_BASE_URL: 'http://mock:1/v1' };
    const working = new ModelAccess(endpoint, Date.now, signIn('ok'));
    expect(await answer(working, 401, { error: { message: 'x' } })).toMatchObject({ status: 401, body: { error: { message: 'x' } } });
    expect((await answer(working, 400, oauthRefused)).body).toEqual(oauthRefused);
    // The same with the sign-in broken: OpenClaw's refused refresh (400 permission_error) and its model authentication
    // failure (401 authentication_error) say "sign in again"; its own refusals (403: a proxy it does not trust, a tool
    // not allowed), an untyped 401, a bad request or another path stay as they were.
    const broken = new ModelAccess(endpoint, Date.now, signIn('expired'));
    expect(broken.status().detail).toContain('sign in again');
    for (const [status, body] of [
      [400, oauthRefused],
      [401, { error: { message: 'y', type: 'authentication_error' } }],
    ] as const) {
      expect(await answer(broken, status, body)).toMatchObject({
        status: 401,
        body: { error: { code: 'model_not_connected', message: expect.stringContaining('sign in again') } },
      });
    }
    const proxyRefused = { error: { message: 'proxy_attribution_required', type: 'permission_error' } };
    expect(await answer(broken, 403, proxyRefused)).toEqual({ status: 403, body: proxyRefused });
    expect(await answer(broken, 401, { error: { message: 'unauthorized' } })).toEqual({ status: 401, body: { error: { message: 'unauthorized' } } });
    expect(await answer(broken, 400, badRequest)).toEqual({ status: 400, body: badRequest });
    expect((await answer(broken, 401, { error: { message: 'w' } }, '/api/other')).body).toEqual({ error: { message: 'w' } });
    const raw = await noModelAnswer(
      broken,
      new Request('https://x.example/v1/responses', { method: 'POST' }),
      new Response('not json', { status: 400, headers: { 'content-type': 'application/json' } }),
    );
    expect([raw.status, await raw.text()]).toEqual([400, 'not json']);
  });
});
