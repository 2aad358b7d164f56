/**
 * The machine's durable timers: one due time per timer name, persisted with
 * the snapshot. The host keeps a single platform wakeup (a DO alarm, or the
 * Container's schedule()) at the earliest due time.
 */
import type { TimerName } from '../../../machines/lifecycle-types.ts';

export type TimerEntries = Partial<Record<TimerName, number>>;

/** Sets or clears the one platform wakeup. */
export interface WakeupPort {
  setWakeup(atMs: number | null): Promise<void>;
}

export class TimerTable {
  #entries: TimerEntries;

  constructor(entries: TimerEntries = {}) {
    this.#entries = { ...entries };
  }

  schedule(name: TimerName, dueAtMs: number): void {
    this.#entries[name] = dueAtMs;
  }

  cancel(name: TimerName): void {
    delete this.#entries[name];
  }

  /** Moves a set timer earlier, to `dueAtMs` (never later; a timer not set stays unset). */
  pullForward(name: TimerName, dueAtMs: number): boolean {
    const current = this.#entries[name];
    if (current === undefined || current <= dueAtMs) return false;
    this.#entries[name] = dueAtMs;
    return true;
  }

  dueAt(name: TimerName): number | undefined {
    return this.#entries[name];
  }

  /** Removes and returns the timers due at `nowMs`, earliest first. */
  takeDue(nowMs: number): TimerName[] {
    const due = (Object.entries(this.#entries) as Array<[TimerName, number]>)
      .filter(([, at]) => at <= nowMs)
      .sort((a, b) => a[1] - b[1])
      .map(([name]) => name);
    for (const name of due) delete this.#entries[name];
    return due;
  }

  /** Earliest due time, or null when no timer is set. */
  next(): number | null {
    const times = Object.values(this.#entries) as number[];
    return times.length ? Math.min(...times) : null;
  }

  toJSON(): TimerEntries {
    return { ...this.#entries };
  }
}
