/**
 * The lifecycle's transitions as an operator reads them: when the current
 * state began, the last transitions with their cause and reason in words,
 * and the log line of each.
 */
import type { LifecycleState } from '../../../machines/lifecycle-types.ts';
import type { LifecycleSnapshot } from '../agent-record.ts';
import { describeTransition } from '../agent-status.ts';
import type { TransitionRecord } from '../agent-record.ts';
import type { Log } from '../effect-context.ts';

const HISTORY_LIMIT = 50;

export class TransitionLog {
  #since: number;
  #history: TransitionRecord[];
  /** The event the actor received last (the cause of the next transition). */
  #lastEvent: { type: string; reason?: unknown } = { type: 'init' };

  constructor(record: { since?: number; history?: TransitionRecord[] } | undefined, now: number) {
    this.#since = record?.since ?? now;
    this.#history = record?.history ?? [];
  }

  get since(): number {
    return this.#since;
  }

  get history(): TransitionRecord[] {
    return this.#history;
  }

  received(event: { type: string; reason?: unknown }): void {
    this.#lastEvent = event;
  }

  /** Records a change of the top state (and logs it); nothing when it stayed. */
  changed(from: LifecycleState, to: LifecycleState, previous: LifecycleSnapshot, next: LifecycleSnapshot, now: number, log: Log, agent: string): void {
    if (from === to) return;
    const reason = describeTransition(this.#lastEvent, next.context, previous.context.stopIntent);
    const record: TransitionRecord = { from, to, event: this.#lastEvent.type, reason, at: new Date(now).toISOString() };
    this.#since = now;
    this.#history = [...this.#history, record].slice(-HISTORY_LIMIT);
    log('lifecycle:transition', { agent, from, to, cause: record.event, reason: record.reason, at: record.at });
  }

  toJSON(): { since: number; history: TransitionRecord[] } {
    return { since: this.#since, history: this.#history };
  }
}
