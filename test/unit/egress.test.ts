/**
 * Credentials at egress, piece by piece: which hosts get which credential,
 * what the container's placeholders look like, what is stripped and added,
 * what GitHub allows, how a model answer's usage is read (JSON and streams,
 * per provider), priced and metered, and how the model budget lines gate
 * a call — through egressFetch, the function both modes' handlers call.
 */
import { describe, expect, it } from 'vitest';
import { ModelMeter, type ModelCall, type ModelLines } from '../../src/cost/model-meter.ts';
import { parseModelPrices, priceCall, priceEntry } from '../../src/cost/model-prices.ts';
import { egressHosts, placeholderEnv, placeholderFor, withRealCredential, type EgressHost } from '../../src/egress/credentials.ts';
import { egressFetch, type EgressAgent } from '../../src/egress/egress-handler.ts';
import { githubRefusal } from '../../src/egress/github-scope.ts';
import { readUsage, NO_MODEL_USAGE } from '../../src/egress/model-usage.ts';
import { containerEnv } from '../../src/runtime/container-env.ts';
import type { Env } from '../../src/env.ts';

const SECRETS: Partial<Env> = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-REALANTHROPIC',
  CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-REALOAUTH',
  OPENAI_API_KEY: 'sk-proj-REALOPENAI',
  GITHUB_TOKEN: 'ghp_REALGITHUB',
};

const host = (name: string, env: Partial<Env> = SECRETS): EgressHost => {
  const h = egressHosts(env).get(name);
  if (!h) throw new Error(`no egress host ${name}`);
  return h;
};

const stream = (text: string, chunk = 7) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
      controller.close();
    },
  });
const sse = (...events: unknown[]) => events.map((e) => `event: x\ndata: ${JSON.stringify(e)}\n\n`).join('');

describe('egress credentials', () => {
  it('should intercept only the hosts whose secrets are set, and the https endpoint named by OPENAI_BASE_URL', () => {
    expect([...egressHosts({ GITHUB_TOKEN: 'ghp_x' }).keys()].sort()).toEqual(['api.github.com', 'github.com', 'uploads.github.com']);
    expect([...egressHosts({}).keys()]).toEqual([]);
    expect(egressHosts({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'https://models.example.net/v1' }).get('models.example.net')).toMatchObject({
      kind: 'model',
      provider: 'compat',
    });
    // An address or plain HTTP is not a host the platform intercepts by name.
    expect(egressHosts({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://10.0.0.2:8000/v1' }).has('10.0.0.2')).toBe(false);
    expect(egressHosts({ OPENAI_BASE_URL: 'https://models.example.net/v1' }).size).toBe(0);
    // With an endpoint, OPENAI_API_KEY is the endpoint's: it never goes to OpenAI.
    expect(egressHosts({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'https://models.example.net/v1' }).has('api.openai.com')).toBe(false);
  });

  it("should give the container placeholders that keep the key's kind but none of its secret part", () => {
    const env = placeholderEnv(SECRETS);
    expect(env).toEqual({
      ANTHROPIC_API_KEY: 'sk-ant-api03-ondemand-placeholder-anthropic-api-key',
      CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-ondemand-placeholder-claude-code-oauth-token',
      OPENAI_API_KEY: 'sk-proj-ondemand-placeholder-openai-api-key',
      GITHUB_TOKEN: 'ghp_ondemand-placeholder-github-token',
    });
    for (const value of Object.values(env)) expect(value).not.toMatch(/REAL/);
    expect(placeholderFor('GEMINI_API_KEY', 'AIzaSECRET')).toBe('AIzaondemand-placeholder-gemini-api-key');
  });

  it('should put placeholders in the container environment only when asked (production), never the real values', () => {
    const withPlaceholders = containerEnv({ ...SECRETS, OPENCLAW_GATEWAY_TOKEN: 'gw' }, 18789, { placeholders: true });
    expect(JSON.stringify(withPlaceholders)).not.toMatch(/REAL/);
    expect(withPlaceholders.OPENCLAW_GATEWAY_TOKEN).toBe('gw');
    expect(containerEnv(SECRETS, 18789).OPENAI_API_KEY).toBe('sk-proj-REALOPENAI');
  });

  it('should strip every credential the container sent and add the real one in the place the provider reads it', () => {
    const sent = new Request('https://api.openai.com/v1/chat/completions?key=leak', {
      method: 'POST',
      headers: { authorization: 'Bearer sk-stolen-elsewhere', cookie: 'a=b', 'x-api-key': 'other', 'content-type': 'application/json' },
      body: '{}',
    });
    const out = withRealCredential(sent, host('api.openai.com'), SECRETS);
    expect(out.headers.get('authorization')).toBe('Bearer sk-proj-REALOPENAI');
    expect(out.headers.get('cookie')).toBeNull();
    expect(out.headers.get('x-api-key')).toBeNull();
    expect(out.headers.get('content-type')).toBe('application/json');
    expect(new URL(out.url).searchParams.has('key')).toBe(false);
  });

  it('should give Anthropic the credential whose placeholder the container presented: the API key, or the subscription token', () => {
    const anthropic = host('api.anthropic.com');
    const byKey = withRealCredential(
      new Request('https://api.anthropic.com/v1/messages', { headers: { 'x-api-key': placeholderFor('ANTHROPIC_API_KEY', 'sk-ant-api03-x') } }),
      anthropic,
      SECRETS,
    );
    expect(byKey.headers.get('x-api-key')).toBe('sk-ant-api03-REALANTHROPIC');
    expect(byKey.headers.get('authorization')).toBeNull();
    const byToken = withRealCredential(
      new Request('https://api.anthropic.com/v1/messages', {
        headers: { authorization: `Bearer ${placeholderFor('CLAUDE_CODE_OAUTH_TOKEN', 'sk-ant-oat01-x')}` },
      }),
      anthropic,
      SECRETS,
    );
    expect(byToken.headers.get('authorization')).toBe('Bearer sk-ant-oat01-REALOAUTH');
    expect(byToken.headers.get('x-api-key')).toBeNull();
  });

  it("should give git GitHub's Basic credential and gh its token", () => {
    const basic = withRealCredential(new Request('https://github.com/o/r.git/info/refs?service=git-upload-pack'), host('github.com'), SECRETS);
    expect(atob(basic.headers.get('authorization')!.replace('Basic ', ''))).toBe('x-access-token:ghp_REALGITHUB');
    const api = withRealCredential(
      new Request('https://api.github.com/user', { headers: { authorization: 'token ghp_ondemand-placeholder-github-token' } }),
      host('api.github.com'),
      SECRETS,
    );
    expect(api.headers.get('authorization')).toBe('token ghp_REALGITHUB');
  });
});

describe('GitHub scope', () => {
  const scope = { pushRepos: ['me/mine'] };
  const refusal = (method: string, url: string, body?: string) => githubRefusal(new Request(url, { method, ...(body ? { body } : {}) }), scope);

  it('should allow clones, fetches and reads anywhere', async () => {
    expect(await refusal('GET', 'https://github.com/other/repo.git/info/refs?service=git-upload-pack')).toBeNull();
    expect(await refusal('POST', 'https://github.com/other/repo.git/git-upload-pack', '0000')).toBeNull();
    expect(await refusal('GET', 'https://api.github.com/repos/other/repo/pulls')).toBeNull();
    expect(await refusal('POST', 'https://api.github.com/graphql', JSON.stringify({ query: '# a comment\nquery { viewer { login } }' }))).toBeNull();
  });

  it('should allow pushes and writes only to the listed repositories', async () => {
    expect(await refusal('GET', 'https://github.com/Me/Mine.git/info/refs?service=git-receive-pack')).toBeNull();
    expect(await refusal('POST', 'https://github.com/me/mine/git-receive-pack', '0000')).toBeNull();
    expect(await refusal('POST', 'https://api.github.com/repos/me/mine/issues', '{}')).toBeNull();
    expect(await refusal('GET', 'https://github.com/other/repo.git/info/refs?service=git-receive-pack')).toMatch(
      /a push to other\/repo is not allowed \(repositories the owner allows pushes to: me\/mine\)/,
    );
    expect(await refusal('POST', 'https://github.com/other/repo.git/git-receive-pack', '0000')).toMatch(/not allowed/);
    expect(await refusal('DELETE', 'https://api.github.com/repos/other/repo')).toMatch(/writes only to me\/mine/);
    expect(await refusal('POST', 'https://api.github.com/user/repos', '{}')).toMatch(/not allowed/);
    expect(await refusal('POST', 'https://api.github.com/graphql', JSON.stringify({ query: ' mutation { deleteRepository }' }))).toMatch(
      /GraphQL mutations are not allowed/,
    );
    expect(await refusal('POST', 'https://api.github.com/graphql', 'not json')).toMatch(/not JSON/);
    expect(await githubRefusal(new Request('https://github.com/o/r.git/info/refs?service=git-receive-pack'), { pushRepos: [] })).toMatch(/: none\)/);
  });
});

describe("model usage from the provider's answer", () => {
  it("should read Anthropic's stream: input from message_start, the last cumulative output from message_delta", async () => {
    const body = sse(
      { type: 'message_start', message: { model: 'claude-opus-5', usage: { input_tokens: 1200, cache_read_input_tokens: 300, output_tokens: 1 } } },
      { type: 'content_block_delta', delta: { text: 'hi' } },
      { type: 'message_delta', usage: { output_tokens: 87 } },
      { type: 'message_stop' },
    );
    const { usage } = await readUsage(stream(body), 'text/event-stream; charset=utf-8');
    expect(usage).toEqual({ model: 'claude-opus-5', inputTokens: 1200, outputTokens: 87, cachedTokens: 300, cacheWriteTokens: 0 });
  });

  it("should read OpenAI's chat stream (usage in the last chunk, cached tokens inside the prompt figure) and its Responses stream", async () => {
    const chat = `${sse({ model: 'gpt-5.4', choices: [{ delta: { content: 'a' } }] }, { model: 'gpt-5.4', choices: [], usage: { prompt_tokens: 1000, completion_tokens: 50, prompt_tokens_details: { cached_tokens: 400 } } })}data: [DONE]\n\n`;
    expect((await readUsage(stream(chat, 3), 'text/event-stream')).usage).toEqual({
      model: 'gpt-5.4',
      inputTokens: 600,
      outputTokens: 50,
      cachedTokens: 400,
      cacheWriteTokens: 0,
    });
    const responses = sse(
      { type: 'response.created', response: { model: 'gpt-5.2' } },
      { type: 'response.completed', response: { model: 'gpt-5.2', usage: { input_tokens: 30, output_tokens: 9, input_tokens_details: { cached_tokens: 0 } } } },
    );
    expect((await readUsage(stream(responses), 'text/event-stream')).usage).toMatchObject({ model: 'gpt-5.2', inputTokens: 30, outputTokens: 9 });
  });

  it("should read a JSON answer and Gemini's usageMetadata, and count nothing in a body that is not JSON", async () => {
    const json = JSON.stringify({ model: 'mock-model', usage: { prompt_tokens: 10, completion_tokens: 10 } });
    expect((await readUsage(stream(json), 'application/json')).usage).toMatchObject({ model: 'mock-model', inputTokens: 10, outputTokens: 10 });
    const gemini = JSON.stringify({
      modelVersion: 'gemini-3-pro',
      usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, cachedContentTokenCount: 40 },
    });
    expect((await readUsage(stream(gemini), 'application/json')).usage).toMatchObject({ inputTokens: 60, outputTokens: 20, cachedTokens: 40 });
    expect((await readUsage(stream('<html>'), 'text/html')).usage).toEqual(NO_MODEL_USAGE);
    // Hostile numbers count as nothing.
    const odd = JSON.stringify({ usage: { input_tokens: -5, output_tokens: 'many' } });
    expect((await readUsage(stream(odd), 'application/json')).usage).toEqual(NO_MODEL_USAGE);
  });
});

describe('model prices', () => {
  const table = parseModelPrices('');

  it('should price a model by the longest entry it starts with, cache reads at a tenth', () => {
    expect(priceEntry('anthropic/claude-opus-5-20260724', table)?.key).toBe('claude-opus-5');
    expect(priceEntry('claude-opus-5.5', table)?.key).toBe('claude-opus-5.5');
    const usage = { model: 'gpt-5.4', inputTokens: 1_000_000, outputTokens: 1_000_000, cachedTokens: 1_000_000, cacheWriteTokens: 0 };
    expect(priceCall(usage, table)).toEqual({ usd: 2.5 + 15 + 0.25, priced: true });
  });

  it("should price an unknown model at the table's highest rates and say it was not priced; MODEL_PRICES names it", () => {
    const usage = { model: 'mystery-9', inputTokens: 1_000_000, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 };
    expect(priceCall(usage, table)).toEqual({ usd: 10, priced: false });
    const named = parseModelPrices('{"mystery":{"inputPerMTok":0.5,"outputPerMTok":1}}');
    expect(priceCall(usage, named)).toEqual({ usd: 0.5, priced: true });
    expect(() => parseModelPrices('{"x":{"inputPerMTok":-1,"outputPerMTok":1}}')).toThrow(/MODEL_PRICES\["x"\]/);
    expect(() => parseModelPrices('{')).toThrow(/not valid JSON/);
  });
});

const call = (usd: number, model = 'gpt-5.4'): ModelCall => ({
  provider: 'openai',
  usage: { model, inputTokens: 100, outputTokens: 10, cachedTokens: 0, cacheWriteTokens: 0 },
  usd,
  priced: true,
  status: 200,
  truncated: false,
});

describe('the model meter and its budget lines', () => {
  const NOW = Date.UTC(2026, 11, 20, 12);
  const lines: ModelLines = { softUsd: 1, hardUsd: 2, slowDelayMs: 5000 };

  it('should go, slow, then refuse as the month spends past the lines, and start again next month', () => {
    const meter = new ModelMeter();
    expect(meter.gate(lines, NOW)).toEqual({ go: true, delayMs: 0, level: 'ok' });
    meter.record(call(1.2), NOW);
    expect(meter.gate(lines, NOW)).toEqual({ go: true, delayMs: 5000, level: 'soft' });
    meter.record(call(0.9), NOW + 1000);
    const hard = meter.gate(lines, NOW + 2000);
    expect(hard).toMatchObject({ go: false, level: 'hard' });
    expect(hard.go === false && hard.reason).toMatch(/\$2\.10 this month ≥ the hard model limit \$2\.00 \(MODEL_BUDGET_HARD_USD\)/);
    expect(meter.gate({ softUsd: null, hardUsd: null, slowDelayMs: 0 }, NOW)).toMatchObject({ go: true, level: 'ok' });
    expect(meter.gate(lines, Date.UTC(2027, 0, 1, 0, 1))).toMatchObject({ go: true, level: 'ok' });
  });

  it('should report the month and the recent hours for the cost guard, and keep its figures across a reload', () => {
    const meter = new ModelMeter();
    meter.record(call(0.5), NOW - 30 * 3_600_000);
    meter.record(call(0.25), NOW - 3_600_000);
    meter.record(call(0.125, 'claude-opus-5'), NOW);
    expect(meter.report(24, NOW)).toEqual({ monthUsd: 0.875, recentUsd: 0.375, calls: 3 });
    const again = new ModelMeter(JSON.parse(JSON.stringify(meter.toJSON())));
    expect(again.summary(NOW)).toMatchObject({ month: '2026-12', calls: 3, inputTokens: 300, outputTokens: 30, byModel: { 'gpt-5.4': { calls: 2 } } });
    expect(again.summary(NOW).lastCall).toMatchObject({ model: 'claude-opus-5', usd: 0.125 });
  });

  it('should keep a bounded record whatever models the answers name', () => {
    const meter = new ModelMeter();
    for (let i = 0; i < 100; i++) meter.record({ ...call(0.001, `model-${i}`), priced: false }, NOW + i);
    const summary = meter.summary(NOW + 200);
    expect(Object.keys(summary.byModel).length).toBeLessThanOrEqual(41);
    expect(summary.byModel.other?.calls).toBe(60);
    expect(summary.unpriced.length).toBe(20);
  });
});

describe('egressFetch', () => {
  const meterAgent = (meter: ModelMeter, lines: ModelLines, now = () => Date.UTC(2026, 11, 20)): EgressAgent & { calls: ModelCall[] } => {
    const calls: ModelCall[] = [];
    return {
      calls,
      modelGate: async () => meter.gate(lines, now()),
      recordModelCall: async (c) => {
        calls.push(c);
        meter.record(c, now());
      },
    };
  };

  it('should pass a streamed answer through untouched and record its usage, priced, after the answer is returned', async () => {
    const meter = new ModelMeter();
    const agent = meterAgent(meter, { softUsd: null, hardUsd: null, slowDelayMs: 0 });
    const pending: Array<Promise<unknown>> = [];
    const seen: Request[] = [];
    const body = sse(
      { type: 'message_start', message: { model: 'claude-opus-5', usage: { input_tokens: 2000, output_tokens: 1 } } },
      { type: 'message_delta', usage: { output_tokens: 400 } },
    );
    const answer = await egressFetch(
      new Request('https://api.anthropic.com/v1/messages', {
        method: 'POST',
        headers: { 'x-api-key': 'sk-ant-api03-ondemand-placeholder-anthropic-api-key' },
        body: '{}',
      }),
      host('api.anthropic.com'),
      {
        env: SECRETS,
        agent,
        waitUntil: (w) => pending.push(w),
        fetch: async (r) => {
          seen.push(r);
          return new Response(stream(body), { headers: { 'content-type': 'text/event-stream' } });
        },
      },
    );
    expect(await answer.text()).toBe(body);
    await Promise.all(pending);
    expect(seen[0]?.headers.get('x-api-key')).toBe('sk-ant-api03-REALANTHROPIC');
    expect(agent.calls).toEqual([
      {
        provider: 'anthropic',
        usage: { model: 'claude-opus-5', inputTokens: 2000, outputTokens: 400, cachedTokens: 0, cacheWriteTokens: 0 },
        usd: (2000 * 5 + 400 * 25) / 1e6,
        priced: true,
        status: 200,
        truncated: false,
      },
    ]);
  });

  it('should refuse a model call over the hard line with a 402 that says why, without calling the provider', async () => {
    const meter = new ModelMeter();
    meter.record(call(3), Date.UTC(2026, 11, 20));
    let called = false;
    const answer = await egressFetch(new Request('https://api.openai.com/v1/responses', { method: 'POST', body: '{}' }), host('api.openai.com'), {
      env: SECRETS,
      agent: meterAgent(meter, { softUsd: 1, hardUsd: 2, slowDelayMs: 0 }),
      waitUntil: () => {},
      fetch: async () => {
        called = true;
        return new Response('{}');
      },
    });
    expect(called).toBe(false);
    expect(answer.status).toBe(402);
    const error = ((await answer.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('budget_exceeded');
    expect(error.message).toMatch(/^openclaw-ondemand: the model budget is spent: \$3\.00/);
  });

  it('should wait before a call over the soft line', async () => {
    const meter = new ModelMeter();
    meter.record(call(1.5), Date.UTC(2026, 11, 20));
    const waited: number[] = [];
    await egressFetch(new Request('https://api.openai.com/v1/responses', { method: 'POST', body: '{}' }), host('api.openai.com'), {
      env: SECRETS,
      agent: meterAgent(meter, { softUsd: 1, hardUsd: 2, slowDelayMs: 7000 }),
      waitUntil: () => {},
      sleep: async (ms) => void waited.push(ms),
      fetch: async () => new Response('{}', { headers: { 'content-type': 'application/json' } }),
    });
    expect(waited).toEqual([7000]);
  });

  it('should refuse a push outside GITHUB_PUSH_REPOS in text git prints, and send a listed one with the token', async () => {
    const sent: Request[] = [];
    const deps = {
      env: { ...SECRETS, GITHUB_PUSH_REPOS: 'me/mine' },
      agent: meterAgent(new ModelMeter(), { softUsd: null, hardUsd: null, slowDelayMs: 0 }),
      waitUntil: () => {},
      fetch: async (r: Request) => {
        sent.push(r);
        return new Response('ok');
      },
    };
    const refused = await egressFetch(new Request('https://github.com/x/y.git/info/refs?service=git-receive-pack'), host('github.com'), deps);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await refused.text()).toMatch(/^openclaw-ondemand: refused at egress: a push to x\/y is not allowed/);
    expect(sent).toEqual([]);
    const api = await egressFetch(new Request('https://api.github.com/repos/x/y/issues', { method: 'POST', body: '{}' }), host('api.github.com'), deps);
    expect(((await api.json()) as { message: string }).message).toMatch(/writes only to me\/mine/);
    expect(
      (await egressFetch(new Request('https://github.com/me/mine/git-receive-pack', { method: 'POST', body: '0000' }), host('github.com'), deps)).status,
    ).toBe(200);
    expect(sent[0]?.headers.get('authorization')).toMatch(/^Basic /);
  });
  it('should ask a streamed chat completion for its usage, so an OpenAI-compatible endpoint reports the tokens the meter counts', async () => {
    const sent: string[] = [];
    const compat = { ...SECRETS, OPENAI_BASE_URL: 'https://models.example.net/v1' };
    const deps = {
      env: compat,
      agent: { modelGate: async () => ({ go: true as const, delayMs: 0, level: 'ok' as const }), recordModelCall: async () => {} },
      waitUntil: () => {},
      fetch: async (r: Request) => {
        sent.push(await r.text());
        return new Response('{}', { headers: { 'content-type': 'application/json' } });
      },
    };
    const post = (body: unknown) =>
      new Request('https://models.example.net/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const models = egressHosts(compat).get('models.example.net')!;
    await egressFetch(post({ model: 'm', stream: true, stream_options: { other: 1 }, messages: [] }), models, deps);
    await egressFetch(post({ model: 'm', stream: false, messages: [] }), models, deps);
    expect(JSON.parse(sent[0]!)).toEqual({ model: 'm', stream: true, stream_options: { other: 1, include_usage: true }, messages: [] });
    expect(JSON.parse(sent[1]!)).toEqual({ model: 'm', stream: false, messages: [] });
  });
});

/** Egress deps that keep what leaves for the platform and answer it with `answer()`; the model gate lets all through. */
function forwarding(env: Partial<Env>, answer: () => Response) {
  const sent: Request[] = [];
  const deps = {
    env,
    agent: { modelGate: async () => ({ go: true as const, delayMs: 0, level: 'ok' as const }), recordModelCall: async () => {} },
    waitUntil: () => {},
    fetch: async (r: Request) => {
      sent.push(r);
      return answer();
    },
  };
  return { sent, deps };
}

describe("Telegram's Bot API at egress", () => {
  const BOT = { TELEGRAM_BOT_TOKEN: '7000000001:AAH-REALBOT' };
  const telegram = () => host('api.telegram.org', BOT);
  const forward = () => forwarding(BOT, () => Response.json({ ok: true, result: true }));

  it("should give the container a placeholder that keeps the bot's public id, and put the real token in the path", async () => {
    expect(placeholderEnv(BOT)).toEqual({ TELEGRAM_BOT_TOKEN: '7000000001:ondemand-placeholder-telegram-bot-token' });
    const { sent, deps } = forward();
    const placeholder = 'https://api.telegram.org/bot7000000001:ondemand-placeholder-telegram-bot-token';
    await egressFetch(new Request(`${placeholder}/sendMessage`, { method: 'POST', body: '{"chat_id":1,"text":"hi"}' }), telegram(), deps);
    await egressFetch(new Request('https://api.telegram.org/file/botanything-at-all/photos/file_1.jpg'), telegram(), deps);
    expect(sent.map((r) => r.url)).toEqual([
      'https://api.telegram.org/bot7000000001:AAH-REALBOT/sendMessage',
      'https://api.telegram.org/file/bot7000000001:AAH-REALBOT/photos/file_1.jpg',
    ]);
  });

  it("should answer setWebhook and deleteWebhook itself, so the container cannot move the bot's webhook, and refuse what is not a Bot API path", async () => {
    const { sent, deps } = forward();
    for (const method of ['setWebhook', 'deleteWebhook', 'SETWEBHOOK']) {
      const r = await egressFetch(new Request(`https://api.telegram.org/botX/${method}?url=https://evil.example/hook`, { method: 'POST' }), telegram(), deps);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ ok: true, description: expect.stringContaining('kept by the Worker') });
    }
    const odd = await egressFetch(new Request('https://api.telegram.org/admin'), telegram(), deps);
    expect(odd.status).toBe(403);
    expect(sent).toEqual([]);
  });
});

describe("Discord's REST API at egress", () => {
  const BOT = { DISCORD_BOT_TOKEN: 'MTEw.real-discord-token' };
  const discord = () => host('discord.com', BOT);
  const forward = () => forwarding(BOT, () => Response.json({ id: '1' }));

  it("should give the container a placeholder and send the bot's real token as `Authorization: Bot`", async () => {
    expect(placeholderEnv(BOT)).toEqual({ DISCORD_BOT_TOKEN: 'ondemand-placeholder-discord-bot-token' });
    const { sent, deps } = forward();
    const headers = { authorization: 'Bot ondemand-placeholder-discord-bot-token', 'content-type': 'application/json' };
    await egressFetch(new Request('https://discord.com/api/v10/channels/33/messages', { method: 'POST', headers, body: '{"content":"hi"}' }), discord(), deps);
    expect(sent.map((r) => [r.url, r.headers.get('authorization')])).toEqual([
      ['https://discord.com/api/v10/channels/33/messages', 'Bot MTEw.real-discord-token'],
    ]);
  });

  it("should refuse the container's gateway lookup, so the relay's session stays the bot's only one", async () => {
    const { sent, deps } = forward();
    for (const path of ['/api/v10/gateway/bot', '/api/v9/gateway', '/api/gateway/bot/']) {
      const r = await egressFetch(new Request(`https://discord.com${path}`, { headers: { authorization: 'Bot x' } }), discord(), deps);
      expect(r.status, path).toBe(403);
      expect(await r.json()).toMatchObject({ message: expect.stringContaining("the Worker's relay holds") });
    }
    expect(sent).toEqual([]);
    // Not a lookup: a channel named "gateway" is just a path segment elsewhere.
    await egressFetch(new Request('https://discord.com/api/v10/users/@me'), discord(), deps);
    expect(sent).toHaveLength(1);
  });
});
