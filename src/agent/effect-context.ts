/**
 * What the controller's effects share: its dependencies, its clock and log,
 * the way to persist the record, and the work in progress within a state
 * (restores, backups) that the status shows as the phase.
 */
import type { Config } from '../config.ts';
import type { BackupStore } from '../backup/backup-store.ts';
import type { BrowserSessions } from '../browser/browser-sessions.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { WakeupPort } from './records/timer-table.ts';
import type { ModelLines } from '../cost/model-meter.ts';
import type { InboxStorage } from '../inbox/inbox.ts';
import type { DiscordBot, TelegramBot } from '../inbox/inbox-types.ts';

/** The slice of Durable Object storage the controller uses (a Map-backed fake will do). */
export interface ControllerStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

export type { Log } from '../log.ts';
import type { Log } from '../log.ts';

export interface ControllerDeps {
  storage: ControllerStorage;
  wakeups: WakeupPort;
  runtime: Runtime;
  config: Config;
  runtimeKind: 'local' | 'sandbox';
  /** Environment for the start script (secrets; never logged). */
  containerEnv: Record<string, string>;
  /** Where backups go; null disables backups (and restores). */
  backups?: BackupStore | null;
  clock?: () => number;
  log?: Log;
  /** Posts an operator notification (NOTIFY_WEBHOOK_URL); absent when none is configured. */
  notify?: (body: Record<string, unknown>) => Promise<void>;
  /** Told whenever a person's request counts as activity (the platform's idle timer follows it). */
  onActivity?: () => void;
  /** Browser Rendering (production): the agent's browser through the CDP passthrough; absent: OpenClaw's own (local mode) or none. */
  browserSessions?: BrowserSessions | null;
  /** The model budget lines the egress handler's calls are held to (absent: none). */
  modelLines?: ModelLines;
  /** The chat inbox: the Durable Object's storage for it and the bots (absent: no chat channel). */
  inbox?: { storage: InboxStorage; telegram: TelegramBot | null; discord?: DiscordBot | null };
  /** How the boot loop waits between readiness probes (tests pass one that needs no real time). */
  sleep?: (ms: number) => Promise<void>;
}

export type Activity = 'restoring' | 'backing-up';

/** Work in progress within a state, counted (backups may overlap). */
export class Activities {
  readonly #counts = new Map<Activity, number>();

  async during<T>(activity: Activity, work: () => Promise<T>): Promise<T> {
    this.#counts.set(activity, (this.#counts.get(activity) ?? 0) + 1);
    try {
      return await work();
    } finally {
      this.#counts.set(activity, (this.#counts.get(activity) ?? 1) - 1);
    }
  }

  /** The one to show: a restore outranks a backup. */
  current(): Activity | null {
    if (this.#counts.get('restoring')) return 'restoring';
    if (this.#counts.get('backing-up')) return 'backing-up';
    return null;
  }
}

/**
 * The effects running in the background (health and change checks, backups,
 * stops, work checks): whoever needs to know when they are all done waits
 * for `drained()` (the tests step the controller with it, never with time).
 */
export class EffectTracker {
  readonly #running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    const entry = work.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(entry);
    void entry.then(() => this.#running.delete(entry));
    return work;
  }

  /** Resolves once no tracked effect runs (effects that start others are waited for too). */
  async drained(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

export interface EffectContext {
  deps: ControllerDeps;
  now: () => number;
  log: Log;
  /** Queues a write of the whole record. */
  persist: () => void;
  activities: Activities;
  effects: EffectTracker;
}
