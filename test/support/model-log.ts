/**
 * The mock model's request log (container/mock-llm/server.mjs, one JSON line
 * per request): a chat turn survived when the gateway sends it back to the
 * model with the next turn of that conversation.
 */
import { readFileSync } from 'node:fs';

/** Whether the newest request the mock model received carried `word` in its messages. */
export function lastModelRequestMentions(logPath: string, word: string): boolean {
  const lines = readFileSync(logPath, 'utf8').trim().split('\n');
  const last = JSON.parse(lines.at(-1) ?? '{}') as { request?: { messages?: unknown[] } };
  return JSON.stringify(last.request?.messages ?? []).includes(word);
}
