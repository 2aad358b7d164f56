/**
 * The Discord relay's meter: what its Durable Object is billed for in a
 * calendar month (UTC), counted by the relay itself — the time it held the
 * session (the outbound WebSocket keeps the object in memory: billed
 * duration) and its requests (each alarm, each frame from Discord). Pure:
 * the relay keeps the meter in its storage and advances it with the clock.
 */
import type { RelayUsage } from './discord-frames.ts';

export interface RelayMeter {
  /** `YYYY-MM` (UTC). */
  month: string;
  heldMs: number;
  requests: number;
  /** Held time is counted up to here (null while not holding). */
  countedAt: number | null;
}

export const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

function monthStartMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function newMeter(nowMs: number): RelayMeter {
  return { month: monthOf(nowMs), heldMs: 0, requests: 0, countedAt: null };
}

/**
 * The meter at `nowMs`: the held time since it was last counted added (a
 * month that ended starts a new meter, its held time from the month's
 * start), `requests` more counted, counting on while `holding`.
 */
export function advanceMeter(meter: RelayMeter, nowMs: number, holding: boolean, requests = 0): RelayMeter {
  let m = meter;
  if (m.month !== monthOf(nowMs)) m = { ...newMeter(nowMs), countedAt: m.countedAt === null ? null : monthStartMs(nowMs) };
  const held = m.countedAt === null ? 0 : Math.max(0, nowMs - m.countedAt);
  return { month: m.month, heldMs: m.heldMs + held, requests: m.requests + requests, countedAt: holding ? nowMs : null };
}

export function meterUsage(meter: RelayMeter, holding: boolean): RelayUsage {
  return { month: meter.month, heldSeconds: meter.heldMs / 1000, requests: meter.requests, holding };
}
