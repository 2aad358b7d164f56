/** Map-backed stand-ins for the storage and wakeup ports of the controller. */
import type { ControllerStorage } from '../../src/agent/effect-context.ts';
import type { WakeupPort } from '../../src/agent/records/timer-table.ts';

/** The largest value Durable Object storage takes (SQLite-backed objects: 2 MiB); a larger put fails, as there. */
export const DO_MAX_VALUE_BYTES = 2 * 1024 * 1024;

export class MemoryStorage implements ControllerStorage {
  readonly data = new Map<string, unknown>();
  writes = 0;
  failedWrites = 0;

  async get<T>(key: string): Promise<T | undefined> {
    const value = this.data.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  async put<T>(key: string, value: T): Promise<void> {
    this.writes += 1;
    const bytes = new TextEncoder().encode(JSON.stringify(value)).byteLength;
    if (bytes > DO_MAX_VALUE_BYTES) {
      this.failedWrites += 1;
      throw new RangeError(`Values cannot be larger than ${DO_MAX_VALUE_BYTES} bytes. A value of size ${bytes} was provided.`);
    }
    this.data.set(key, structuredClone(value));
  }
}

export class RecordingWakeups implements WakeupPort {
  next: number | null = null;
  async setWakeup(atMs: number | null): Promise<void> {
    this.next = atMs;
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  now: number;
  constructor(start = Date.UTC(2026, 10, 24, 12, 0, 0)) {
    this.now = start;
  }
  advance(ms: number): void {
    this.now += ms;
  }
  readonly read = (): number => this.now;
}
