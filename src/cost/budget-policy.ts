/**
 * The budget policy: a pure function of the projection, so running it twice
 * on the same figures decides the same thing (the cron is idempotent).
 *   projected ≤ soft: the configured sleepAfter;
 *   soft < projected ≤ hard: sleepAfter shortened by one step per `stepUsd`
 *     over the soft line (the first cent over counts as one), down to the floor;
 *   projected > hard: hibernate (and the floor, should it be resumed).
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

export function decideBudget(projectedUsd: number, configuredSleepAfterMs: number, b: BudgetSettings): BudgetDecision {
  const floor = Math.min(b.floorMs, configuredSleepAfterMs);
  if (projectedUsd > b.hardUsd) {
    return { level: 'hard', sleepAfterMs: floor, hibernate: true, reason: `budget: projected $${projectedUsd.toFixed(2)} > hard limit $${b.hardUsd.toFixed(2)}` };
  }
  if (projectedUsd > b.softUsd) {
    const steps = 1 + Math.floor((projectedUsd - b.softUsd) / b.stepUsd);
    const sleepAfterMs = Math.max(floor, configuredSleepAfterMs - steps * b.stepMs);
    return { level: 'soft', sleepAfterMs, hibernate: false, reason: `budget: projected $${projectedUsd.toFixed(2)} > soft limit $${b.softUsd.toFixed(2)}: sleepAfter ${Math.round(sleepAfterMs / 60_000)} min` };
  }
  return { level: 'ok', sleepAfterMs: configuredSleepAfterMs, hibernate: false, reason: `budget: projected $${projectedUsd.toFixed(2)} within $${b.softUsd.toFixed(2)}` };
}
