/**
 * The backup effects while a container runs: the periodic backup (the
 * machine's `runBackup`), the cheap change check that brings it forward
 * (`checkChanges`), a backup on request, and one at once when the model
 * credentials changed (src/agent/model-access.ts).
 */
import type { EffectContext } from '../effect-context.ts';
import type { StateKeeper, BackupEvent } from '../records/state-keeper.ts';
import type { TimerTable } from '../records/timer-table.ts';
import { errorMessage } from '../../errors.ts';
import { GatewayRpc } from '../../runtime/gateway-rpc.ts';
import { CREDENTIALS_BACKUP_REASON, type ModelAccess } from '../model-access.ts';

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

  readonly #model: ModelAccess;
  readonly #gateway: GatewayRpc;

  constructor(ctx: EffectContext, keeper: StateKeeper, timers: TimerTable, model: ModelAccess) {
    this.#ctx = ctx;
    this.#keeper = keeper;
    this.#timers = timers;
    this.#model = model;
    this.#gateway = new GatewayRpc(ctx.deps.runtime, ctx.deps.config.gatewayUser);
  }

  /**
   * Asks the gateway whether the stored model sign-ins changed (any
   * provider's OAuth credentials, whatever the route: API keys live in the
   * Worker, but an operator may sign in to a subscription beside one) and
   * backs a change up now.
   * `refresh`: the gateway rereads its store first (a sign-in stored beside
   * it); `always`: back up whatever it says (a sign-in the operator just made).
   * @returns the backup taken, or null.
   */
  async credentials(options: { refresh?: boolean; always?: boolean; reason?: string } = {}): Promise<BackupEvent | null> {
    const reason = options.reason ?? CREDENTIALS_BACKUP_REASON;
    const changed = await this.#model.look(this.#gateway, options.refresh === true).catch((error: unknown) => {
      this.#ctx.log('model:auth-status-failed', { message: errorMessage(error) });
      return false;
    });
    this.#ctx.persist();
    if (!changed && options.always !== true) return null;
    try {
      const event = await this.now(reason);
      this.#model.backedUp(event);
      this.#ctx.log('lifecycle:backup', { result: event.result, id: event.id ?? null, ms: event.ms, reason });
      return event;
    } catch (error) {
      this.#model.backedUp({ result: 'failed' });
      this.#ctx.log('lifecycle:backup-failed', { message: errorMessage(error), reason });
      return null;
    } finally {
      this.#ctx.persist();
    }
  }

  /** A backup now, shown as the `backing-up` phase while it runs. */
  now(reason: string): Promise<BackupEvent> {
    return this.#ctx.activities.during('backing-up', () => this.#keeper.backup(reason));
  }

  async periodic(): Promise<void> {
    const reason = this.#changeSeen ? CHANGE_BACKUP_REASON : 'periodic';
    this.#changeSeen = false;
    try {
      const event = await this.now(reason);
      this.#ctx.log('lifecycle:backup', { result: event.result, id: event.id ?? null, ms: event.ms });
    } catch (error) {
      this.#ctx.log('lifecycle:backup-failed', { message: errorMessage(error) });
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
    if (stamp === null) return;
    if (stamp === this.#lastStamp) {
      if (this.#model.pending) await this.credentials();
      return;
    }
    this.#lastStamp = stamp;
    // A change of the stored credentials (a token refresh) does not wait for the debounce.
    if (await this.credentials()) return;
    const dueAt = this.#ctx.now() + this.#ctx.deps.config.backupDebounceMs;
    this.#changeSeen = true;
    if (!this.#timers.pullForward('backup', dueAt)) return;
    this.#ctx.log('lifecycle:changed', { backupAt: new Date(dueAt).toISOString() });
    this.#ctx.persist();
  }
}
