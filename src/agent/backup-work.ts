/**
 * The backup effects while a container runs: the periodic backup (the
 * machine's `runBackup`), the cheap change check that brings it forward
 * (`checkChanges`), and a backup on request.
 */
import type { EffectContext } from './effect-context.ts';
import type { StateKeeper, BackupEvent } from './state-keeper.ts';
import type { TimerTable } from './timer-table.ts';
import { errorMessage } from '../errors.ts';

/** The reason of a backup the change check brought forward. */
export const CHANGE_BACKUP_REASON = 'changed';

export class BackupWork {
  readonly #ctx: EffectContext;
  readonly #keeper: StateKeeper;
  readonly #timers: TimerTable;
  /** The state's stamp at the last change check (memory only: after a restart the first check counts as a change). */
  #lastStamp: string | null = null;
  /** A change was seen since the last periodic backup (which then says so in its reason). */
  #changeSeen = false;

  constructor(ctx: EffectContext, keeper: StateKeeper, timers: TimerTable) {
    this.#ctx = ctx;
    this.#keeper = keeper;
    this.#timers = timers;
  }

  /** A backup now, shown as the `backing-up` phase while it runs. */
  now(reason: string): Promise<BackupEvent> {
    return this.#ctx.activities.during('backing-up', () => this.#keeper.backup(reason));
  }

  async periodic(): Promise<void> {
    const reason = this.#changeSeen ? CHANGE_BACKUP_REASON : 'periodic';
    this.#changeSeen = false;
    const agent = this.#ctx.deps.config.agentName;
    try {
      const event = await this.now(reason);
      this.#ctx.log('lifecycle:backup', { agent, result: event.result, id: event.id ?? null, ms: event.ms });
    } catch (error) {
      this.#ctx.log('lifecycle:backup-failed', { agent, message: errorMessage(error) });
    } finally {
      this.#ctx.persist();
    }
  }

  /**
   * A cheap look at the state (paths, sizes, mtimes); a change since the last
   * look brings the backup forward to at most backupDebounceMs ahead, so what
   * was written is in R2 within that time, and changes upload at most once
   * per that time. The first look after a (re)load counts as a change.
   */
  async checkChanges(): Promise<void> {
    const stamp = await this.#ctx.deps.runtime.changeStamp().catch(() => null);
    if (stamp === null || stamp === this.#lastStamp) return;
    this.#lastStamp = stamp;
    const dueAt = this.#ctx.now() + this.#ctx.deps.config.backupDebounceMs;
    this.#changeSeen = true;
    if (!this.#timers.pullForward('backup', dueAt)) return;
    this.#ctx.log('lifecycle:changed', { agent: this.#ctx.deps.config.agentName, backupAt: new Date(dueAt).toISOString() });
    this.#ctx.persist();
  }
}
