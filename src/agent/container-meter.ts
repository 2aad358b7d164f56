/**
 * Self-metering: seconds the container ran, per calendar month (UTC) and
 * instance type. It is the cost guard's fallback when the usage analytics
 * are unavailable, and is shown in the status.
 */
import type { InstanceType } from '../config.ts';

export interface MeterRecord {
  /** Start of the open running interval (ms since epoch), or null when not running. */
  openSince: number | null;
  openType: InstanceType | null;
  /** Closed intervals: month (`YYYY-MM`) → instance type → seconds. */
  months: Record<string, Partial<Record<InstanceType, number>>>;
}

export interface MeterTotals {
  month: string;
  running: boolean;
  /** Seconds this month per instance type, the open interval included. */
  seconds: Partial<Record<InstanceType, number>>;
  totalSeconds: number;
}

export function monthKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function startOfNextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export class ContainerMeter {
  #record: MeterRecord;

  constructor(record?: MeterRecord) {
    this.#record = record ? structuredClone(record) : { openSince: null, openType: null, months: {} };
  }

  get running(): boolean {
    return this.#record.openSince !== null;
  }

  /** Opens a running interval; a second call while open changes nothing. */
  start(nowMs: number, type: InstanceType): void {
    if (this.#record.openSince !== null) return;
    this.#record.openSince = nowMs;
    this.#record.openType = type;
  }

  /** Closes the open interval, splitting it at month boundaries. */
  stop(nowMs: number): void {
    const { openSince, openType } = this.#record;
    if (openSince === null || openType === null) return;
    addInterval(this.#record.months, openSince, Math.max(openSince, nowMs), openType);
    this.#record.openSince = null;
    this.#record.openType = null;
  }

  totals(nowMs: number, month = monthKey(nowMs)): MeterTotals {
    const months = structuredClone(this.#record.months);
    const { openSince, openType } = this.#record;
    if (openSince !== null && openType !== null) addInterval(months, openSince, Math.max(openSince, nowMs), openType);
    const seconds = months[month] ?? {};
    const totalSeconds = Object.values(seconds).reduce((sum, s) => sum + (s ?? 0), 0);
    return { month, running: this.running, seconds, totalSeconds };
  }

  toJSON(): MeterRecord {
    return structuredClone(this.#record);
  }
}

function addInterval(months: MeterRecord['months'], fromMs: number, toMs: number, type: InstanceType): void {
  let start = fromMs;
  while (start < toMs) {
    const end = Math.min(toMs, startOfNextMonth(start));
    const key = monthKey(start);
    const bucket = (months[key] ??= {});
    bucket[type] = round3((bucket[type] ?? 0) + (end - start) / 1000);
    start = end;
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
