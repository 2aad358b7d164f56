/**
 * Credentials at egress in the local mode, with the real OpenClaw: the
 * gateway holds placeholders; its model calls and the `gh`/`git` it runs go
 * through the local host's egress proxy (TLS terminated with the run's CA)
 * to the Worker's egress route, the same code as production's outbound
 * handler, which adds the real credential, scopes GitHub and meters the
 * model, and holds the model budget's hard line. The provider is the bundled
 * mock behind an AI Gateway compat URL, GitHub a recorded stand-in
 * (LOCAL_EGRESS_UPSTREAMS sends both to loopback).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_MODEL_ID, startMockLlm } from '../../container/mock-llm/server.mjs';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { chatTurn, wakeToReady } from '../support/stack-client.ts';

const REAL = {
  OPENAI_API_KEY: 'sk-proj-local-openai-key-must-stay-in-the-worker',
  GITHUB_TOKEN: 'ghp_local-github-token-must-stay-in-the-worker',
};

let stack: LocalStack;
let mock: Awaited<ReturnType<typeof startMockLlm>>;
let github: Server;
const githubSeen: Array<{ method: string; url: string; authorization: string | undefined }> = [];
let work: string;

/** A command as the agent's shell runs it: the gateway's own environment (its proxy, its CA, its placeholders). */
function asGateway(command: string): Promise<string> {
  const pid = readFileSync(join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid'), 'utf8').trim();
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(environ.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { env, cwd: work, timeout: 60_000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

async function cost(): Promise<{ model: { calls: number; outputTokens: number; byModel: Record<string, { calls: number }> } }> {
  return (await (await fetch(`${stack.url}/api/cost`)).json()) as never;
}

describe('credentials at egress in the local mode (real OpenClaw)', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'egress-local-'));
    mock = await startMockLlm({ log: join(work, 'mock-llm.jsonl') });
    github = createServer((req: IncomingMessage, res) => {
      githubSeen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      const ok = req.headers.authorization === `token ${REAL.GITHUB_TOKEN}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { login: 'local-user' } : { message: 'Bad credentials' }));
    });
    await new Promise<void>((r) => github.listen(0, '127.0.0.1', () => r()));
    const githubOrigin = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
    const secrets = join(work, 'secrets.env');
    writeFileSync(
      secrets,
      `OPENAI_BASE_URL=https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/local/compat\nOPENAI_MODEL=${MOCK_MODEL_ID}\nOPENAI_API_KEY=${REAL.OPENAI_API_KEY}\nGITHUB_TOKEN=${REAL.GITHUB_TOKEN}\n`,
      { mode: 0o600 },
    );
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      LOCAL_MOCK_LLM: 'off',
      LOCAL_BROWSER: 'off',
      SLEEP_AFTER: '10m',
      LOCAL_SECRETS_FILE: secrets,
      GITHUB_PUSH_REPOS: 'me/mine',
      // The mock priced at $1 a call (10 tokens in, 10 out) and a hard model line at $2.50: a few turns spend it.
      MODEL_PRICES: JSON.stringify({ [MOCK_MODEL_ID]: { inputPerMTok: 50_000, outputPerMTok: 50_000 } }),
      MODEL_BUDGET_HARD_USD: '2.5',
      LOCAL_EGRESS_UPSTREAMS: JSON.stringify({
        'gateway.ai.cloudflare.com': `http://127.0.0.1:${mock.port}`,
        'api.github.com': githubOrigin,
        'github.com': githubOrigin,
      }),
    });
    await wakeToReady(stack.url);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await mock?.close();
    await new Promise<void>((r) => (github ? github.close(() => r()) : r()));
  });

  it('should answer a chat turn through the Worker, which sent the real key and metered the call', async () => {
    expect(await chatTurn(stack.url, 'hello through the local egress, marker-3b9d')).toBe('mock answer: hello through the local egress, marker-3b9d');
    const calls = readFileSync(join(work, 'mock-llm.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { authorization: string | null; request: unknown })
      .filter((c) => JSON.stringify(c.request).includes('marker-3b9d'));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.authorization).toBe(`Bearer ${REAL.OPENAI_API_KEY}`);
    let seen = await cost();
    for (let i = 0; i < 50 && seen.model.calls < calls.length; i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await cost();
    }
    expect(seen.model.calls).toBeGreaterThanOrEqual(calls.length);
    expect(seen.model.byModel[MOCK_MODEL_ID]?.calls).toBeGreaterThan(0);
  });

  it("should keep the real values out of the gateway's environment, openclaw.json and its state", () => {
    const pid = readFileSync(join(stack.stateDir, 'agents', 'default', 'boot', 'gateway.pid'), 'utf8').trim();
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toContain('OPENAI_COMPAT_API_KEY=sk-proj-ondemand-placeholder-openai-api-key');
    expect(environ).toContain('GITHUB_TOKEN=ghp_ondemand-placeholder-github-token');
    expect(environ).not.toContain('must-stay-in-the-worker');
    const home = join(stack.stateDir, 'agents', 'default', 'home');
    const found = execFileSyncText('grep', ['-rlaF', '-e', REAL.OPENAI_API_KEY, '-e', REAL.GITHUB_TOKEN, home]);
    expect(found).toBe('');
  });

  it("should call GitHub's API with the operator's token added by the Worker, and refuse a push outside GITHUB_PUSH_REPOS", async () => {
    // As the agent's shell would (this machine has curl and git; the image adds gh): the placeholder in the header, the proxy from the environment.
    const user = await asGateway('curl -sS -H "Authorization: token $GITHUB_TOKEN" https://api.github.com/user');
    expect(JSON.parse(user)).toEqual({ login: 'local-user' });
    expect(githubSeen.at(-1)).toMatchObject({ method: 'GET', url: '/user', authorization: `token ${REAL.GITHUB_TOKEN}` });
    const before = githubSeen.length;
    const push = await asGateway(
      'git init -q repo && cd repo && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && git push https://github.com/someone-else/repo.git HEAD:main',
    );
    expect(push).toContain('openclaw-ondemand: refused at egress: a push to someone-else/repo is not allowed');
    expect(githubSeen.slice(before).filter((r) => r.url.includes('receive-pack'))).toEqual([]);
  });
  it('should refuse model calls once the month passes the hard model line, and say why, the assistant still running', async () => {
    let refused: { status: number; text: string } | null = null;
    for (let i = 0; i < 6 && !refused; i++) {
      const r = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openclaw', user: 'budget', messages: [{ role: 'user', content: `spend ${i}` }] }),
      });
      const text = await r.text();
      if (!text.includes(`mock answer: spend ${i}`)) refused = { status: r.status, text };
    }
    expect(refused, 'a turn past the hard model line').not.toBeNull();
    // OpenClaw hands the Worker's reason on, in the chat's own answer.
    expect(refused?.status).toBe(402);
    expect(refused?.text).toMatch(
      /openclaw-ondemand: the model budget is spent: \$\d+\.\d\d this month ≥ the hard model limit \$2\.50 \(MODEL_BUDGET_HARD_USD\)/,
    );
    const view = (await (await fetch(`${stack.url}/api/cost`)).json()) as {
      model: { usd: number; refused: number };
      modelLines: { hardUsd: number; level: string };
    };
    expect(view.modelLines).toMatchObject({ hardUsd: 2.5, level: 'hard' });
    expect(view.model.usd).toBeGreaterThanOrEqual(2.5);
    expect(view.model.refused).toBeGreaterThan(0);
    expect(((await (await fetch(`${stack.url}/api/status`)).json()) as { state: string }).state).toBe('ready');
  }, 300_000);
});

function execFileSyncText(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' });
  } catch (error) {
    // grep exits 1 when it finds nothing.
    return String((error as { stdout?: string }).stdout ?? '');
  }
}
