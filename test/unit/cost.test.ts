import { describe, expect, it } from 'vitest';
import { decideBudget, type BudgetSettings } from '../../src/cost/budget-policy.ts';
import { DEFAULT_PRICING, monthCost, parsePricing, r2MonthCost, relayCost, usageFromSeconds } from '../../src/cost/pricing.ts';
import { projectMonth } from '../../src/cost/projection.ts';
import { usageFromGroups } from '../../src/cost/usage-source.ts';

const HOUR = 3600;
const MONTH_HOURS = 730; // Cloudflare prices a month as 730 hours
const budget: BudgetSettings = { softUsd: 15, hardUsd: 20, stepUsd: 1, stepMs: 5 * 60_000, floorMs: 5 * 60_000 };

describe('pricing', () => {
  describe('r2MonthCost', () => {
    it('should charge nothing within the free tier and the published rates beyond it', () => {
      expect(r2MonthCost({ classA: 1_000_000, classB: 10_000_000, storageGbMonth: 10 }).totalUsd).toBe(0);
      const over = r2MonthCost({ classA: 3_000_000, classB: 12_000_000, storageGbMonth: 30 });
      expect(over.classAUsd).toBeCloseTo(9, 6); // 2 M × $4.50
      expect(over.classBUsd).toBeCloseTo(0.72, 6); // 2 M × $0.36
      expect(over.storageUsd).toBeCloseTo(0.3, 6); // 20 GB-month × $0.015
      expect(over.totalUsd).toBeCloseTo(10.02, 6);
    });

    it('should take R2 rates from PRICING_OVERRIDE', () => {
      const pricing = parsePricing(JSON.stringify({ r2: { includedClassA: 0, classAMillionUsd: 9 } }));
      expect(r2MonthCost({ classA: 500_000, classB: 0, storageGbMonth: 0 }, pricing).classAUsd).toBeCloseTo(4.5, 6);
    });
  });

  describe('relayCost', () => {
    const MONTH_S = 30 * 24 * HOUR;

    it('should bill a month held at 128 MB inside the included duration and requests, and price what goes beyond', () => {
      const month = relayCost(MONTH_S);
      expect(month.gbSeconds).toBe(324_000); // 2,592,000 s × 128 MB (0.125 GB, as Cloudflare counts it)
      expect(month.requests).toBe(Math.round(MONTH_S / 30 + MONTH_S / 41.25)); // an alarm every 30 s, a heartbeat every 41.25 s
      expect(month.usd).toBe(0);
      // With no included duration (another object used it up): the whole month's duration at $12.50 per million GB-s.
      const alone = relayCost(MONTH_S, parsePricing(JSON.stringify({ durableObjects: { includedGbSeconds: 0 } })));
      expect(alone.usd).toBeCloseTo(4.05, 6);
    });
  });

  describe('monthCost', () => {
    it('should price standard-1 running 24/7 at about $34.50 with the plan fee (the published example)', () => {
      const cost = monthCost(usageFromSeconds({ 'standard-1': MONTH_HOURS * HOUR }));
      // memory: (4 GiB × 2,628,000 s − 90,000 GiB-s) × $0.0000025 = $26.055
      expect(cost.memoryUsd).toBeCloseTo(26.055, 3);
      // disk: (8 GB × 2,628,000 s − 720,000 GB-s) × $0.00000007 = $1.42128
      expect(cost.diskUsd).toBeCloseTo(1.42128, 5);
      // CPU at 10 % of ½ vCPU: (131,400 − 22,500 vCPU-s) × $0.00002 = $2.178
      expect(cost.cpuUsd).toBeCloseTo(2.178, 3);
      expect(cost.totalUsd).toBeCloseTo(34.5, 0);
    });

    it('should cost the plan fee alone when dormant', () => {
      expect(monthCost(usageFromSeconds({})).totalUsd).toBe(5);
    });

    it('should add a few cents to a dollar for 2-3 one-hour sessions a week', () => {
      for (const sessionsPerWeek of [2, 3]) {
        // each session: 1 h of use plus a 20-minute sleepAfter tail
        const seconds = sessionsPerWeek * (MONTH_HOURS / 168) * (HOUR + 20 * 60);
        const cost = monthCost(usageFromSeconds({ 'standard-1': seconds }));
        expect(cost.containersUsd).toBeGreaterThan(0.01);
        expect(cost.containersUsd).toBeLessThan(1);
        expect(cost.totalUsd).toBeLessThan(10);
      }
    });

    it('should charge nothing beyond the plan within the included amounts', () => {
      // 25 GiB-hours of memory = 6.25 h of standard-1
      expect(monthCost(usageFromSeconds({ 'standard-1': 6 * HOUR })).containersUsd).toBe(0);
    });
  });

  describe('parsePricing', () => {
    it('should deep-merge an override and refuse unknown fields and bad values', () => {
      const p = parsePricing('{"workersPaidMonthlyUsd": 6, "containers": {"memoryGibSecondUsd": 0.000003}}');
      expect(p.workersPaidMonthlyUsd).toBe(6);
      expect(p.containers.memoryGibSecondUsd).toBe(0.000003);
      expect(p.containers.vcpuSecondUsd).toBe(DEFAULT_PRICING.containers.vcpuSecondUsd);
      expect(() => parsePricing('{"workersPaid": 6}')).toThrow(/not a pricing field/);
      expect(() => parsePricing('{"workersPaidMonthlyUsd": -1}')).toThrow(/non-negative/);
      expect(() => parsePricing('{oops')).toThrow(/not valid JSON/);
    });
  });
});

describe('projectMonth', () => {
  it('should add the recent burn rate over the hours left to the month to date', () => {
    const now = Date.UTC(2026, 10, 16, 0, 0, 0); // 15 of 30 days gone
    const day = usageFromSeconds({ 'standard-1': 24 * HOUR });
    const mtd = usageFromSeconds({ 'standard-1': 15 * 24 * HOUR });
    const p = projectMonth(mtd, day, 24, now, DEFAULT_PRICING);
    const whole = monthCost(usageFromSeconds({ 'standard-1': 30 * 24 * HOUR })).totalUsd;
    expect(p.hoursLeft).toBe(360);
    expect(p.projectedUsd).toBeCloseTo(whole, 1);
    expect(p.monthToDateUsd).toBeLessThan(p.projectedUsd);
    expect(p.burnUsdPerHour).toBeCloseTo((4 * 0.0000025 + 8 * 0.00000007 + 0.05 * 0.00002) * 3600, 3);
  });

  it('should project the plan fee alone with no recent use', () => {
    const p = projectMonth(usageFromSeconds({ 'standard-1': 2 * HOUR }), usageFromSeconds({}), 24, Date.UTC(2026, 10, 5), DEFAULT_PRICING);
    expect(p.projectedUsd).toBe(5);
  });
});

const projected = (projectedUsd: number) => ({ monthToDateUsd: 5, projectedUsd });

describe('decideBudget', () => {
  it('should keep the configured sleepAfter up to the soft line', () => {
    expect(decideBudget(projected(15), 20 * 60_000, budget)).toMatchObject({ level: 'ok', sleepAfterMs: 20 * 60_000, hibernate: false });
  });

  it('should shorten sleepAfter one step per dollar over the soft line, down to the floor', () => {
    expect(decideBudget(projected(15.01), 20 * 60_000, budget).sleepAfterMs).toBe(15 * 60_000);
    expect(decideBudget(projected(16.5), 20 * 60_000, budget).sleepAfterMs).toBe(10 * 60_000);
    expect(decideBudget(projected(19.9), 20 * 60_000, budget)).toMatchObject({ level: 'soft', sleepAfterMs: 5 * 60_000, hibernate: false });
  });

  it('should hibernate over the hard line', () => {
    expect(decideBudget(projected(20.01), 20 * 60_000, budget)).toMatchObject({ level: 'hard', hibernate: true, sleepAfterMs: 5 * 60_000 });
  });

  it('should hibernate on what the month has cost so far, whatever a lower projection says', () => {
    const decision = decideBudget({ monthToDateUsd: 35, projectedUsd: 3 }, 20 * 60_000, budget);
    expect(decision).toMatchObject({ level: 'hard', hibernate: true });
    expect(decision.reason).toBe('budget: spent this month $35.00 > hard limit $20.00');
    expect(decideBudget({ monthToDateUsd: 16, projectedUsd: 12 }, 20 * 60_000, budget)).toMatchObject({ level: 'soft', hibernate: false });
  });

  it('should decide the same for the same figures (idempotent)', () => {
    expect(decideBudget(projected(17.3), 20 * 60_000, budget)).toEqual(decideBudget(projected(17.3), 20 * 60_000, budget));
  });
});

describe('usageFromGroups', () => {
  it('should convert byte-seconds and bytes into billing units and sum the groups', () => {
    const u = usageFromGroups([
      { sum: { cpuTimeSec: 10, allocatedMemory: 2 ** 30 * 100, allocatedDisk: 1e9 * 50, txBytes: 2e9 } },
      { sum: { cpuTimeSec: 5, allocatedMemory: 2 ** 30 * 20, allocatedDisk: 0, txBytes: 0 } },
    ]);
    expect(u).toEqual({ vcpuSeconds: 15, memoryGibSeconds: 120, diskGbSeconds: 50, egressGb: 2 });
    expect(usageFromGroups([])).toEqual({ vcpuSeconds: 0, memoryGibSeconds: 0, diskGbSeconds: 0, egressGb: 0 });
  });
});
