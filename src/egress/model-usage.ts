/**
 * A model call's usage, read from the provider's own answer as it passes
 * the Worker: a JSON body or a stream of server-sent events (Anthropic's
 * Messages, OpenAI's Chat Completions and Responses, Gemini's
 * generateContent, OpenAI-compatible endpoints). The answer goes on to the
 * container untouched; the meter reads a copy, at most MAX_METERED_BYTES
 * of it. Counts in streams are cumulative, so the largest seen is kept.
 */

export interface ModelUsage {
  model: string | null;
  /** Input tokens not served from the provider's cache. */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedTokens: number;
  /** Input tokens written to the provider's prompt cache (Anthropic). */
  cacheWriteTokens: number;
}

/** The most of one answer the meter reads (a larger answer's usage, if past this, is not seen: said in the call's record). */
export const MAX_METERED_BYTES = 32 * 1024 * 1024;
/** The longest line of an event stream the meter parses. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.min(Math.floor(value), 1e12) : 0);
const object = (value: unknown): Record<string, unknown> | null =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

/** Folds one JSON object of an answer (a whole body or one event) into `usage`. */
export function foldUsage(usage: ModelUsage, value: unknown): void {
  const root = object(value);
  if (!root) return;
  // Anthropic's message_start and OpenAI's Responses events wrap the message or response.
  for (const inner of [root, object(root.message), object(root.response)]) {
    if (!inner) continue;
    if (typeof inner.model === 'string' && inner.model) usage.model = inner.model.slice(0, 200);
    if (typeof inner.modelVersion === 'string' && inner.modelVersion) usage.model = inner.modelVersion.slice(0, 200);
    const u = object(inner.usage);
    if (u) {
      const cached =
        count(u.cache_read_input_tokens) || count(object(u.prompt_tokens_details)?.cached_tokens) || count(object(u.input_tokens_details)?.cached_tokens);
      // OpenAI counts cached tokens inside its input figure; Anthropic beside it.
      const openAiShape = u.prompt_tokens !== undefined || object(u.input_tokens_details) !== null || object(u.prompt_tokens_details) !== null;
      const input = count(u.input_tokens) || count(u.prompt_tokens);
      usage.inputTokens = Math.max(usage.inputTokens, openAiShape ? Math.max(0, input - cached) : input);
      usage.outputTokens = Math.max(usage.outputTokens, count(u.output_tokens) || count(u.completion_tokens));
      usage.cachedTokens = Math.max(usage.cachedTokens, cached);
      usage.cacheWriteTokens = Math.max(usage.cacheWriteTokens, count(u.cache_creation_input_tokens));
    }
    const g = object(inner.usageMetadata);
    if (g) {
      const cached = count(g.cachedContentTokenCount);
      usage.inputTokens = Math.max(usage.inputTokens, Math.max(0, count(g.promptTokenCount) - cached));
      usage.outputTokens = Math.max(usage.outputTokens, count(g.candidatesTokenCount) + count(g.thoughtsTokenCount));
      usage.cachedTokens = Math.max(usage.cachedTokens, cached);
    }
  }
}

export const NO_MODEL_USAGE: ModelUsage = { model: null, inputTokens: 0, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 };

/** The usage in an answer's body, read to its end (or MAX_METERED_BYTES). `truncated`: the meter stopped reading before the end. */
export async function readUsage(body: ReadableStream<Uint8Array>, contentType: string): Promise<{ usage: ModelUsage; truncated: boolean }> {
  const usage: ModelUsage = { ...NO_MODEL_USAGE };
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const stream = /text\/event-stream/i.test(contentType);
  let pending = '';
  let read = 0;
  let truncated = false;
  const line = (text: string) => {
    const data = /^data:\s?(.*)$/.exec(text.trimEnd())?.[1];
    if (data === undefined || data === '[DONE]' || data === '') return;
    try {
      foldUsage(usage, JSON.parse(data));
    } catch {
      // not JSON: nothing to count
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.byteLength;
    if (read > MAX_METERED_BYTES) {
      truncated = true;
      await reader.cancel();
      break;
    }
    pending += decoder.decode(value, { stream: true });
    if (!stream) continue;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      line(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE_BYTES) pending = '';
  }
  if (stream) line(pending);
  else if (!truncated) {
    try {
      foldUsage(usage, JSON.parse(pending + decoder.decode()));
    } catch {
      // not JSON: nothing to count
    }
  }
  return { usage, truncated };
}
