/**
 * Credentials at egress, on the production path: the container holds
 * placeholders; its calls to the model provider (the mock, stood in at AI
 * Gateway's host as the OpenAI-compatible endpoint) and to GitHub (stood in at api.github.com and github.com)
 * pass the Worker's outbound handler, which adds the real credential,
 * refuses what GITHUB_PUSH_REPOS does not allow, and meters each model call
 * from the provider's answer into the assistant's cost.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asGateway, chat, ensureAwake, inContainer, inContainerAsync, standIn, twinUrl, type StandIn } from './twin-client.ts';
import { TWIN_DISCORD_SECRET, TWIN_EGRESS_SECRETS, TWIN_PUSH_REPO, TWIN_TELEGRAM, TWIN_WITH_DISCORD } from './twin-vars.ts';

/** The credentials the twin's Worker adds at egress (Discord's with TWIN_DISCORD=1). */
const ADDED = { ...TWIN_EGRESS_SECRETS, ...(TWIN_WITH_DISCORD ? TWIN_DISCORD_SECRET : {}) };
const REAL = [...Object.values(ADDED), TWIN_TELEGRAM.TELEGRAM_WEBHOOK_SECRET];

interface CostView {
  model: { calls: number; inputTokens: number; outputTokens: number; usd: number; byModel: Record<string, { calls: number }>; unpriced: string[] };
  modelLines: { softUsd: number | null; hardUsd: number | null; level: string };
}

async function cost(): Promise<CostView> {
  const res = await fetch(`${twinUrl()}/api/cost`);
  expect(res.status).toBe(200);
  return (await res.json()) as CostView;
}

describe.skipIf(inject('twinSkipped') !== '')('production twin: credentials added at egress', () => {
  let api: StandIn;
  let git: StandIn;
  beforeAll(async () => {
    const real = `token ${TWIN_EGRESS_SECRETS.GITHUB_TOKEN}`;
    api = await standIn('api.github.com', (req, res) => {
      const ok = req.headers.authorization === real;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { login: 'twin-user', id: 1 } : { message: 'Bad credentials' }));
    });
    git = await standIn('github.com', (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not a git server\n');
    });
  });
  afterAll(async () => {
    await api?.close();
    await git?.close();
  });

  it('should answer a chat turn through the Worker, which sent the real key to the provider and metered the call', async () => {
    await ensureAwake();
    const before = await cost();
    expect(await chat('hello through the egress, marker-7c1e')).toBe('mock answer: hello through the egress, marker-7c1e');
    const log = readFileSync(inject('modelLog'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { authorization: string | null; request: unknown });
    const turn = log.filter((l) => JSON.stringify(l.request).includes('marker-7c1e'));
    expect(turn.length).toBeGreaterThan(0);
    for (const call of turn) expect(call.authorization).toBe(`Bearer ${TWIN_EGRESS_SECRETS.OPENAI_API_KEY}`);
    // The meter reads the provider's answer after it is returned: wait for the record.
    let after = await cost();
    for (let i = 0; i < 50 && after.model.calls < before.model.calls + turn.length; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await cost();
    }
    expect(after.model.calls).toBeGreaterThanOrEqual(before.model.calls + turn.length);
    // The mock answers 10 tokens in and 10 out per call (when asked for usage); its model is not in the price table, so it is named as unpriced.
    expect(after.model.outputTokens - before.model.outputTokens).toBeGreaterThanOrEqual(10);
    expect((after.model.outputTokens - before.model.outputTokens) % 10).toBe(0);
    expect(after.model.byModel['mock-model']?.calls).toBeGreaterThan(0);
    expect(after.model.unpriced).toContain('mock-model');
    expect(after.model.usd).toBeGreaterThan(before.model.usd);
  });

  it('should keep the real credentials out of the container: its environment, its processes, openclaw.json and the state databases', () => {
    const patterns = REAL.map((v) => `-e '${v}'`).join(' ');
    // Every process's environment, and the whole writable tree the assistant keeps (its home, state, workspace) and /tmp.
    const found = inContainer(
      `for f in /proc/[0-9]*/environ; do grep -laF ${patterns} "$f" 2>/dev/null; done; grep -rlaF ${patterns} /home /root /tmp /etc /workspace 2>/dev/null; true`,
    );
    expect(found.trim()).toBe('');
    // The search would have found them: the placeholders are where the real values were (one per credential the Worker adds).
    expect(inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | grep -c "ondemand-placeholder"').trim()).toBe(
      String(Object.keys(ADDED).length),
    );
    expect(inContainer('ls /home/openclaw/.openclaw/state/openclaw.sqlite')).toContain('openclaw.sqlite');
  });

  it("should run `gh api` with the operator's token added by the Worker", async () => {
    const out = await inContainerAsync(`${asGateway('GITHUB_TOKEN')} gh api /user --jq .login 2>&1`);
    expect(out.trim()).toBe('twin-user');
    const seen = api.requests.at(-1)!;
    expect(seen.url).toBe('/user');
    expect(seen.headers.authorization).toBe(`token ${TWIN_EGRESS_SECRETS.GITHUB_TOKEN}`);
  });

  it('should refuse a push to a repository outside GITHUB_PUSH_REPOS before GitHub sees it, in words git prints', async () => {
    const before = git.requests.length;
    const out = await inContainerAsync(
      `cd "$(mktemp -d)" && git init -q && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && ${asGateway('GITHUB_TOKEN')} git push https://github.com/someone-else/repo.git HEAD:main 2>&1; true`,
    );
    expect(out).toContain('openclaw-ondemand: refused at egress: a push to someone-else/repo is not allowed');
    expect(out).toContain(TWIN_PUSH_REPO);
    expect(git.requests.slice(before).filter((r) => r.url.includes('receive-pack'))).toEqual([]);
    // A read of the same repository goes out, with the token as git's Basic credential.
    await inContainerAsync(`${asGateway('GITHUB_TOKEN')} git ls-remote https://github.com/someone-else/repo.git 2>&1; true`);
    const read = git.requests.slice(before).find((r) => r.url.startsWith('/someone-else/repo.git/info/refs?service=git-upload-pack'));
    expect(read?.headers.authorization).toBe(`Basic ${Buffer.from(`x-access-token:${TWIN_EGRESS_SECRETS.GITHUB_TOKEN}`).toString('base64')}`);
  });
});
