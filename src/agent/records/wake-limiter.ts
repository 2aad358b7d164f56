/**
 * Wakes that start a container, per identity and minute, at most the
 * configured number: a wake loop cannot run up the bill (and the cost
 * guard's hibernation wins anyway). Memory only: a restarted Durable Object
 * starts counting afresh.
 */
import { AppError } from '../../errors.ts';

export class WakeLimiter {
  readonly #perMinute: number;
  readonly #now: () => number;
  readonly #wakes = new Map<string, number[]>();

  constructor(perMinute: number, now: () => number) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Counts one container-starting wake. @throws AppError `rate_limited` (with retryAfterSeconds) over the limit. */
  count(identity: string): void {
    const now = this.#now();
    const recent = (this.#wakes.get(identity) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.#perMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000));
      throw new AppError('rate_limited', `too many wakes from ${identity}: at most ${this.#perMinute} a minute`, { retryAfterSeconds });
    }
    this.#wakes.set(identity, [...recent, now]);
  }
}
