/**
 * The stop effect (the machine's `stopRuntime` actor): an intentional stop
 * of a gateway that runs drains it (its own SIGTERM, so in-flight work
 * finishes and is written), backs the quiet state up, then stops the
 * runtime. A failed backup fails the stop, which is retried with the
 * container kept (data first) and posted to the webhook once; a forced stop
 * (the hard budget line) tries one backup, bounded by finalBackupTimeoutMs,
 * and stops regardless. That a final backup is still owed is persisted: a
 * retry after a restart of the DO still takes it, although the drained
 * gateway no longer answers.
 */
import type { LifecycleError, StopInput, StopOutput } from '../../../machines/lifecycle-types.ts';
import { errorMessage } from '../../errors.ts';
import type { RuntimeStopReport } from '../../runtime/runtime.ts';
import type { EffectContext } from '../effect-context.ts';
import type { StateKeeper } from '../records/state-keeper.ts';

/** How the last intentional stop went (shown in the status). */
export interface StopRecord {
  at: string;
  target: StopInput['target'];
  /** The gateway exited by itself after its SIGTERM (null: the runtime cannot tell). */
  drained: boolean | null;
  gatewayExitCode: number | null;
  drainMs: number | null;
  /** What the stop gave up, e.g. a final backup that failed. */
  warning: LifecycleError | null;
}

export interface StopSequenceParts {
  keeper: StateKeeper;
  /** The next scheduled wake, read from the gateway before it goes (a sleep only). */
  nextWake: () => Promise<StopOutput['nextWake']>;
  record?: { lastStop?: StopRecord | null; finalBackupOwed?: boolean };
}

export class StopSequence {
  readonly #ctx: EffectContext;
  readonly #parts: StopSequenceParts;
  #lastStop: StopRecord | null;
  /** The stop under way drained a running gateway and still owes its final backup (persisted). */
  #finalBackupOwed: boolean;
  /** The current stop sequence's failure was posted to the webhook (once per sequence). */
  #failureNotified = false;
  /** How the current stop sequence's drain went. */
  #lastDrain: RuntimeStopReport | null = null;

  constructor(ctx: EffectContext, parts: StopSequenceParts) {
    this.#ctx = ctx;
    this.#parts = parts;
    this.#lastStop = parts.record?.lastStop ?? null;
    this.#finalBackupOwed = parts.record?.finalBackupOwed ?? false;
  }

  get lastStop(): StopRecord | null {
    return this.#lastStop;
  }

  async run(input: StopInput): Promise<StopOutput> {
    const { runtime } = this.#ctx.deps;
    let warning: LifecycleError | null = null;
    if (input.backup && !this.#finalBackupOwed) {
      const probe = await runtime.probe().catch(() => null);
      // A gateway that runs has state to drain and back up: one that answers, or one too busy to answer the readiness
      // probe in time (its start script still runs: `starting`). Not one that exited, failed or never ran.
      this.#finalBackupOwed = probe?.status === 'ready' || probe?.status === 'starting';
      this.#ctx.persist();
    }
    // Before the gateway goes: its scheduled jobs say when to wake it next (a sleep only). A schedule that cannot be read never fails the stop.
    const nextWake =
      input.target === 'sleeping' && this.#finalBackupOwed
        ? await this.#parts.nextWake().catch((error: unknown) => {
            this.#ctx.log('lifecycle:schedule-unread', { message: errorMessage(error) });
            return null;
          })
        : null;
    if (input.backup && this.#finalBackupOwed) {
      const drain = await runtime.drain();
      if (drain && drain.drainMs > 0) {
        this.#lastDrain = drain;
        this.#ctx.log('lifecycle:drain', {
          drained: drain.drained,
          gatewayExitCode: drain.gatewayExitCode,
          ms: drain.drainMs,
          note: drain.note ?? null,
        });
      }
      warning = await this.#finalBackup(input);
      this.#finalBackupOwed = false;
      this.#ctx.persist();
    }
    await runtime.stop(input.reason);
    this.#failureNotified = false;
    if (input.backup) {
      const drain = this.#lastDrain;
      this.#lastStop = {
        at: new Date(this.#ctx.now()).toISOString(),
        target: input.target,
        drained: drain?.drained ?? null,
        gatewayExitCode: drain?.gatewayExitCode ?? null,
        drainMs: drain?.drainMs ?? null,
        warning,
      };
      this.#lastDrain = null;
    }
    return { warning, nextWake };
  }

  /** The backup of the drained state; @throws when it failed and the stop is not forced. @returns what a forced stop gave up. */
  async #finalBackup(input: StopInput): Promise<LifecycleError | null> {
    const { config } = this.#ctx.deps;
    const purpose = input.target === 'sleeping' ? 'sleep' : input.target === 'hibernated' ? 'hibernation' : 'stop';
    try {
      const backup = this.#ctx.activities.during('backing-up', () => this.#parts.keeper.backup(`before ${purpose}: ${input.reason}`));
      const event = await (input.force
        ? withTimeout(backup, config.finalBackupTimeoutMs, `the final backup took longer than ${config.finalBackupTimeoutMs / 1000} s`)
        : backup);
      this.#ctx.log('lifecycle:backup', { result: event.result, id: event.id ?? null, ms: event.ms });
      return null;
    } catch (error) {
      this.#ctx.persist();
      if (!input.force) {
        await this.#notifyBlocked(input, error);
        throw error;
      }
      const lastGood = this.#parts.keeper.lastGood;
      const warning: LifecycleError = {
        code: 'final_backup_failed',
        message: `the final backup before ${purpose} failed (${errorMessage(error)}); stopped anyway to stop the bill. ${lastGood ? `The last good backup is ${lastGood.id} from ${lastGood.at}; changes after it are lost.` : 'There is no earlier backup.'}`,
      };
      this.#ctx.log('lifecycle:final-backup-failed', { message: warning.message });
      return warning;
    }
  }

  async #notifyBlocked(input: StopInput, error: unknown): Promise<void> {
    const { notify, config } = this.#ctx.deps;
    if (this.#failureNotified || !notify) return;
    this.#failureNotified = true;
    await notify({
      event: 'openclaw-ondemand:stop-blocked',
      agent: config.agentName,
      target: input.target,
      reason: input.reason,
      error: errorMessage(error),
      lastGoodBackup: this.#parts.keeper.lastGood,
      note: 'the container keeps running (and billing) until a backup succeeds; the stop is retried',
    });
  }

  toJSON(): { lastStop: StopRecord | null; finalBackupOwed: boolean } {
    return { lastStop: this.#lastStop, finalBackupOwed: this.#finalBackupOwed };
  }
}

/** Rejects with `message` when `work` takes longer than `ms` (the work itself goes on). */
function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
