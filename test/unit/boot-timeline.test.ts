import { describe, expect, it } from 'vitest';
import { BootTimeline, bootParts } from '../../src/agent/records/boot-timeline.ts';

const T0 = Date.UTC(2026, 11, 1, 12);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe('BootTimeline', () => {
  describe('mark', () => {
    it('should keep the first time a phase is seen and ignore unknown phases and bad times', () => {
      const timeline = new BootTimeline();
      timeline.begin(1, T0);
      timeline.mark('restoring', T0 + 500);
      timeline.mark('restoring', T0 + 900);
      timeline.mark('configuring', iso(1_200));
      timeline.mark('failed', T0 + 1_300);
      timeline.mark('starting-gateway', 'not a time');
      expect(timeline.latest?.phases).toEqual({ launching: iso(0), restoring: iso(500), configuring: iso(1_200) });
    });

    it('should record nothing when no boot has begun', () => {
      const timeline = new BootTimeline();
      timeline.mark('restoring', T0);
      expect(timeline.latest).toBeNull();
    });
  });

  describe('finish', () => {
    it('should make the boot the last complete one, with wake → ready', () => {
      const timeline = new BootTimeline();
      timeline.begin(2, T0);
      timeline.finish(T0 + 9_500);
      expect(timeline.last).toMatchObject({ attempt: 2, startedAt: iso(0), readyAt: iso(9_500), totalMs: 9_500 });
      timeline.begin(1, T0 + 60_000);
      expect(timeline.latest?.readyAt).toBeNull();
      expect(timeline.last?.totalMs).toBe(9_500);
    });

    it('should survive a round trip through JSON (the Durable Object persists it)', () => {
      const timeline = new BootTimeline();
      timeline.begin(1, T0);
      timeline.mark('restoring', T0 + 10);
      const copy = new BootTimeline(JSON.parse(JSON.stringify(timeline.toJSON())));
      expect(copy.latest).toEqual(timeline.latest);
    });
  });

  describe('bootParts', () => {
    it('should give each phase the time up to the next one, in boot order, the last up to ready', () => {
      const record = {
        attempt: 1,
        startedAt: iso(0),
        phases: { 'starting-gateway': iso(2_000), launching: iso(0), restoring: iso(700), starting: iso(1_500), configuring: iso(1_600) },
        readyAt: iso(9_000),
        totalMs: 9_000,
      };
      expect(bootParts(record)).toEqual([
        { phase: 'launching', at: iso(0), ms: 700 },
        { phase: 'restoring', at: iso(700), ms: 800 },
        { phase: 'starting', at: iso(1_500), ms: 100 },
        { phase: 'configuring', at: iso(1_600), ms: 400 },
        { phase: 'starting-gateway', at: iso(2_000), ms: 7_000 },
      ]);
    });

    it('should leave the running phase open while booting', () => {
      const record = { attempt: 1, startedAt: iso(0), phases: { launching: iso(0), restoring: iso(300) }, readyAt: null, totalMs: null };
      expect(bootParts(record).at(-1)).toEqual({ phase: 'restoring', at: iso(300), ms: null });
    });
  });
});
