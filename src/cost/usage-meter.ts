/**
 * Self-metering: seconds something billed by the second ran, per calendar
 * month (UTC) and key: the container by instance type (the cost guard's
 * fallback when the usage analytics are unavailable, shown in the status),
 * and the agent's browser sessions (browser-hours).
 */
import type { InstanceType } from '../config.ts';

/** `K`: what the seconds are counted by (the instance type; `browser` for browser sessions). */
export interface MeterRecord<K extends string = InstanceType> {
  /** Start of the open running interval (ms since epoch), or null when not running. */
  openSince: number | null;
  openType: K | null;
  /** Closed intervals: month (`YYYY-MM`) → key → seconds. */
  months: Record<string, Partial<Record<K, number>>>;
  /** Closed intervals per day (`YYYY-MM-DD`, the last 40 days), for the recent burn rate. */
  days?: Record<string, Partial<Record<K, number>>>;
}

export interface MeterTotals<K extends string = InstanceType> {
  month: string;
  running: boolean;
  /** Seconds this month per key, the open interval included. */
  seconds: Partial<Record<K, number>>;
  totalSeconds: number;
}

const DAY_MS = 86_400_000;
const DAYS_KEPT = 40;

export function monthKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function startOfNextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export class UsageMeter<K extends string = InstanceType> {
  #record: MeterRecord<K>;

  constructor(record?: MeterRecord<K>) {
    this.#record = record ? structuredClone(record) : { openSince: null, openType: null, months: {} };
  }

  get running(): boolean {
    return this.#record.openSince !== null;
  }

  /** Opens a running interval; a second call while open changes nothing. */
  start(nowMs: number, type: K): void {
    if (this.#record.openSince !== null) return;
    this.#record.openSince = nowMs;
    this.#record.openType = type;
  }

  /** Closes the open interval, splitting it at month boundaries. */
  stop(nowMs: number): void {
    const { openSince, openType } = this.#record;
    if (openSince === null || openType === null) return;
    addInterval(this.#record.months, openSince, Math.max(openSince, nowMs), openType);
    this.#record.days ??= {};
    addInterval(this.#record.days, openSince, Math.max(openSince, nowMs), openType, dayKey, startOfNextDay);
    const oldest = dayKey(nowMs - DAYS_KEPT * DAY_MS);
    for (const key of Object.keys(this.#record.days)) if (key < oldest) delete this.#record.days[key];
    this.#record.openSince = null;
    this.#record.openType = null;
  }

  totals(nowMs: number, month = monthKey(nowMs)): MeterTotals<K> {
    const months = structuredClone(this.#record.months);
    const { openSince, openType } = this.#record;
    if (openSince !== null && openType !== null) addInterval(months, openSince, Math.max(openSince, nowMs), openType);
    const seconds = months[month] ?? {};
    const totalSeconds = (Object.values(seconds) as Array<number | undefined>).reduce((sum: number, s) => sum + (s ?? 0), 0);
    return { month, running: this.running, seconds, totalSeconds };
  }

  /** Seconds per instance type in the last `hours` hours (whole days from the daily buckets, plus the open interval). */
  recentSeconds(nowMs: number, hours: number): Partial<Record<K, number>> {
    const days = structuredClone(this.#record.days ?? {});
    const { openSince, openType } = this.#record;
    if (openSince !== null && openType !== null) addInterval(days, openSince, Math.max(openSince, nowMs), openType, dayKey, startOfNextDay);
    const from = dayKey(nowMs - hours * 3_600_000);
    const out: Partial<Record<K, number>> = {};
    for (const [key, bucket] of Object.entries(days) as Array<[string, Partial<Record<K, number>>]>) {
      if (key < from) continue;
      for (const [type, s] of Object.entries(bucket) as Array<[K, number]>) out[type] = (out[type] ?? 0) + s;
    }
    return out;
  }

  toJSON(): MeterRecord<K> {
    return structuredClone(this.#record);
  }
}

export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function startOfNextDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS + DAY_MS;
}

function addInterval<K extends string>(
  buckets: MeterRecord<K>['months'],
  fromMs: number,
  toMs: number,
  type: K,
  key: (ms: number) => string = monthKey,
  boundary: (ms: number) => number = startOfNextMonth,
): void {
  let start = fromMs;
  while (start < toMs) {
    const end = Math.min(toMs, boundary(start));
    const at = key(start);
    buckets[at] ??= {};
    const bucket = buckets[at];
    bucket[type] = round3((bucket[type] ?? 0) + (end - start) / 1000);
    start = end;
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
