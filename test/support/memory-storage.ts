/** Map-backed stand-ins for the storage and wakeup ports of the controller. */
import type { ControllerStorage } from '../../src/agent/agent-record.ts';
import type { WakeupPort } from '../../src/agent/timer-table.ts';

export class MemoryStorage implements ControllerStorage {
  readonly data = new Map<string, unknown>();
  writes = 0;

  async get<T>(key: string): Promise<T | undefined> {
    const value = this.data.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  async put<T>(key: string, value: T): Promise<void> {
    this.writes += 1;
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
