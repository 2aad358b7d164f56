/**
 * Where a boot's time went: when each phase began, from the wake to the
 * gateway's first readiness answer. The Agent marks its own phases (the
 * container starting, the restore) on its clock; the start script's phases
 * (configuring, starting the gateway) carry the container's own timestamps.
 */

/**
 * A boot phase as the timeline records it, in the order a boot meets them:
 * `launching` (the wake, until the container answers), `restoring` (the
 * newest backup put in place), `starting` (the start script launched),
 * `configuring` and `starting-gateway` (the start script's own phases).
 */
export type TimelinePhase = 'launching' | 'restoring' | 'starting' | 'configuring' | 'starting-gateway';

/** One boot: when it began, when each phase began, and when the gateway first answered ready. */
export interface BootRecord {
  attempt: number;
  startedAt: string;
  /** Phase → when it began (ISO). */
  phases: Partial<Record<TimelinePhase, string>>;
  readyAt: string | null;
  /** Wake → ready, ms (null while booting or when the boot failed). */
  totalMs: number | null;
}

/** A boot's parts as the status shows them: each phase's duration, up to the next phase (or ready). */
export interface BootPart {
  phase: TimelinePhase;
  at: string;
  ms: number | null;
}

const ORDER: TimelinePhase[] = ['launching', 'restoring', 'starting', 'configuring', 'starting-gateway'];

export class BootTimeline {
  #current: BootRecord | null;
  #last: BootRecord | null;

  constructor(record?: { current: BootRecord | null; last: BootRecord | null }) {
    this.#current = record?.current ?? null;
    this.#last = record?.last ?? null;
  }

  /** A boot attempt begins (the first attempt at the wake; later attempts after a backoff). */
  begin(attempt: number, atMs: number): void {
    const startedAt = new Date(atMs).toISOString();
    this.#current = { attempt, startedAt, phases: { launching: startedAt }, readyAt: null, totalMs: null };
  }

  /** A phase began at `at` (ISO or ms); the first time a phase is seen counts. */
  mark(phase: string, at: string | number): void {
    if (!this.#current || !ORDER.includes(phase as TimelinePhase)) return;
    const iso = typeof at === 'number' ? new Date(at).toISOString() : at;
    if (Number.isNaN(Date.parse(iso))) return;
    this.#current.phases[phase as TimelinePhase] ??= iso;
  }

  /** The gateway answered ready: the boot is complete. */
  finish(atMs: number): void {
    if (!this.#current) return;
    this.#current.readyAt = new Date(atMs).toISOString();
    this.#current.totalMs = atMs - Date.parse(this.#current.startedAt);
    this.#last = this.#current;
    this.#current = null;
  }

  /** The boot under way, else the last complete one. */
  get latest(): BootRecord | null {
    return this.#current ?? this.#last;
  }

  /** The last complete boot. */
  get last(): BootRecord | null {
    return this.#last;
  }

  toJSON(): { current: BootRecord | null; last: BootRecord | null } {
    return { current: this.#current, last: this.#last };
  }
}

/** A record's phases in order, each with its duration up to the next phase (or ready). */
export function bootParts(record: BootRecord): BootPart[] {
  const seen = ORDER.filter((p) => record.phases[p]).map((phase) => ({ phase, at: record.phases[phase] as string }));
  return seen.map((part, i) => {
    const end = seen[i + 1]?.at ?? record.readyAt;
    return { ...part, ms: end ? Math.max(0, Date.parse(end) - Date.parse(part.at)) : null };
  });
}
