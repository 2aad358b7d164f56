/**
 * One call wakes the real OpenClaw and gets its answer (`Prefer: wait=N`),
 * in the local mode through the Worker: a plain chat completion from a
 * stopped assistant, and a streaming one from a sleeping assistant — kept
 * alive while it boots, then OpenClaw's own event stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { post, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { readChatStream } from '../support/stack-client.ts';

let stack: LocalStack;
const status = async () => (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;

function chat(content: string, stream: boolean): Promise<Response> {
  return fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'wait=300' },
    body: JSON.stringify({ model: 'openclaw', user: 'waiter', stream, messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(330_000),
  });
}

describe('Prefer: wait with the real OpenClaw in local mode', () => {
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m', REQUEST_WAIT_MAX: '5m' });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('should wake a stopped assistant and answer the chat completion in the same call', async () => {
    expect((await status()).state).toBe('stopped');
    const response = await chat('hello from one call', false);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content).toBe('mock answer: hello from one call');
    const s = await status();
    expect(s.state).toBe('ready');
    expect(s.bootEstimate).toMatchObject({ boots: 1, remainingMs: null });
  }, 360_000);

  it('should keep a streaming client alive while a sleeping assistant wakes, then stream its answer', async () => {
    await post(`${stack.url}/api/sleep`);
    await until(async () => ((await status()).state === 'sleeping' ? true : undefined), 120_000, 'sleeping');
    const response = await chat('stream after the wake', true);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(readChatStream(await response.text())).toEqual({ keptAlive: true, done: true, content: 'mock answer: stream after the wake' });
  }, 360_000);
});
