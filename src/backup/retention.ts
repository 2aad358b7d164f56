/**
 * Which backups to keep: by age tiers, not by count alone, so that neither a
 * long dormancy nor a burst of backups loses the state worth having.
 *
 * Kept: the newest `keep`; every backup younger than MIN_AGE_MS (a backup is
 * never deleted in the minutes it may be restored from); and for each tier
 * (1 hour, 1 day, 1 week, 30 days) the newest backup at least that old. A
 * dormant assistant makes no new backups, so nothing is ever pruned and its
 * newest backup stays however long it sleeps or hibernates; an agent that
 * damages its own state and then backs up every few seconds cannot push out
 * the backups of an hour, a day and a week before.
 *
 * Nothing else expires backups: the Sandbox SDK's own TTL is set beyond any
 * dormancy (BACKUP_TTL_SECONDS) and the R2 lifecycle rule no longer deletes
 * by age (terraform/r2.tf); pruning deletes the SDK's archive with the
 * manifest that names it.
 */

/** The Sandbox SDK refuses to restore a backup after its TTL: 100 years, so that only pruning removes one. */
export const BACKUP_TTL_SECONDS = 100 * 365 * 86_400;
/** A backup younger than this is never pruned. */
export const MIN_AGE_MS = 10 * 60_000;
/** For each, the newest backup at least this old is kept. */
export const AGE_TIERS_MS = [3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000] as const;

export interface BackupAge {
  id: string;
  createdAtMs: number;
}

/** The ids to delete from `backups` (any order) at `nowMs`, keeping the newest `keep` and the tiers. */
export function backupsToPrune(backups: readonly BackupAge[], nowMs: number, keep: number): string[] {
  const newestFirst = [...backups].sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : -1));
  const kept = new Set(newestFirst.slice(0, Math.max(1, keep)).map((b) => b.id));
  for (const b of newestFirst) if (nowMs - b.createdAtMs < MIN_AGE_MS) kept.add(b.id);
  for (const tier of AGE_TIERS_MS) {
    const keeper = newestFirst.find((b) => nowMs - b.createdAtMs >= tier);
    if (keeper) kept.add(keeper.id);
  }
  return newestFirst.filter((b) => !kept.has(b.id)).map((b) => b.id);
}

/** The creation time a backup id carries (`20261206T053443518Z-…`), or NaN for an id that is not one of ours. */
export function idTimeMs(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/.exec(id);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms);
}
