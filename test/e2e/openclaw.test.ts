/**
 * The real OpenClaw (npm `openclaw`) in the local mode, through the Worker:
 * wake → ready, a chat answer from the bundled mock model, a tool execution
 * (the model asks OpenClaw's `exec` tool to compute, the output goes back to
 * the model), and the Control UI in real Chromium without the gateway token
 * in any URL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { chromiumMissing, visitControlUi } from '../support/control-ui.ts';
import { localHostToken, post, ROOT, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';

const GATEWAY_TOKEN = 'e2e-gateway-token-5c1f8a';
const ARTIFACTS = join(ROOT, 'test-results');
let stack: LocalStack;

interface ChatCompletion {
  choices: Array<{ message: { role: string; content: string } }>;
}

async function chat(content: string, user: string): Promise<string> {
  const r = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user, messages: [{ role: 'user', content }] }),
  });
  expect(r.status).toBe(200);
  const body = (await r.json()) as ChatCompletion;
  return body.choices[0]?.message.content ?? '';
}

describe('real OpenClaw in local mode', () => {
  beforeAll(async () => {
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      SLEEP_AFTER: '10m',
      OPENCLAW_GATEWAY_TOKEN: GATEWAY_TOKEN,
      // Credentials the operator's shell may hold: none of them may reach the runtime.
      CF_API_TOKEN: 'cf-api-token-must-not-leak',
      CLOUDFLARE_API_TOKEN: 'cloudflare-token-must-not-leak',
      R2_SECRET_ACCESS_KEY: 'r2-secret-must-not-leak',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-must-not-leak',
    });
    const woken = await post(`${stack.url}/api/wake`);
    expect(woken.status).toBe(202);
    await until(
      async () => {
        const s = (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;
        if (s.state === 'stopped' && s.lastError) throw new Error(`boot failed: ${s.lastError.message}`);
        return s.state === 'ready' ? s : undefined;
      },
      120_000,
      'OpenClaw ready',
    );
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('should give the runtime no Cloudflare or storage credentials, and log no gateway token', async () => {
    const home = join(stack.stateDir, 'agents', 'default', 'home');
    const environments: string[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
        if (environ.includes(`OPENCLAW_HOME=${home}\0`)) environments.push(environ);
      } catch {
        // not ours, or gone
      }
    }
    expect(environments.length).toBeGreaterThan(0);
    for (const environ of environments) {
      const names = environ
        .split('\0')
        .map((kv) => kv.split('=')[0])
        .filter(Boolean);
      expect(names.filter((n): n is string => Boolean(n) && /^(CF_|CLOUDFLARE_|R2_|AWS_|ACCESS_|BACKUP_BUCKET)/.test(n as string))).toEqual([]);
      expect(environ).not.toContain('must-not-leak');
    }
    expect(stack.output()).not.toContain(GATEWAY_TOKEN);
  });

  it('should answer a chat message sent through the Worker with the model answer', async () => {
    const answer = await chat('hello there, marker-7f3a', 'e2e-chat');
    expect(answer).toBe('mock answer: hello there, marker-7f3a');
  });

  it('should run the exec tool for the model and give its output back to the model', async () => {
    const answer = await chat('Please compute [[exec: echo $((847293+651824))]]', 'e2e-tool');
    expect(answer).toContain('1499117');
    expect(answer).toMatch(/^Tool output: /);
  });

  it("should refuse a local process that poses as the Worker at the gateway's own port", async () => {
    const report = (await (await fetch(`${stack.hostUrl}/agents/default`, { headers: { authorization: `Bearer ${localHostToken(stack)}` } })).json()) as {
      port: number;
    };
    const forged = await fetch(`http://127.0.0.1:${report.port}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-openclaw-user': 'owner',
        'x-openclaw-proxy': 'openclaw-ondemand',
        'x-forwarded-for': '192.0.2.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': new URL(stack.url).host,
      },
      body: JSON.stringify({ model: 'openclaw', user: 'intruder', messages: [{ role: 'user', content: 'run [[exec: id]]' }] }),
    });
    expect([401, 403]).toContain(forged.status);
    await forged.body?.cancel();
  });

  it('should load the Control UI in Chromium through the Worker, connected, with no token in any URL', async (context) => {
    const missing = chromiumMissing();
    if (missing) context.skip(missing);
    const visit = await visitControlUi(`${stack.url}/`, { user: 'owner', screenshot: join(ARTIFACTS, 'control-ui.png') });
    expect(visit.title).toContain('OpenClaw');
    expect(visit.frames.join('\n')).not.toContain('CONTROL_UI_ORIGIN_NOT_ALLOWED');
    expect(visit.urls.length).toBeGreaterThan(3);
    for (const url of visit.urls) expect(url).not.toContain(GATEWAY_TOKEN);
    for (const url of visit.urls) expect(url).not.toMatch(/[?#&]token=/);
  });
});
