/**
 * Reading and driving a running stack (the local mode or the production
 * twin) the way an operator does: its status, waiting for a state, a wake,
 * a chat turn through the Worker.
 */
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { post, until } from '../../scripts/lib/local-stack.ts';

export async function readStatus(url: string): Promise<AgentStatus> {
  return (await (await fetch(`${url}/api/status`)).json()) as AgentStatus;
}

/** Polls the status until `check` holds; a boot that gave up fails at once, with its reason. */
export async function waitForStatus(url: string, check: (s: AgentStatus) => boolean, what: string, ms = 60_000): Promise<AgentStatus> {
  let gaveUp = null as AgentStatus | null;
  let last = null as AgentStatus | null;
  const s = await until(
    async () => {
      const s = await readStatus(url);
      last = s;
      if (s.state === 'stopped' && s.lastError && s.lastError.code !== 'container_exited' && !check(s)) {
        gaveUp = s;
        return s;
      }
      return check(s) ? s : undefined;
    },
    ms,
    what,
    100,
  ).catch((error: Error) => {
    // What it was doing instead, for the one who reads the failure.
    const l = last as AgentStatus | null;
    const seen = l
      ? `; last seen: ${l.state} since ${l.since} (stopping ${JSON.stringify(l.stopping)}, boot attempt ${l.bootAttempt}), history ${JSON.stringify(l.history.slice(-4))}`
      : '';
    throw new Error(`${error.message}${seen}`);
  });
  if (gaveUp) throw new Error(`${what}: the boot gave up: ${s.lastError!.code}: ${s.lastError!.message}`);
  return s;
}

export const settledIn = (state: string) => (s: AgentStatus) => s.state === state && s.stopping === null;

export async function wakeToReady(url: string, ms = 180_000): Promise<AgentStatus> {
  await post(`${url}/api/wake`);
  return waitForStatus(url, settledIn('ready'), 'ready', ms);
}

/** One chat turn through the Worker; the assistant's answer (or the error body). */
export async function chatTurn(url: string, content: string, user = 'e2e'): Promise<string> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user, messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await r.text();
  try {
    return (JSON.parse(text) as { choices?: Array<{ message: { content: string } }> }).choices?.[0]?.message.content ?? text;
  } catch {
    return `HTTP ${r.status}: ${text.slice(0, 300)}`;
  }
}

/** A job for OpenClaw's `automations` tool that runs an agent turn (the mock model runs its exec directive) at `atMs`. */
/**
 * An OpenAI-style chat completion event stream, as text: whether it began
 * with the Worker's keep-alive comment (it waited for the wake), whether it
 * ended with `data: [DONE]`, and the content of its deltas.
 */
export function readChatStream(text: string): { keptAlive: boolean; done: boolean; content: string } {
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6));
  const done = data.at(-1) === '[DONE]';
  const content = (done ? data.slice(0, -1) : data)
    .map((d) => (JSON.parse(d) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta?.content ?? '')
    .join('');
  return { keptAlive: /^: waiting for the assistant \(/.test(text), done, content };
}

export function automationJob(name: string, atMs: number, message: string): Record<string, unknown> {
  return {
    name,
    schedule: { kind: 'at', at: new Date(atMs).toISOString() },
    sessionTarget: 'isolated',
    payload: { kind: 'agentTurn', message },
    delivery: { mode: 'none' },
  };
}

/** The chat message that makes the agent create `job` through its automations tool (found through tool_call). */
export function createJobThroughAgent(job: Record<string, unknown>): string {
  return `[[tool:tool_call ${JSON.stringify({ id: 'automations', args: { action: 'add', job } })}]]`;
}
