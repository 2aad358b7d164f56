/** Which backups are kept: the newest few, the young ones, and one per age tier — never by age alone. */
import { describe, expect, it } from 'vitest';
import { AGE_TIERS_MS, backupsToPrune, idTimeMs, MIN_AGE_MS } from '../../src/backup/retention.ts';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (agoMs: number, name = String(agoMs)) => ({ id: `b-${name}`, createdAtMs: NOW - agoMs });

describe('backupsToPrune', () => {
  it('should never prune the newest backup, however old (a dormancy of a year)', () => {
    expect(backupsToPrune([at(365 * DAY)], NOW, 1)).toEqual([]);
    expect(backupsToPrune([at(365 * DAY, 'newest'), at(400 * DAY, 'superseded')], NOW, 1)).toEqual(['b-superseded']);
  });

  it('should keep the newest BACKUP_KEEP, every backup younger than the minimum age, and the newest of each age tier', () => {
    // A backup every 30 s for the last 20 minutes, and older ones at 2 h, 3 h, 2 days, 3 days, 10 days, 40 days, 50 days.
    const recent = Array.from({ length: 40 }, (_, i) => at(i * 30_000 + 1_000, `r${i}`));
    const older = [2 * HOUR, 3 * HOUR, 2 * DAY, 3 * DAY, 10 * DAY, 40 * DAY, 50 * DAY].map((ms) => at(ms));
    const doomed = new Set(backupsToPrune([...recent, ...older], NOW, 3));
    const kept = [...recent, ...older].filter((b) => !doomed.has(b.id)).map((b) => b.id);
    const young = recent.filter((b) => NOW - b.createdAtMs < MIN_AGE_MS).map((b) => b.id);
    expect(young.length).toBe(20);
    expect(kept).toEqual([...young, `b-${2 * HOUR}`, `b-${2 * DAY}`, `b-${10 * DAY}`, `b-${40 * DAY}`]);
    expect(AGE_TIERS_MS).toEqual([HOUR, DAY, 7 * DAY, 30 * DAY]);
  });

  it('should keep the backups of an hour, a day and a week before when an agent backs up a damaged state every 30 s', () => {
    const good = [at(HOUR + MIN, 'hour'), at(DAY + MIN, 'day'), at(7 * DAY + MIN, 'week')];
    let backups = [...good];
    // Two hours of damaged backups, 30 s apart, pruned after each as the store does.
    for (let t = 2 * HOUR; t > 0; t -= 30_000) {
      backups.push(at(t, `damaged-${t}`));
      const doomed = new Set(backupsToPrune(backups, NOW - t + 1_000, 3));
      backups = backups.filter((b) => !doomed.has(b.id));
    }
    expect(backups.map((b) => b.id)).toEqual(expect.arrayContaining(['b-day', 'b-week']));
  });
});

describe('idTimeMs', () => {
  it('should read the time a backup id carries, and NaN for another id', () => {
    expect(idTimeMs('20261206T053443518Z-d2aaf854')).toBe(Date.UTC(2026, 11, 6, 5, 34, 43, 518));
    expect(idTimeMs('not-a-backup')).toBeNaN();
  });
});
