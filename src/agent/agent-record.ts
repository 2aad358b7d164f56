/**
 * The Agent's persisted record: the machine's snapshot and everything kept
 * beside it, written in order after every change (one write chain), with the
 * one platform wakeup set only when it changes. And the check that a stored
 * snapshot is one this machine can read.
 */
import type { SnapshotFrom } from 'xstate';
import { lifecycleMachine } from '../../machines/lifecycle.ts';
import { LIFECYCLE_STATES, type LifecycleState, type ScheduledJob } from '../../machines/lifecycle-types.ts';
import { errorMessage } from '../errors.ts';
import type { CdpRecord } from '../browser/cdp-passthrough.ts';
import type { ModelAccessRecord } from './model-access.ts';
import type { BudgetRecord } from '../cost/budget-keeper.ts';
import type { ModelMeterRecord } from '../cost/model-meter.ts';
import type { BootTimelineRecord } from './records/boot-timeline.ts';
import type { MeterRecord } from '../cost/usage-meter.ts';
import type { ScheduleRecord } from './records/schedule-keeper.ts';
import type { StateKeeperRecord } from './records/state-keeper.ts';
import type { StopRecord } from './effects/stop-sequence.ts';
import type { ControllerStorage } from './effect-context.ts';
import type { TimerEntries, WakeupPort } from './records/timer-table.ts';

export type LifecycleSnapshot = SnapshotFrom<typeof lifecycleMachine>;

export interface TransitionRecord {
  from: LifecycleState;
  to: LifecycleState;
  /** The event that caused it. */
  event: string;
  /** Why, in words. */
  reason: string;
  /** ISO time. */
  at: string;
}

/** A scheduled wake under way: its job, when it began, how its run went. */
export interface ScheduledWakeInProgress {
  job: ScheduledJob;
  wokeAt: number;
  outcome: 'finished' | 'gave-up' | 'interrupted';
}

export interface PersistedRecord {
  snapshot: unknown;
  timers: TimerEntries;
  meter: MeterRecord;
  since: number;
  lastActivityAt: number | null;
  history: TransitionRecord[];
  state?: StateKeeperRecord;
  budget?: BudgetRecord;
  lastStop?: StopRecord | null;
  finalBackupOwed?: boolean;
  boots?: BootTimelineRecord;
  schedule?: ScheduleRecord;
  scheduledWake?: ScheduledWakeInProgress | null;
  browser?: CdpRecord;
  /** The browser the start script reported at the last boot (local mode: the machine's Chromium, or none). */
  localBrowser?: { mode: string; detail: string } | null;
  /** How the model is reached: the subscription's sign-in as last reported, the credentials' fingerprint. */
  modelAccess?: ModelAccessRecord;
  /** Model calls metered at egress this month. */
  modelMeter?: ModelMeterRecord;
}

const STORAGE_KEY = 'lifecycle';
/**
 * The size the persisted record is kept within (Durable Object storage takes
 * 2 MB a value; every part of the record is bounded far below this, so only
 * a bug or an older record reaches it).
 */
export const RECORD_BUDGET_BYTES = 512 * 1024;

const byteSize = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/**
 * The record within RECORD_BUDGET_BYTES: over it, the parts that are only
 * for show or can be read again are cut, in this order — the job list (read
 * again from the gateway at the next stop), the transition history, the
 * scheduled wakes kept for the projection — never the snapshot, the timers,
 * the meter, the budget or the backups' record.
 */
export function fitRecord(record: PersistedRecord): { record: PersistedRecord; trimmed: string[]; bytes: number } {
  let bytes = byteSize(record);
  const trimmed: string[] = [];
  const cuts: Array<[string, (r: PersistedRecord) => PersistedRecord]> = [
    [
      'schedule.jobs',
      (r) => (r.schedule ? { ...r, schedule: { ...r.schedule, jobs: [], jobsOmitted: (r.schedule.jobsOmitted ?? 0) + r.schedule.jobs.length } } : r),
    ],
    ['history', (r) => ({ ...r, history: r.history.slice(-5) })],
    ['schedule.wakes', (r) => (r.schedule ? { ...r, schedule: { ...r.schedule, wakes: r.schedule.wakes.slice(-20) } } : r)],
  ];
  for (const [name, cut] of cuts) {
    if (bytes <= RECORD_BUDGET_BYTES) break;
    record = cut(record);
    trimmed.push(name);
    bytes = byteSize(record);
  }
  return { record, trimmed, bytes };
}

/** The top-level state of a snapshot (a state this machine does not know reads as `stopped`). */
export function topState(snapshot: LifecycleSnapshot): LifecycleState {
  const value = snapshot.value;
  const top = typeof value === 'string' ? value : Object.keys(value)[0];
  return LIFECYCLE_STATES.includes(top as LifecycleState) ? (top as LifecycleState) : 'stopped';
}

/** Whether a stored snapshot fits this machine (state names exist, context present). */
export function isReadableSnapshot(persisted: unknown): boolean {
  const candidate = persisted as { value?: unknown; context?: unknown; status?: unknown };
  if (!candidate || typeof candidate !== 'object' || candidate.status !== 'active') return false;
  if (!candidate.context || typeof candidate.context !== 'object') return false;
  try {
    const resolved = lifecycleMachine.resolveState({ value: candidate.value as string, context: candidate.context as never });
    return LIFECYCLE_STATES.includes(topState(resolved));
  } catch {
    return false;
  }
}

/** Whether a snapshot this machine cannot read was hibernated (a hibernation must survive it). */
export function wasHibernated(persisted: unknown): boolean {
  return JSON.stringify((persisted as { value?: unknown } | undefined)?.value ?? '').includes('hibernated');
}

export class RecordWriter {
  readonly #storage: ControllerStorage;
  readonly #wakeups: WakeupPort;
  readonly #log: (event: string, fields: Record<string, unknown>) => void;
  #writes: Promise<void> = Promise.resolve();
  /**
   * The platform wakeup last set (undefined: not known). Set again only when
   * it changes: setting a DO alarm again and again (a request every few
   * hundred ms) keeps a due alarm from ever running.
   */
  #wakeupSet: number | null | undefined = undefined;

  constructor(storage: ControllerStorage, wakeups: WakeupPort, log: (event: string, fields: Record<string, unknown>) => void) {
    this.#storage = storage;
    this.#wakeups = wakeups;
    this.#log = log;
  }

  read(): Promise<PersistedRecord | undefined> {
    return this.#storage.get<PersistedRecord>(STORAGE_KEY);
  }

  /** Queues the record (kept within RECORD_BUDGET_BYTES) and (when it changed) the platform wakeup behind every earlier write. */
  write(full: PersistedRecord, wakeup: number | null): void {
    const { record, trimmed, bytes } = fitRecord(full);
    if (trimmed.length) this.#log('lifecycle:record-trimmed', { trimmed: trimmed.join(', '), bytes });
    const setWakeup = wakeup !== this.#wakeupSet;
    this.#wakeupSet = wakeup;
    this.#writes = this.#writes
      .then(() => this.#storage.put(STORAGE_KEY, record))
      .then(() => (setWakeup ? this.#wakeups.setWakeup(wakeup) : undefined))
      .catch((error) => {
        this.#wakeupSet = undefined; // try the wakeup again with the next write
        this.#log('lifecycle:persist-failed', { message: errorMessage(error) });
      });
  }

  /** The platform's wakeup was used up: the next write sets it whatever it is. */
  wakeupUsed(): void {
    this.#wakeupSet = undefined;
  }

  /** Resolves once every write so far is done. */
  async settle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.#writes;
      await current;
    } while (current !== this.#writes);
  }
}
