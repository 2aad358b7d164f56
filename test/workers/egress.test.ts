/**
 * Credentials at egress in workerd, entered as the Containers platform
 * enters it: the Worker's ContainerProxy entrypoint with the container's
 * Durable Object id. The provider is the test's (global fetch, spied on);
 * the Agent is the real Durable Object, whose meter and model lines answer.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CostSummary } from '../../src/cost/budget-keeper.ts';
import { SETTLED } from './settled.ts';

let counter = 0;

function outboundFor(id: DurableObjectId): Fetcher {
  return (exports as unknown as { ContainerProxy: (o: { props: Record<string, unknown> }) => Fetcher }).ContainerProxy({
    props: { containerId: id.toString(), className: 'TestAgent', enableInternet: true, interceptAll: false },
  });
}

async function costOf(stub: DurableObjectStub): Promise<CostSummary> {
  const result = (await (stub as unknown as { costSummary(): Promise<{ ok: true; cost: CostSummary }> }).costSummary()) as { ok: true; cost: CostSummary };
  return result.cost;
}

describe('credentials at egress (workerd, the ContainerProxy entrypoint)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('should send a model call with the real key, meter it into the Agent, and refuse the next once the month passes the hard model line', async () => {
    const id = env.AGENT.idFromName(`egress-${Date.now()}-${counter++}`);
    const stub = env.AGENT.get(id);
    const sent: Array<{ url: string; authorization: string | null }> = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init);
      sent.push({ url: request.url, authorization: request.headers.get('authorization') });
      const body = JSON.stringify({ model: 'grok-5', usage: { prompt_tokens: 1_000_000, completion_tokens: 100_000 } });
      return new Response(body, { headers: { 'content-type': 'application/json' } });
    });
    const outbound = outboundFor(id);
    const call = () =>
      outbound.fetch('https://api.x.ai/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer xai-ondemand-placeholder-xai-api-key', 'content-type': 'application/json' },
        body: '{"model":"grok-5"}',
      });

    const answer = await call();
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { model: string }).model).toBe('grok-5');
    expect(sent[0]?.url).toBe('https://api.x.ai/v1/chat/completions');
    expect(sent[0]?.authorization).toBe('Bearer xai-workers-real-key');
    // Recorded after the answer went back; grok-5 is not in the price table: the fallback ($10 / $50 per million) prices it, and says so.
    await vi.waitFor(async () => expect((await costOf(stub)).model.calls).toBe(1), SETTLED);
    const cost = await costOf(stub);
    expect(cost.model).toMatchObject({ calls: 1, inputTokens: 1_000_000, outputTokens: 100_000, usd: 15, unpriced: ['grok-5'] });
    expect(cost.modelLines).toEqual({ softUsd: 40, hardUsd: 50, level: 'ok' });

    // Four more calls: $75 this month, over the hard model line ($50); the next call never reaches the provider.
    for (let i = 0; i < 3; i++) {
      const next = await call();
      expect(next.status).toBe(200);
      await next.text(); // read, as the container reads it: the meter reads a copy of what passes
    }
    await vi.waitFor(async () => expect((await costOf(stub)).model.calls).toBe(4), SETTLED);
    const refused = await call();
    expect(refused.status).toBe(402);
    const error = ((await refused.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('budget_exceeded');
    expect(error.message).toMatch(/^openclaw-ondemand: the model budget is spent: \$60\.00 this month ≥ the hard model limit \$50\.00/);
    expect(sent).toHaveLength(4);
    expect(await costOf(stub)).toMatchObject({ model: { calls: 4, refused: 1 }, modelLines: { level: 'hard' } });
  }, 30_000);

  it('should leave hosts the Worker holds no credential for to the platform (not metered, not rewritten)', async () => {
    const id = env.AGENT.idFromName(`egress-${Date.now()}-${counter++}`);
    const seen: Array<string | null> = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      seen.push(new Request(input as RequestInfo, init).headers.get('x-api-key'));
      return new Response('elsewhere');
    });
    const answer = await outboundFor(id).fetch('https://api.anthropic.com/v1/messages', { method: 'POST', headers: { 'x-api-key': 'theirs' }, body: '{}' });
    expect(await answer.text()).toBe('elsewhere');
    expect(seen).toEqual(['theirs']);
    expect((await costOf(env.AGENT.get(id))).model.calls).toBe(0);
  });
});
