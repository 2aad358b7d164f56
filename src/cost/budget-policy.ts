/**
 * The budget policy: a pure function of the month's figures, so running it
 * twice on the same figures decides the same thing (the cron is idempotent).
 * It decides on the larger of what the month has cost so far and what it is
 * projected to cost: money spent holds the hard line whatever the projection
 * says (a projection can be wrong; what was spent cannot be unspent).
 *   figure ≤ soft: the configured sleepAfter;
 *   soft < figure ≤ hard: sleepAfter shortened by one step per `stepUsd`
 *     over the soft line (the first cent over counts as one), down to the floor;
 *   figure > hard: hibernate (and the floor, should it be resumed).
 */
export interface BudgetSettings {
  softUsd: number;
  hardUsd: number;
  /** Every this many dollars over the soft line shortens sleepAfter by one more step. */
  stepUsd: number;
  stepMs: number;
  floorMs: number;
}

export type BudgetLevel = 'ok' | 'soft' | 'hard';

export interface BudgetDecision {
  level: BudgetLevel;
  sleepAfterMs: number;
  hibernate: boolean;
  reason: string;
}

/** The month's two figures the policy decides on. */
export interface BudgetFigures {
  monthToDateUsd: number;
  projectedUsd: number;
}

export function decideBudget(figures: BudgetFigures, configuredSleepAfterMs: number, b: BudgetSettings): BudgetDecision {
  const floor = Math.min(b.floorMs, configuredSleepAfterMs);
  const spent = figures.monthToDateUsd > figures.projectedUsd;
  const usd = Math.max(figures.monthToDateUsd, figures.projectedUsd);
  const figure = `${spent ? 'spent this month' : 'projected'} $${usd.toFixed(2)}`;
  if (usd > b.hardUsd) {
    return { level: 'hard', sleepAfterMs: floor, hibernate: true, reason: `budget: ${figure} > hard limit $${b.hardUsd.toFixed(2)}` };
  }
  if (usd > b.softUsd) {
    const steps = 1 + Math.floor((usd - b.softUsd) / b.stepUsd);
    const sleepAfterMs = Math.max(floor, configuredSleepAfterMs - steps * b.stepMs);
    return {
      level: 'soft',
      sleepAfterMs,
      hibernate: false,
      reason: `budget: ${figure} > soft limit $${b.softUsd.toFixed(2)}: sleepAfter ${Math.round(sleepAfterMs / 60_000)} min`,
    };
  }
  return {
    level: 'ok',
    sleepAfterMs: configuredSleepAfterMs,
    hibernate: false,
    reason: `budget: projected $${usd.toFixed(2)} within $${b.softUsd.toFixed(2)}`,
  };
}
