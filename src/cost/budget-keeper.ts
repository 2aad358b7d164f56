/**
 * An Agent's budget record: the last evaluation the cron sent, the sleepAfter
 * the budget imposes, and the history of decisions (appended only when the
 * decision changes, so the cron running twice records nothing more).
 */
import type { BudgetDecision, BudgetLevel } from './budget-policy.ts';
import type { Projection } from './projection.ts';
import type { ModelMeter } from './model-meter.ts';
import { AppError } from '../errors.ts';

export interface BudgetEvaluation extends Projection {
  at: string;
  /** Scheduled wakes still to come this month (their cost is scheduledUsd). */
  scheduledWakes?: number;
  /** Browser Rendering: browser-hours so far this month, and what the month's browser time costs (in projectedUsd). */
  browserHours?: number;
  browserUsd?: number;
  /** Model calls metered at egress: spent so far this month, and the month at the recent rate (in projectedUsd). */
  modelSoFarUsd?: number;
  modelUsd?: number;
  modelCalls?: number;
  /** The Discord relay, while a bot is connected: its month of Durable Object duration and requests (metered so far, held for the rest), and their cost (in projectedUsd). */
  discordRelay?: { gbSeconds: number; requests: number; usd: number };
  /** The backups in R2: bytes kept now, and what R2 costs this month (in projectedUsd; usually $0 within R2's included amounts). */
  backupBytes?: number;
  r2Usd?: number;
  source: 'graphql' | 'self-meter';
  fallbackReason: string | null;
  /** What the evaluation could not read as usual (a schedule too large to work out, an Agent that failed to report). */
  warnings?: string[];
  softUsd: number;
  hardUsd: number;
  decision: BudgetDecision;
}

export interface BudgetRecord {
  /** sleepAfter the budget imposes, or null (the configured one applies). */
  sleepAfterOverrideMs: number | null;
  last: BudgetEvaluation | null;
  decisions: Array<{ at: string; level: BudgetLevel; sleepAfterMs: number; hibernate: boolean; reason: string; projectedUsd: number; source: string }>;
}

/** What GET /api/cost shows of one Agent. */
export interface CostSummary {
  last: BudgetEvaluation | null;
  decisions: BudgetRecord['decisions'];
  /** sleepAfter in force (shortened by the budget, or the configured one). */
  sleepAfterMs: number;
  configuredSleepAfterMs: number;
  /** This month's model calls as the Worker metered them at egress (tokens, per model, refusals, the last call). */
  model: ReturnType<ModelMeter['summary']>;
  /** The model budget lines (null: none) and where this month's model spend stands against them. */
  modelLines: { softUsd: number | null; hardUsd: number | null; level: 'ok' | 'soft' | 'hard' };
}

const DECISIONS_KEPT = 50;

export class BudgetKeeper {
  #record: BudgetRecord;

  constructor(record?: BudgetRecord) {
    this.#record = record ? structuredClone(record) : { sleepAfterOverrideMs: null, last: null, decisions: [] };
  }

  get sleepAfterOverrideMs(): number | null {
    return this.#record.sleepAfterOverrideMs;
  }

  get last(): BudgetEvaluation | null {
    return this.#record.last;
  }

  get decisions(): BudgetRecord['decisions'] {
    return this.#record.decisions;
  }

  /** Records an evaluation; returns whether its decision differs from the previous one. */
  record(evaluation: BudgetEvaluation): { changed: boolean; previousLevel: BudgetLevel | null } {
    const previous = this.#record.last?.decision ?? null;
    const d = evaluation.decision;
    const changed = !previous || previous.level !== d.level || previous.sleepAfterMs !== d.sleepAfterMs || previous.hibernate !== d.hibernate;
    this.#record.last = evaluation;
    this.#record.sleepAfterOverrideMs = d.level === 'ok' ? null : d.sleepAfterMs;
    if (changed) {
      this.#record.decisions = [
        ...this.#record.decisions,
        {
          at: evaluation.at,
          level: d.level,
          sleepAfterMs: d.sleepAfterMs,
          hibernate: d.hibernate,
          reason: d.reason,
          projectedUsd: evaluation.projectedUsd,
          source: evaluation.source,
        },
      ].slice(-DECISIONS_KEPT);
    }
    return { changed, previousLevel: previous?.level ?? null };
  }

  summary(sleepAfterMs: number, configuredSleepAfterMs: number): Omit<CostSummary, 'model' | 'modelLines'> {
    return { last: this.#record.last, decisions: this.#record.decisions.slice(-20), sleepAfterMs, configuredSleepAfterMs };
  }

  /** Why a resume is refused while the month stays projected over the hard line (null: it is not); `override` runs anyway. */
  resumeRefusal(override: boolean): AppError | null {
    const last = this.#record.last;
    if (last?.decision.level !== 'hard' || override) return null;
    return new AppError(
      'budget_exceeded',
      `the month is still projected at $${last.projectedUsd.toFixed(2)}, over the hard limit $${last.hardUsd.toFixed(2)}; resume with {"override": true} to run anyway (the next cron run may hibernate it again)`,
      { projectedUsd: last.projectedUsd, hardUsd: last.hardUsd },
    );
  }

  toJSON(): BudgetRecord {
    return structuredClone(this.#record);
  }
}
