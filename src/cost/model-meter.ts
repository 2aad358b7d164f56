/**
 * The assistant's model spend, metered by the Worker at egress (never
 * reported by the container): each call's tokens and price, this UTC month,
 * per model, and per hour for the burn rate. It answers the egress handler's
 * question before each call (the model budget lines: go, wait, or refuse)
 * and the cost guard's (what the month has cost, and the recent rate).
 */
import { startOfMonthMs } from './projection.ts';
import type { ModelUsage } from '../egress/model-usage.ts';

export interface ModelCall {
  provider: string;
  usage: ModelUsage;
  usd: number;
  /** Whether the price table knew the model (else it was priced at the fallback). */
  priced: boolean;
  status: number;
  /** The meter stopped reading the answer before its end (its usage may be short). */
  truncated: boolean;
}

interface Totals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  usd: number;
}

export interface ModelMeterRecord extends Totals {
  /** The month these figures are of (its start, ms). */
  monthStartMs: number;
  byModel: Record<string, Totals>;
  /** Models priced at the fallback this month. */
  unpriced: string[];
  /** Spend per hour: [hour start ms, usd], the last 31 days. */
  hourly: Array<[number, number]>;
  /** Calls refused by the hard model line this month. */
  refused: number;
  lastCall: { at: string; model: string | null; provider: string; status: number; usd: number; inputTokens: number; outputTokens: number } | null;
}

export interface ModelLines {
  softUsd: number | null;
  hardUsd: number | null;
  slowDelayMs: number;
}

export type ModelGate = { go: true; delayMs: number; level: 'ok' | 'soft' } | { go: false; level: 'hard'; reason: string };

const HOUR_MS = 3_600_000;
const MAX_HOURS = 31 * 24;
/** Models kept apart in the month's figures; the rest are summed under "other". */
const MAX_MODELS = 40;
const MAX_UNPRICED = 20;

const zero = (): Totals => ({ calls: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, usd: 0 });
const add = (t: Totals, call: ModelCall) => {
  t.calls += 1;
  t.inputTokens += call.usage.inputTokens;
  t.outputTokens += call.usage.outputTokens;
  t.cachedTokens += call.usage.cachedTokens;
  t.usd += call.usd;
};
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

export class ModelMeter {
  #record: ModelMeterRecord;

  constructor(record?: ModelMeterRecord) {
    this.#record = record ? structuredClone(record) : ModelMeter.#empty(0);
  }

  static #empty(monthStartMs: number): ModelMeterRecord {
    return { ...zero(), monthStartMs, byModel: {}, unpriced: [], hourly: [], refused: 0, lastCall: null };
  }

  /** A new month starts from nothing (the hourly figures stay: the burn rate looks back across the month's turn). */
  #month(now: number): ModelMeterRecord {
    const start = startOfMonthMs(now);
    if (this.#record.monthStartMs !== start) this.#record = { ...ModelMeter.#empty(start), hourly: this.#record.hourly };
    return this.#record;
  }

  record(call: ModelCall, now: number): void {
    const r = this.#month(now);
    add(r, call);
    const model = call.usage.model ?? `${call.provider}/unknown`;
    const key = r.byModel[model] || Object.keys(r.byModel).length < MAX_MODELS ? model : 'other';
    r.byModel[key] ??= zero();
    add(r.byModel[key], call);
    if (!call.priced && !r.unpriced.includes(model) && r.unpriced.length < MAX_UNPRICED) r.unpriced.push(model);
    const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
    const last = r.hourly.at(-1);
    if (last && last[0] === hour) last[1] = round6(last[1] + call.usd);
    else r.hourly.push([hour, round6(call.usd)]);
    r.hourly = r.hourly.filter(([at]) => at > now - MAX_HOURS * HOUR_MS);
    r.lastCall = {
      at: new Date(now).toISOString(),
      model: call.usage.model,
      provider: call.provider,
      status: call.status,
      usd: round6(call.usd),
      inputTokens: call.usage.inputTokens,
      outputTokens: call.usage.outputTokens,
    };
  }

  refused(now: number): void {
    this.#month(now).refused += 1;
  }

  monthUsd(now: number): number {
    return this.#month(now).usd;
  }

  /** Before a call: the model lines against what this month's calls cost. */
  gate(lines: ModelLines, now: number): ModelGate {
    const spent = this.monthUsd(now);
    if (lines.hardUsd !== null && spent >= lines.hardUsd) {
      return {
        go: false,
        level: 'hard',
        reason: `the model budget is spent: $${spent.toFixed(2)} this month ≥ the hard model limit $${lines.hardUsd.toFixed(2)} (MODEL_BUDGET_HARD_USD); model calls resume next month or when the owner raises it`,
      };
    }
    if (lines.softUsd !== null && spent >= lines.softUsd) return { go: true, delayMs: lines.slowDelayMs, level: 'soft' };
    return { go: true, delayMs: 0, level: 'ok' };
  }

  /** What the cost guard prices: this month's spend and the spend in the last `hours`. */
  report(hours: number, now: number): { monthUsd: number; recentUsd: number; calls: number } {
    const r = this.#month(now);
    const since = now - hours * HOUR_MS;
    const recentUsd = r.hourly.filter(([at]) => at + HOUR_MS > since).reduce((sum, [, usd]) => sum + usd, 0);
    return { monthUsd: round6(r.usd), recentUsd: round6(recentUsd), calls: r.calls };
  }

  /** For the status and `/api/cost`. */
  summary(now: number): Omit<ModelMeterRecord, 'hourly' | 'monthStartMs'> & { month: string } {
    const { hourly: _hourly, monthStartMs, ...rest } = this.#month(now);
    return { ...structuredClone(rest), usd: round6(rest.usd), month: new Date(monthStartMs).toISOString().slice(0, 7) };
  }

  toJSON(): ModelMeterRecord {
    return structuredClone(this.#record);
  }
}
