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

/** How many complete boots the expected wake → ready is taken from. */
export const RECENT_BOOTS = 5;

/** What a BootTimeline persists: the boot under way, the last complete one, and the recent wake → ready times (ms, oldest first). */
export interface BootTimelineRecord {
  current: BootRecord | null;
  last: BootRecord | null;
  recentMs?: number[];
}

export class BootTimeline {
  #current: BootRecord | null;
  #last: BootRecord | null;
  #recentMs: number[];

  constructor(record?: BootTimelineRecord) {
    this.#current = record?.current ?? null;
    this.#last = record?.last ?? null;
    this.#recentMs = (record?.recentMs ?? (record?.last?.totalMs != null ? [record.last.totalMs] : []))
      .filter((ms) => Number.isFinite(ms) && ms >= 0)
      .slice(-RECENT_BOOTS);
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
    this.#recentMs = [...this.#recentMs, this.#current.totalMs].slice(-RECENT_BOOTS);
    this.#last = this.#current;
    this.#current = null;
  }

  /**
   * What a wake is expected to take: the median wake → ready of the last
   * RECENT_BOOTS complete boots, and how many that is; null before the first.
   */
  get expected(): { ms: number; boots: number } | null {
    if (!this.#recentMs.length) return null;
    const sorted = [...this.#recentMs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const ms = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    return { ms: Math.round(ms), boots: sorted.length };
  }

  /** The boot under way, else the last complete one. */
  get latest(): BootRecord | null {
    return this.#current ?? this.#last;
  }

  /** The last complete boot. */
  get last(): BootRecord | null {
    return this.#last;
  }

  toJSON(): Required<BootTimelineRecord> {
    return { current: this.#current, last: this.#last, recentMs: [...this.#recentMs] };
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
