/** The bundled mock model: OpenAI-compatible answers, streaming, scripted tool calls. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, startMockLlm } from '../../container/mock-llm/server.mjs';

let mock: Awaited<ReturnType<typeof startMockLlm>>;
const injected = {
  role: 'user',
  content: [{ type: 'text', text: '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nActive exec sessions: none\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>' }],
};

describe('mock LLM', () => {
  beforeAll(async () => {
    mock = await startMockLlm();
  });
  afterAll(async () => {
    await mock.close();
  });

  describe('decide', () => {
    it("should answer the person, not OpenClaw's injected context block", () => {
      const d = decide([{ role: 'system', content: 'x' }, { role: 'user', content: '[Tue 2026-11-24 18:27 UTC] hello\n\nRuntime: agent=main' }, injected]);
      expect(d).toEqual({ kind: 'text', text: 'mock answer: hello' });
    });

    it("should answer a hook turn's wrapped external content, not OpenClaw's instructions around it", () => {
      const hook = [
        'SECURITY NOTICE: The following content is from an EXTERNAL, UNTRUSTED source (e.g., email, webhook).',
        '<<<EXTERNAL_UNTRUSTED_CONTENT id="0da495c05a822449">>>',
        'Source: Webhook',
        'Task: Discord',
        '---',
        'hello from discord, marker-3f1',
        '<<<END_EXTERNAL_UNTRUSTED_CONTENT id="0da495c05a822449">>>',
        '',
        'This is an unattended scheduled run. Your final reply is the deliverable.',
      ].join('\n');
      expect(decide([{ role: 'user', content: hook }])).toEqual({ kind: 'text', text: 'mock answer: hello from discord, marker-3f1' });
    });

    it('should call exec for a directive, then answer with the tool output', () => {
      const ask = { role: 'user', content: 'run [[exec: echo 42]]' };
      expect(decide([ask, injected])).toEqual({ kind: 'tool', name: 'exec', args: { command: 'echo 42' } });
      const call = {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'exec', arguments: '{"command":"echo 42"}' } }],
      };
      expect(decide([ask, call, { role: 'tool', tool_call_id: 'c1', content: '42\n' }, injected])).toEqual({ kind: 'text', text: 'Tool output: 42' });
    });

    it('should not run a directive again once it ran', () => {
      const ask = { role: 'user', content: 'run [[exec: echo 42]]' };
      const call = {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'exec', arguments: '{"command":"echo 42"}' } }],
      };
      const later = { role: 'user', content: 'thanks' };
      expect(decide([ask, call, { role: 'tool', content: '42' }, { role: 'assistant', content: 'Tool output: 42' }, later])).toEqual({
        kind: 'text',
        text: 'mock answer: thanks',
      });
    });

    it('should run the same directive again when a later turn asks for it again', () => {
      const ask = { role: 'user', content: 'run [[exec: cat marker.txt]]' };
      const call = {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'exec', arguments: '{"command":"cat marker.txt"}' } }],
      };
      const firstTurn = [ask, call, { role: 'tool', tool_call_id: 'c1', content: 'old' }, { role: 'assistant', content: 'Tool output: old' }];
      expect(decide([...firstTurn, ask])).toEqual({ kind: 'tool', name: 'exec', args: { command: 'cat marker.txt' } });
      const again = { ...call, tool_calls: [{ ...call.tool_calls[0]!, id: 'c2' }] };
      expect(decide([...firstTurn, ask, again, { role: 'tool', tool_call_id: 'c2', content: 'new' }])).toEqual({ kind: 'text', text: 'Tool output: new' });
    });

    it('should call any tool a [[tool:name {json}]] directive names, each directive once, in order', () => {
      const ask = { role: 'user', content: 'plan [[tool:cron {"action":"status"}]] then [[exec: echo done]]' };
      expect(decide([ask])).toEqual({ kind: 'tool', name: 'cron', args: { action: 'status' } });
      const first = {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'cron', arguments: '{"action":"status"}' } }],
      };
      // Within the same turn: after the first tool's result, the next directive; after the last, its output.
      expect(decide([ask, first, { role: 'tool', tool_call_id: 'c1', content: 'ok' }])).toEqual({ kind: 'tool', name: 'exec', args: { command: 'echo done' } });
      const second = {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c2', type: 'function', function: { name: 'exec', arguments: '{"command":"echo done"}' } }],
      };
      expect(
        decide([ask, first, { role: 'tool', tool_call_id: 'c1', content: 'ok' }, second, { role: 'tool', tool_call_id: 'c2', content: 'done\n' }]),
      ).toEqual({ kind: 'text', text: 'Tool output: done' });
      expect(decide([{ role: 'user', content: '[[tool:cron {not json}]]' }])).toEqual({ kind: 'text', text: 'mock answer: [[tool:cron {not json}]]' });
    });
  });

  describe('HTTP', () => {
    it('should answer a plain chat completion', async () => {
      const r = await fetch(`${mock.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await r.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
      expect(body.choices[0]).toMatchObject({ message: { content: 'mock answer: hi' }, finish_reason: 'stop' });
    });

    it('should stream a tool call as SSE chunks ending with [DONE]', async () => {
      const r = await fetch(`${mock.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'mock-model', stream: true, messages: [{ role: 'user', content: '[[exec: date]]' }] }),
      });
      expect(r.headers.get('content-type')).toContain('text/event-stream');
      const events = (await r.text())
        .split('\n\n')
        .filter(Boolean)
        .map((e) => e.replace(/^data: /, ''));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      const args = chunks
        .flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])
        .map((t: { function: { arguments?: string } }) => t.function.arguments ?? '')
        .join('');
      expect(JSON.parse(args)).toEqual({ command: 'date' });
      expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
    });

    it('should list its model and reject bad JSON with 400', async () => {
      expect(((await (await fetch(`${mock.url}/models`)).json()) as { data: Array<{ id: string }> }).data[0]?.id).toBe('mock-model');
      expect((await fetch(`${mock.url}/chat/completions`, { method: 'POST', body: '{' })).status).toBe(400);
    });
  });
});
