/**
 * Keeps an assistant's state across container lifetimes: backups through the
 * runtime into the BackupStore (skipped when nothing changed), and the restore
 * before every boot, which takes the newest backup that passes its integrity
 * check and never starts from empty state while backups exist.
 */
import { errorMessage } from '../../errors.ts';
import { CodedError, type RestoreFailureCode } from '../../contract/error-codes.ts';
import type { BackupManifest, BackupStore } from '../../backup/backup-store.ts';
import { RuntimeError, type Runtime, type RuntimeArchive } from '../../runtime/runtime.ts';

export interface BackupEvent {
  kind: 'backup' | 'restore';
  /** `ok`, `unchanged` (nothing uploaded), `skipped` (backups not configured), `fresh` (no backup to restore), `failed`. */
  result: 'ok' | 'unchanged' | 'skipped' | 'fresh' | 'failed';
  at: string;
  reason: string;
  ms: number;
  id?: string;
  size?: number;
  files?: number;
  error?: string;
}

export interface StateKeeperRecord {
  lastFingerprint: string | null;
  history: BackupEvent[];
  /** The newest backup known to hold the state (stored or restored last), kept beyond the history's length. */
  lastGood?: { id: string; at: string } | null;
  /** What the backups use of R2, for the cost guard (see R2Record). */
  r2?: R2Record;
}

/**
 * The backups' use of R2: the bytes of the backups kept (learnt at every
 * restore, which lists them, and kept up at every save and prune), and the
 * operations this month, counted as they are made (the Worker's own) or as
 * the Sandbox SDK makes them for one backup (its archive and metadata).
 */
export interface R2Record {
  /** The backups kept and their sizes. */
  stored: Array<{ id: string; size: number }>;
  /** `YYYY-MM` (UTC) the counts are for. */
  month: string;
  classA: number;
  classB: number;
}

/** R2 operations the Sandbox SDK makes itself for one backup (its archive upload and metadata write) and one restore (metadata and archive reads). */
const SDK_BACKUP_CLASS_A = 2;
const SDK_RESTORE_CLASS_B = 2;

/** A restore that cannot succeed; `retryable` false means: do not boot (and do not start empty). */
export class RestoreFailure extends CodedError<RestoreFailureCode> {
  readonly retryable: boolean;
  constructor(code: RestoreFailureCode, message: string, retryable: boolean) {
    super(code, message, 'RestoreFailure');
    this.retryable = retryable;
  }
}

const HISTORY_LIMIT = 20;
/** The reason of a backup taken at boot of state no backup had (a crash, an abrupt exit). */
export const RECOVERED_AT_BOOT = 'recovered at boot';

/** What a StateKeeper works with: the runtime it snapshots and restores, the backup store (null: backups off), whose state it is. */
export interface StateKeeperOptions {
  runtime: Runtime;
  store: BackupStore | null;
  agent: string;
  runtimeKind: 'local' | 'sandbox';
  now: () => number;
  /** Its record as last persisted (absent: a first start). */
  record?: StateKeeperRecord;
}

export class StateKeeper {
  readonly #runtime: Runtime;
  readonly #store: BackupStore | null;
  readonly #agent: string;
  readonly #runtimeKind: 'local' | 'sandbox';
  readonly #now: () => number;
  #record: StateKeeperRecord;
  #running: Promise<BackupEvent | null> | null = null;

  constructor(options: StateKeeperOptions) {
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#agent = options.agent;
    this.#runtimeKind = options.runtimeKind;
    this.#now = options.now;
    this.#record = options.record ?? { lastFingerprint: null, history: [] };
  }

  get enabled(): boolean {
    return this.#store !== null;
  }

  get history(): BackupEvent[] {
    return this.#record.history;
  }

  /** The newest backup known to hold the state: what a container lost without a final backup falls back to. */
  get lastGood(): { id: string; at: string } | null {
    return this.#record.lastGood ?? null;
  }

  /** The backups' R2 use this month (storage: what is kept now). */
  r2Usage(nowMs: number): { storedBytes: number; backups: number; classA: number; classB: number } {
    const r2 = this.#r2(nowMs);
    return { storedBytes: r2.stored.reduce((sum, b) => sum + b.size, 0), backups: r2.stored.length, classA: r2.classA, classB: r2.classB };
  }

  toJSON(): StateKeeperRecord {
    return {
      lastFingerprint: this.#record.lastFingerprint,
      history: [...this.#record.history],
      lastGood: this.#record.lastGood ?? null,
      ...(this.#record.r2 ? { r2: structuredClone(this.#record.r2) } : {}),
    };
  }

  /** This month's R2 record (a new month starts its counts at zero, its storage carried over). */
  #r2(nowMs: number): R2Record {
    const month = new Date(nowMs).toISOString().slice(0, 7);
    const r2 = this.#record.r2;
    if (r2?.month === month) return r2;
    this.#record.r2 = { stored: r2?.stored ?? [], month, classA: 0, classB: 0 };
    return this.#record.r2;
  }

  /** Adds the operations the store made since `before`, and what the SDK made itself. */
  #count(before: { classA: number; classB: number }, sdk: { classA?: number; classB?: number } = {}): void {
    const store = this.#store as BackupStore;
    const r2 = this.#r2(this.#now());
    r2.classA += store.ops.classA - before.classA + (this.#runtimeKind === 'sandbox' ? (sdk.classA ?? 0) : 0);
    r2.classB += store.ops.classB - before.classB + (this.#runtimeKind === 'sandbox' ? (sdk.classB ?? 0) : 0);
  }

  /**
   * Backs the running state up. Backups run one at a time: a call made while
   * one runs waits for it and then takes its own (so it covers every write
   * made before the call). Throws on failure.
   */
  backup(reason: string): Promise<BackupEvent> {
    const previous = this.#running ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.#backup(reason));
    this.#running = next;
    void next
      .catch(() => null)
      .then(() => {
        if (this.#running === next) this.#running = null;
      });
    return next;
  }

  async #backup(reason: string): Promise<BackupEvent> {
    const started = this.#now();
    if (!this.#store) return this.#remember({ kind: 'backup', result: 'skipped', at: iso(started), reason, ms: 0 });
    try {
      const archive = await this.#runtime.backup(this.#record.lastFingerprint);
      if (!archive) return this.#remember({ kind: 'backup', result: 'unchanged', at: iso(started), reason, ms: this.#now() - started });
      const manifest = await this.#save(archive, reason, started);
      this.#record.lastFingerprint = archive.fingerprint;
      return this.#remember({
        kind: 'backup',
        result: 'ok',
        at: iso(started),
        reason,
        ms: this.#now() - started,
        id: manifest.id,
        size: manifest.size,
        files: manifest.files,
      });
    } catch (error) {
      const message = errorMessage(error);
      this.#remember({ kind: 'backup', result: 'failed', at: iso(started), reason, ms: this.#now() - started, error: message });
      throw new RuntimeError('backup_failed', `backup failed: ${message}`);
    }
  }

  /**
   * Before a boot: restores the newest intact backup (older ones when the newer
   * fail their check), or prepares an empty state when there is none. Throws
   * RestoreFailure; stored backups are never changed by a restore.
   */
  /**
   * `provision` starts what the runtime runs on (the container) once the
   * leftover state has been looked at: a container started before that look
   * would be a new one, whose empty disk must never count as "newer".
   */
  async restore(provision: () => Promise<void> = async () => {}): Promise<BackupEvent> {
    const started = this.#now();
    const provisioned = async () => {
      try {
        await provision();
      } catch (error) {
        throw new RestoreFailure('runtime_start_failed', errorMessage(error), true);
      }
    };
    if (!this.#store) {
      await provisioned();
      await this.#prepare(null);
      return this.#remember({ kind: 'restore', result: 'skipped', at: iso(started), reason: 'backups not configured', ms: this.#now() - started });
    }
    let candidates: BackupManifest[];
    const before = { ...this.#store.ops };
    try {
      candidates = await this.#store.list();
    } catch (error) {
      throw new RestoreFailure('restore_unavailable', `cannot list backups: ${errorMessage(error)}`, true);
    }
    this.#count(before, { classB: SDK_RESTORE_CLASS_B });
    this.#r2(this.#now()).stored = candidates.map((m) => ({ id: m.id, size: m.size }));
    candidates = await this.#recoverLeftover(candidates);
    await provisioned();
    if (candidates.length === 0) {
      await this.#prepare(null);
      this.#record.lastFingerprint = null;
      return this.#remember({ kind: 'restore', result: 'fresh', at: iso(started), reason: 'no backup yet', ms: this.#now() - started });
    }
    const rejected: string[] = [];
    for (const manifest of candidates) {
      const body = manifest.archiveKey ? await this.#store.openArchive(manifest) : null;
      if (manifest.archiveKey && !body) {
        rejected.push(`${manifest.id}: archive missing or truncated`);
        continue;
      }
      try {
        await this.#prepare({ body, sha256: manifest.sha256, ...(manifest.handle !== undefined ? { handle: manifest.handle } : {}) });
      } catch (error) {
        if (error instanceof RuntimeError && error.code === 'restore_corrupt') {
          rejected.push(`${manifest.id}: ${error.message}`);
          continue;
        }
        throw error;
      }
      this.#record.lastFingerprint = manifest.fingerprint;
      this.#record.lastGood = { id: manifest.id, at: manifest.createdAt };
      const note = rejected.length ? ` (skipped ${rejected.length} newer: ${rejected.join('; ')})` : '';
      return this.#remember({
        kind: 'restore',
        result: 'ok',
        at: iso(started),
        reason: `restored before boot${note}`,
        ms: this.#now() - started,
        id: manifest.id,
        size: manifest.size,
        files: manifest.files,
      });
    }
    const message = `none of the ${candidates.length} stored backups passed its integrity check (${rejected.join('; ')}); the assistant was not started with empty state and the backups were left untouched`;
    this.#remember({ kind: 'restore', result: 'failed', at: iso(started), reason: 'restore before boot', ms: this.#now() - started, error: message });
    throw new RestoreFailure('restore_failed', message, false);
  }

  /**
   * Never destroys unsaved state: what the runtime still holds that is newer
   * than the newest backup (a crash, an abrupt exit) is stored as a backup of
   * its own first — reason `recovered at boot` — and so is what the restore
   * then takes: the last writes win over an older backup. Returns the
   * candidates, the recovered backup first. A failure to recover is logged
   * in the history and the restore goes on with the stored backups.
   */
  async #recoverLeftover(candidates: BackupManifest[]): Promise<BackupManifest[]> {
    const newest = candidates[0];
    const started = this.#now();
    try {
      const archive = await this.#runtime.recover(newest ? { fingerprint: newest.fingerprint, atMs: Date.parse(newest.createdAt) } : null);
      if (!archive) return candidates;
      const manifest = await this.#save(archive, RECOVERED_AT_BOOT, started);
      this.#remember({
        kind: 'backup',
        result: 'ok',
        at: iso(started),
        reason: RECOVERED_AT_BOOT,
        ms: this.#now() - started,
        id: manifest.id,
        size: manifest.size,
        files: manifest.files,
      });
      return [manifest, ...candidates];
    } catch (error) {
      this.#remember({ kind: 'backup', result: 'failed', at: iso(started), reason: RECOVERED_AT_BOOT, ms: this.#now() - started, error: errorMessage(error) });
      return candidates;
    }
  }

  /** Stores an archive as a backup (its manifest last, so a listed backup is complete); keeps the R2 record up. */
  async #save(archive: RuntimeArchive, reason: string, startedMs: number): Promise<BackupManifest> {
    const store = this.#store as BackupStore;
    const before = { ...store.ops };
    const { manifest, pruned } = await store.save(
      {
        id: store.newId(startedMs),
        agent: this.#agent,
        createdAt: iso(startedMs),
        reason,
        runtime: this.#runtimeKind,
        fingerprint: archive.fingerprint,
        sha256: archive.sha256,
        size: archive.size,
        files: archive.files,
        ...(archive.handle !== undefined ? { handle: archive.handle } : {}),
      },
      archive.body,
    );
    this.#count(before, { classA: SDK_BACKUP_CLASS_A });
    const r2 = this.#r2(this.#now());
    r2.stored = [...r2.stored.filter((b) => !pruned.includes(b.id) && b.id !== manifest.id), { id: manifest.id, size: manifest.size }];
    return manifest;
  }

  async #prepare(source: Parameters<Runtime['prepare']>[0]): Promise<void> {
    try {
      await this.#runtime.prepare(source);
    } catch (error) {
      if (error instanceof RuntimeError && error.code === 'restore_corrupt') throw error;
      throw new RestoreFailure('restore_unavailable', `preparing the runtime failed: ${errorMessage(error)}`, true);
    }
  }

  #remember(event: BackupEvent): BackupEvent {
    if (event.kind === 'backup' && event.result === 'ok' && event.id) this.#record.lastGood = { id: event.id, at: event.at };
    this.#record.history = [...this.#record.history, event].slice(-HISTORY_LIMIT);
    return event;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
