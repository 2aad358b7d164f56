/** The Discord relay's meter: held time counted only while holding, requests added, a new month starting a new meter. */
import { describe, expect, it } from 'vitest';
import { advanceMeter, meterUsage, newMeter } from '../../src/inbox/relay-meter.ts';

const at = (iso: string) => Date.parse(iso);

describe('the relay meter', () => {
  it('should count held time only while holding, and the requests it is given', () => {
    let m = newMeter(at('2026-12-07T10:00:00Z'));
    m = advanceMeter(m, at('2026-12-07T10:00:00Z'), true);
    m = advanceMeter(m, at('2026-12-07T10:01:30Z'), true, 3);
    expect(meterUsage(m, true)).toEqual({ month: '2026-12', heldSeconds: 90, requests: 3, holding: true });
    // Released at 10:02: counted up to there, then no more.
    m = advanceMeter(m, at('2026-12-07T10:02:00Z'), false, 1);
    m = advanceMeter(m, at('2026-12-07T11:00:00Z'), false);
    expect(meterUsage(m, false)).toEqual({ month: '2026-12', heldSeconds: 120, requests: 4, holding: false });
    // Held again from 11:00.
    m = advanceMeter(m, at('2026-12-07T11:00:00Z'), true);
    m = advanceMeter(m, at('2026-12-07T11:00:10Z'), true);
    expect(meterUsage(m, true).heldSeconds).toBe(130);
  });

  it('should start a new month at zero, its held time from the month start when held across it', () => {
    let m = advanceMeter(newMeter(at('2026-11-30T23:00:00Z')), at('2026-11-30T23:00:00Z'), true);
    m = advanceMeter(m, at('2026-11-30T23:59:00Z'), true, 50);
    m = advanceMeter(m, at('2026-12-01T00:02:00Z'), true, 2);
    expect(meterUsage(m, true)).toEqual({ month: '2026-12', heldSeconds: 120, requests: 2, holding: true });
    // Not held across the turn of the month: nothing carried.
    const idle = advanceMeter(advanceMeter(newMeter(at('2026-11-30T10:00:00Z')), at('2026-11-30T10:00:00Z'), false, 7), at('2026-12-02T00:00:00Z'), false);
    expect(meterUsage(idle, false)).toEqual({ month: '2026-12', heldSeconds: 0, requests: 0, holding: false });
  });
});
