/**
 * The agent's browser in the local mode: the real OpenClaw's browser tool,
 * driven by the scripted model, on Debian's Chromium that the configure step
 * set up (headless, launched by the gateway). It opens a page this test
 * serves, reads its text and clicks a link to the next page. Without a
 * Chromium the tool is off and the status says why.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { chromiumMissing } from '../support/control-ui.ts';
import { chatTurn, wakeToReady } from '../support/stack-client.ts';

const FIRST = 'marker-first-page-0815';
const SECOND = 'marker-second-page-4711';

/** One browser tool call through the chat: the mock model runs the directive and answers with the tool's output. */
function browserCall(url: string, args: Record<string, unknown>): Promise<string> {
  return chatTurn(url, `[[tool:tool_call ${JSON.stringify({ id: 'browser', args })}]]`);
}

/** The tool's output is JSON the model sees as text; the answer quotes it ("Tool output: …"). */
function toolJson(answer: string): Record<string, unknown> {
  const body = answer.replace(/^Tool output: /, '');
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { raw: body };
  }
}

const missing = chromiumMissing();

describe.skipIf(missing)(`the agent's browser: OpenClaw's browser tool on the machine's Chromium${missing ? ` (SKIPPED: ${missing})` : ''}`, () => {
  let stack: LocalStack;
  let site: Server;
  let pages: string[] = [];
  let base = '';
  beforeAll(async () => {
    site = createServer((req, res) => {
      pages.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      if (req.url === '/next') res.end(`<!doctype html><title>Second</title><main><h1>Second page</h1><p>${SECOND}</p></main>`);
      else res.end(`<!doctype html><title>First</title><main><h1>First page</h1><p>${FIRST}</p><a href="/next">Go to the second page</a></main>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    // OpenClaw's browser refuses private addresses unless allowed: the test's page is on loopback.
    stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', BROWSER_ALLOWED_HOSTNAMES: '127.0.0.1', SLEEP_AFTER: '10m' });
  }, 120_000);
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.log(stack.output().slice(-8000));
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => site?.close(r));
  });

  it('should open a page, read its text and click its link through the browser tool, and show the browser in the status', async () => {
    const ready = await wakeToReady(stack.url);
    expect(ready.browser).toMatchObject({ mode: 'local-chromium' });
    expect(JSON.stringify(ready.browser)).toContain('/usr/bin/chromium, headless');
    pages = [];

    const opened = toolJson(await browserCall(stack.url, { action: 'open', url: `${base}/`, label: 'e2e' }));
    expect(JSON.stringify(opened)).toContain(base);
    expect(pages).toContain('/');

    const text = await browserCall(stack.url, { action: 'text', targetId: 'e2e' });
    expect(text).toContain(FIRST);

    const snapshot = await browserCall(stack.url, { action: 'snapshot', targetId: 'e2e', interactive: true });
    const ref = /link \\?"Go to the second page\\?" \[ref=(\w+)\]/.exec(snapshot)?.[1];
    expect(ref, snapshot.slice(0, 2000)).toBeTruthy();

    const clicked = await browserCall(stack.url, { action: 'act', kind: 'click', ref, targetId: 'e2e' });
    expect(pages).toContain('/next');
    // After the navigation the tab is named by its CDP target id, which the click's result gives.
    const target = /"targetId\\?": ?\\?"([0-9A-Fa-f]+)/.exec(clicked)?.[1];
    expect(target, clicked.slice(-1000)).toBeTruthy();
    const after = await browserCall(stack.url, { action: 'text', targetId: target });
    expect(after).toContain(SECOND);
    expect(after).not.toContain(FIRST);
    // The browser's first use changed no config: the gateway kept running (a restart would drop the next turn).
    expect(stack.output()).not.toContain('requires gateway restart');
  }, 240_000);
});

describe('no browser for the agent', () => {
  let stack: LocalStack;
  afterAll(async () => {
    await stack?.stop();
  });

  it('should say in the status that a configured Chromium is missing, and keep the browser tool off', async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', LOCAL_BROWSER: '/nonexistent/chromium', SLEEP_AFTER: '10m' });
    expect(stack.output()).toContain('/nonexistent/chromium is not there');
    const ready = await wakeToReady(stack.url);
    expect(ready.browser.mode).toBe('missing');
    expect(JSON.stringify(ready.browser)).toContain('apt-get install chromium');
    const answer = await browserCall(stack.url, { action: 'status' });
    // OpenClaw's own words: the tool is there, its browser control is off.
    expect(answer).toContain('Browser control is disabled');
  }, 180_000);
});
