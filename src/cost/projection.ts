/**
 * The month's projection: month-to-date use plus the recent burn rate over
 * the hours left in the (UTC) month, priced once so the included amounts
 * count only once. Both figures are shown.
 */
import { addUsage, monthCost, NO_USAGE, type ContainerUsage, type Pricing } from './pricing.ts';

export interface Projection {
  /** What the month costs so far (plan fee included). */
  monthToDateUsd: number;
  /** Month-to-date plus the recent burn rate for the rest of the month, plus the scheduled wakes still to come. */
  projectedUsd: number;
  /** The part of projectedUsd the scheduled wakes still to come add. */
  scheduledUsd: number;
  /** Container spend per hour at the recent rate (after the included amounts run out). */
  burnUsdPerHour: number;
  hoursLeft: number;
  recentHours: number;
}

export function endOfMonthMs(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function startOfMonthMs(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * `recent` should leave out what scheduled wakes ran (they are not a rate to
 * extrapolate); `scheduled` is what the scheduled wakes still to come this
 * month will use, added once.
 */
export function projectMonth(
  monthToDate: ContainerUsage,
  recent: ContainerUsage,
  recentHours: number,
  nowMs: number,
  pricing: Pricing,
  scheduled: ContainerUsage = NO_USAGE,
): Projection {
  const hoursLeft = Math.max(0, (endOfMonthMs(nowMs) - nowMs) / 3_600_000);
  const perHour = recentHours > 0 ? 1 / recentHours : 0;
  const withoutSchedule = addUsage(monthToDate, recent, perHour * hoursLeft);
  const projected = addUsage(withoutSchedule, scheduled);
  const now = monthCost(monthToDate, pricing);
  const end = monthCost(projected, pricing);
  return {
    monthToDateUsd: round2(now.totalUsd),
    projectedUsd: round2(end.totalUsd),
    scheduledUsd: round2(end.totalUsd - monthCost(withoutSchedule, pricing).totalUsd),
    burnUsdPerHour: hoursLeft > 0 ? round4((end.containersUsd - now.containersUsd) / hoursLeft) : 0,
    hoursLeft: Math.round(hoursLeft * 10) / 10,
    recentHours,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round4 = (n: number) => Math.round(n * 10_000) / 10_000;
