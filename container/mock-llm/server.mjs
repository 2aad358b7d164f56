// A small OpenAI-compatible model server for offline use of the local mode and
// the tests: POST /v1/chat/completions (streaming SSE and plain JSON) and
// GET /v1/models. It reads the whole conversation, not only the last message:
//   - after a tool result, it answers with that result ("Tool output: …"),
//     unless a directive of the person's is still to run;
//   - when a user message carries a directive [[exec: <shell command>]] that has
//     not run since that message, it asks for the `exec` tool with that command
//     (the same command asked again in a later turn runs again);
//   - [[tool:<name> <JSON arguments>]] asks for any tool by name (OpenClaw's
//     `cron`, `browser`, …) with those arguments; several directives in one
//     message run one after the other;
//   - otherwise it answers "mock answer: <the newest user text>" (of a hook
//     turn, the text inside OpenClaw's external-content wrapper).
// Environment: MOCK_LLM_PORT (default 0 = any free port), MOCK_LLM_LOG (file to append requests to).
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

export const MOCK_MODEL_ID = 'mock-model';
const DIRECTIVE = /\[\[exec:\s*([\s\S]+?)\]\]|\[\[tool:([a-z_][a-z0-9_.-]*)\s+(\{[\s\S]*?\})\]\]/g;

/** The tool calls a message's directives ask for, in order: exec commands and named tools with JSON arguments. */
function directives(text) {
  const calls = [];
  for (const m of text.matchAll(DIRECTIVE)) {
    if (m[1] !== undefined) calls.push({ name: 'exec', args: { command: m[1].trim() } });
    else {
      try {
        calls.push({ name: m[2], args: JSON.parse(m[3]) });
      } catch {
        // not JSON: not a directive
      }
    }
  }
  return calls;
}

/** JSON with sorted keys, so the same arguments read the same however they were written. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** What identifies a call that ran: an exec by its command (OpenClaw may add its own exec options), another tool by its arguments. */
const callKey = (name, args) => (name === 'exec' ? `exec ${args?.command}` : `${name} ${canonical(args)}`);

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'string' ? part : (part?.text ?? ''))).join('\n');
  return '';
}

/** OpenClaw adds context blocks as user messages; they are data, not the person's words. */
function isInjected(message) {
  return message.role === 'user' && /^\s*<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>/.test(textOf(message.content));
}

/** The person's words: without OpenClaw's timestamp prefix, a channel's context blocks (`Conversation info: ⟦openclaw:ctx⟧` + JSON) and runtime footer. */
function personText(text) {
  // A hook turn (POST /hooks/agent: a Discord message the Worker handed on) wraps the person's text as external content.
  const wrapped = /<<<EXTERNAL_UNTRUSTED_CONTENT[^>]*>>>\n(?:[A-Za-z]+: [^\n]*\n)*---\n([\s\S]*?)\n<<<END_EXTERNAL_UNTRUSTED_CONTENT/.exec(text);
  if (wrapped) return wrapped[1].trim();
  return text
    .replace(/^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [^\]]*\]\s*/, '')
    .replace(/^(?:[^\n]*⟦openclaw:ctx⟧\s*```json\n[\s\S]*?\n```\s*)+/, '')
    .replace(/\n\nRuntime:[\s\S]*$/, '')
    .trim();
}

/**
 * Decides the next assistant turn from the whole conversation. A directive is
 * pending when it has not run since the user message that asks for it: the
 * same command asked again in a later turn runs again, as a real model would.
 */
export function decide(allMessages) {
  const messages = allMessages.filter((m) => !isInjected(m));
  const last = messages.at(-1);
  const ranSince = new Set();
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === 'user') {
      const pending = directives(personText(textOf(m.content))).filter((call) => !ranSince.has(callKey(call.name, call.args)));
      if (pending.length) return { kind: 'tool', name: pending[0].name, args: pending[0].args };
      continue;
    }
    for (const call of m.tool_calls ?? []) {
      try {
        ranSince.add(callKey(call.function?.name, JSON.parse(call.function?.arguments ?? '{}')));
      } catch {}
    }
  }
  if (last?.role === 'tool') return { kind: 'text', text: `Tool output: ${textOf(last.content).trim()}` };
  const users = messages.filter((m) => m.role === 'user').map((m) => personText(textOf(m.content)));
  const newest = users.filter((t) => t.trim()).at(-1) ?? '';
  return { kind: 'text', text: `mock answer: ${newest.trim().slice(-300)}` };
}

function completion(decision, model, id, created) {
  const message =
    decision.kind === 'tool'
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: `call_${id}`, type: 'function', function: { name: decision.name, arguments: JSON.stringify(decision.args) } }],
        }
      : { role: 'assistant', content: decision.text };
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, finish_reason: decision.kind === 'tool' ? 'tool_calls' : 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

function* chunks(decision, model, id, created, includeUsage) {
  const base = { id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created, model };
  yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  if (decision.kind === 'tool') {
    yield {
      ...base,
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, id: `call_${id}`, type: 'function', function: { name: decision.name, arguments: '' } }] },
          finish_reason: null,
        },
      ],
    };
    yield {
      ...base,
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: JSON.stringify(decision.args) } }] }, finish_reason: null }],
    };
  } else {
    for (const piece of decision.text.match(/.{1,24}/gs) ?? []) yield { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
  }
  yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: decision.kind === 'tool' ? 'tool_calls' : 'stop' }] };
  if (includeUsage) yield { ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } };
}

/** Starts the mock model on `host` (default loopback) and `port` (default: any free one). */
export function startMockLlm({ port = 0, host = '127.0.0.1', log } = {}) {
  let counter = 0;
  const requests = [];
  const server = createServer(async (req, res) => {
    const body = [];
    for await (const c of req) body.push(c);
    const url = new URL(req.url ?? '/', 'http://mock');
    const send = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && /\/models\/?$/.test(url.pathname)) {
      return send(200, { object: 'list', data: [{ id: MOCK_MODEL_ID, object: 'model', created: 0, owned_by: 'mock' }] });
    }
    if (req.method !== 'POST' || !url.pathname.endsWith('/chat/completions')) return send(404, { error: { message: 'not found' } });
    let payload;
    try {
      payload = JSON.parse(Buffer.concat(body).toString('utf8'));
    } catch {
      return send(400, { error: { message: 'invalid JSON' } });
    }
    const messages = Array.isArray(payload.messages) ? payload.messages : [];
    const decision = decide(messages);
    requests.push({ at: Date.now(), messages: messages.length, bytes: Buffer.concat(body).length, decision });
    if (log)
      appendFileSync(
        log,
        `${JSON.stringify({ at: new Date().toISOString(), request: payload, decision, authorization: req.headers.authorization ?? null })}\n`,
      );
    const id = `${Date.now().toString(36)}${(counter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = payload.model ?? MOCK_MODEL_ID;
    if (!payload.stream) return send(200, completion(decision, model, id, created));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const chunk of chunks(decision, model, id, created, payload.stream_options?.include_usage)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        url: `http://${host}:${address.port}/v1`,
        port: address.port,
        requests,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mock = await startMockLlm({ port: Number(process.env.MOCK_LLM_PORT ?? 0), log: process.env.MOCK_LLM_LOG });
  console.log(`mock LLM on ${mock.url} (model ${MOCK_MODEL_ID})`);
}
