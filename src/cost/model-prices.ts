/**
 * Model prices as data, US dollars per million tokens, each with its
 * source. A model id is priced by the longest entry it starts with (a dated
 * or suffixed id takes its family's price); a model the table does not know
 * is priced at the table's highest rates, so an unknown model never looks
 * cheaper than it may be, and is named as unpriced in the cost view. The
 * `MODEL_PRICES` var (JSON, the same shape) adds or replaces entries.
 */
import { AppError, parseJsonObject } from '../errors.ts';
import type { ModelUsage } from '../egress/model-usage.ts';

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Cache reads; default a tenth of the input price (both providers' rule for current models). */
  cachedPerMTok?: number;
  /** Cache writes (Anthropic, 5-minute); default 1.25 × the input price. */
  cacheWritePerMTok?: number;
}

/**
 * Sources:
 * - Anthropic: platform.claude.com/docs/about-claude/models/whats-new-opus-5 (its
 *   lineup table, read 2026-12) and platform.claude.com/docs/about-claude/pricing.
 * - OpenAI: developers.openai.com/api/docs/pricing, as summarised 2026-11-05 for
 *   the GPT-5 family (gpt-5, gpt-5.1: $1.25 / $10; gpt-5.4: $2.50 / $15).
 * Models not listed (gpt-5.2, gpt-6-*, Gemini, Grok) take the fallback until the
 * operator names them in MODEL_PRICES.
 */
export const DEFAULT_MODEL_PRICES: Record<string, ModelPrice> = {
  'claude-fable-5': { inputPerMTok: 10, outputPerMTok: 50 },
  'claude-opus-5.5': { inputPerMTok: 4, outputPerMTok: 20 },
  'claude-opus-5-5': { inputPerMTok: 4, outputPerMTok: 20 },
  'claude-opus-5': { inputPerMTok: 5, outputPerMTok: 25, cachedPerMTok: 0.5, cacheWritePerMTok: 6.25 },
  'claude-sonnet-5.5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-sonnet-5-5': { inputPerMTok: 2, outputPerMTok: 10 },
  'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-6': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5 },
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5.1': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5.4': { inputPerMTok: 2.5, outputPerMTok: 15 },
};

export interface ModelPriceTable {
  prices: Record<string, ModelPrice>;
  fallback: ModelPrice;
}

function highest(prices: Record<string, ModelPrice>): ModelPrice {
  const all = Object.values(prices);
  return {
    inputPerMTok: Math.max(0, ...all.map((p) => p.inputPerMTok)),
    outputPerMTok: Math.max(0, ...all.map((p) => p.outputPerMTok)),
  };
}

/** DEFAULT_MODEL_PRICES with MODEL_PRICES's entries. @throws AppError `not_configured` naming what is wrong. */
export function parseModelPrices(override: string | undefined): ModelPriceTable {
  const prices: Record<string, ModelPrice> = { ...DEFAULT_MODEL_PRICES };
  if (override?.trim()) {
    const patch = parseJsonObject(override, 'not_configured', { notJson: 'MODEL_PRICES is not valid JSON', notObject: 'MODEL_PRICES must be an object' });
    for (const [model, entry] of Object.entries(patch)) {
      const p = entry as Record<string, unknown> | null;
      const fields = ['inputPerMTok', 'outputPerMTok', 'cachedPerMTok', 'cacheWritePerMTok'] as const;
      const ok =
        typeof p === 'object' &&
        p !== null &&
        typeof p.inputPerMTok === 'number' &&
        typeof p.outputPerMTok === 'number' &&
        Object.keys(p).every((k) => (fields as readonly string[]).includes(k)) &&
        fields.every((f) => p[f] === undefined || (typeof p[f] === 'number' && Number.isFinite(p[f]) && (p[f] as number) >= 0));
      if (!ok)
        throw new AppError(
          'not_configured',
          `MODEL_PRICES["${model}"] must be {"inputPerMTok": n, "outputPerMTok": n} (optional cachedPerMTok, cacheWritePerMTok)`,
        );
      const price: ModelPrice = { inputPerMTok: Number(p?.inputPerMTok), outputPerMTok: Number(p?.outputPerMTok) };
      if (typeof p?.cachedPerMTok === 'number') price.cachedPerMTok = p.cachedPerMTok;
      if (typeof p?.cacheWritePerMTok === 'number') price.cacheWritePerMTok = p.cacheWritePerMTok;
      prices[model.toLowerCase()] = price;
    }
  }
  return { prices, fallback: highest(prices) };
}

/** The entry a model id is priced by: the longest the id (without a `provider/` prefix) starts with; null when none. */
export function priceEntry(model: string | null, table: ModelPriceTable): { key: string; price: ModelPrice } | null {
  if (!model) return null;
  const id = model.toLowerCase().replace(/^[a-z0-9-]+\//, '');
  let best: string | null = null;
  for (const key of Object.keys(table.prices)) if (id.startsWith(key) && (best === null || key.length > best.length)) best = key;
  const price = best === null ? undefined : table.prices[best];
  return best !== null && price ? { key: best, price } : null;
}

/** What a call cost, and whether its model was in the table. */
export function priceCall(usage: ModelUsage, table: ModelPriceTable): { usd: number; priced: boolean } {
  const entry = priceEntry(usage.model, table);
  const p = entry?.price ?? table.fallback;
  const usd =
    (usage.inputTokens * p.inputPerMTok +
      usage.outputTokens * p.outputPerMTok +
      usage.cachedTokens * (p.cachedPerMTok ?? p.inputPerMTok / 10) +
      usage.cacheWriteTokens * (p.cacheWritePerMTok ?? p.inputPerMTok * 1.25)) /
    1e6;
  return { usd, priced: entry !== null };
}
