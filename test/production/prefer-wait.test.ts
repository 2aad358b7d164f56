/**
 * `Prefer: wait` on the production path: one streaming chat completion wakes
 * the sleeping `Agent`'s container, is kept alive while it boots, and gets the
 * real OpenClaw's own event stream in the same answer.
 */
import { describe, expect, inject, it } from 'vitest';
import { readChatStream } from '../support/stack-client.ts';
import { ensureAwake, sleep, status, twinUrl } from './twin-client.ts';

describe.skipIf(inject('twinSkipped') !== '')('production twin: a request that waits for the wake', () => {
  it('should wake a sleeping assistant for a streaming chat completion, keep the client alive, then stream the answer', async () => {
    await ensureAwake();
    await sleep();
    const response = await fetch(`${twinUrl()}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=300' },
      body: JSON.stringify({ model: 'openclaw', user: 'twin-waiter', stream: true, messages: [{ role: 'user', content: 'hello after the wake, wait-3f9' }] }),
      signal: AbortSignal.timeout(330_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    // Kept alive while the container booted (a comment line before the gateway's stream), then OpenClaw's stream to its end.
    expect(readChatStream(await response.text())).toEqual({ keptAlive: true, done: true, content: 'mock answer: hello after the wake, wait-3f9' });
    const after = await status();
    expect(after.state).toBe('ready');
    // The boot it waited for is one of those the next estimate is taken from.
    expect(after.bootEstimate?.boots).toBeGreaterThanOrEqual(1);
  }, 400_000);
});
