/**
 * Cloudflare prices as data, in one place, each with its source. Checked
 * 2026-11 against the published pricing pages; override any of them with the
 * `PRICING_OVERRIDE` var (JSON, deep-merged) when Cloudflare changes them.
 */
import type { InstanceType } from '../config.ts';
import { AppError } from '../errors.ts';
import { INSTANCE_SIZES } from './instance-types.ts';

export interface Pricing {
  /** Workers Paid plan, per month. Source: developers.cloudflare.com/workers/platform/pricing */
  workersPaidMonthlyUsd: number;
  /** Containers (billed only on Workers Paid). Source: developers.cloudflare.com/containers/pricing */
  containers: {
    /** Active CPU, per vCPU-second (billed on CPU actually used, not provisioned). */
    vcpuSecondUsd: number;
    /** Provisioned memory while running, per GiB-second. */
    memoryGibSecondUsd: number;
    /** Provisioned disk while running, per GB-second. */
    diskGbSecondUsd: number;
    /** Egress (North America / Europe), per GB. */
    egressGbUsd: number;
    /** Included per month: 375 vCPU-minutes, 25 GiB-hours, 200 GB-hours, 1 TB egress. */
    includedVcpuSeconds: number;
    includedMemoryGibSeconds: number;
    includedDiskGbSeconds: number;
    includedEgressGb: number;
  };
  /** Average active share of the provisioned vCPU, for self-metered estimates (no CPU figures there). */
  assumedCpuUtilization: number;
  /**
   * Browser Rendering (the agent's browser in production), Workers Paid.
   * Source: developers.cloudflare.com/browser-rendering/pricing (checked
   * 2026-11): 10 browser-hours a month included, then $0.09 per browser-hour;
   * 10 concurrent browsers included (this project opens one).
   */
  browser: {
    hourUsd: number;
    includedHours: number;
  };
  /**
   * Durable Objects on Workers Paid (the Discord relay is the one that stays
   * in memory). Source: developers.cloudflare.com/durable-objects/platform/pricing
   * (checked 2026-12): duration at 128 MB per object while it is in memory,
   * 400,000 GB-s a month included, then $12.50 per million GB-s; requests
   * (alarms, WebSocket messages, RPC), 1 million included, then $0.15 per million.
   */
  durableObjects: {
    gbSecondMillionUsd: number;
    requestMillionUsd: number;
    includedGbSeconds: number;
    includedRequests: number;
    /** The memory duration is billed at, per object. */
    billedGb: number;
  };
  /** R2 Standard storage, where the backups live. Source: developers.cloudflare.com/r2/pricing */
  r2: {
    /** Class A operations (writes, lists), per million. */
    classAMillionUsd: number;
    /** Class B operations (reads), per million. */
    classBMillionUsd: number;
    /** Storage, per GB-month. */
    storageGbMonthUsd: number;
    /** Included per month: 1 million Class A, 10 million Class B, 10 GB-month. */
    includedClassA: number;
    includedClassB: number;
    includedStorageGbMonth: number;
  };
}

export const DEFAULT_PRICING: Pricing = {
  workersPaidMonthlyUsd: 5,
  containers: {
    vcpuSecondUsd: 0.00002,
    memoryGibSecondUsd: 0.0000025,
    diskGbSecondUsd: 0.00000007,
    egressGbUsd: 0.025,
    includedVcpuSeconds: 375 * 60,
    includedMemoryGibSeconds: 25 * 3600,
    includedDiskGbSeconds: 200 * 3600,
    includedEgressGb: 1000,
  },
  // OpenClaw idles most of the time it runs; 10 % matches the published 24/7 example.
  assumedCpuUtilization: 0.1,
  browser: { hourUsd: 0.09, includedHours: 10 },
  durableObjects: { gbSecondMillionUsd: 12.5, requestMillionUsd: 0.15, includedGbSeconds: 400_000, includedRequests: 1_000_000, billedGb: 0.125 },
  r2: {
    classAMillionUsd: 4.5,
    classBMillionUsd: 0.36,
    storageGbMonthUsd: 0.015,
    includedClassA: 1_000_000,
    includedClassB: 10_000_000,
    includedStorageGbMonth: 10,
  },
};

/** Resource use in billing units. */
export interface ContainerUsage {
  vcpuSeconds: number;
  memoryGibSeconds: number;
  diskGbSeconds: number;
  egressGb: number;
}

export const NO_USAGE: ContainerUsage = { vcpuSeconds: 0, memoryGibSeconds: 0, diskGbSeconds: 0, egressGb: 0 };

export function addUsage(a: ContainerUsage, b: ContainerUsage, factor = 1): ContainerUsage {
  return {
    vcpuSeconds: a.vcpuSeconds + b.vcpuSeconds * factor,
    memoryGibSeconds: a.memoryGibSeconds + b.memoryGibSeconds * factor,
    diskGbSeconds: a.diskGbSeconds + b.diskGbSeconds * factor,
    egressGb: a.egressGb + b.egressGb * factor,
  };
}

/** `a` less `b`, never below zero in any unit. */
export function subtractUsage(a: ContainerUsage, b: ContainerUsage): ContainerUsage {
  return {
    vcpuSeconds: Math.max(0, a.vcpuSeconds - b.vcpuSeconds),
    memoryGibSeconds: Math.max(0, a.memoryGibSeconds - b.memoryGibSeconds),
    diskGbSeconds: Math.max(0, a.diskGbSeconds - b.diskGbSeconds),
    egressGb: Math.max(0, a.egressGb - b.egressGb),
  };
}

/** Usage of running seconds per instance type (the self-meter's figures), at the assumed CPU share; a negative or non-finite figure counts as none. */
export function usageFromSeconds(seconds: Partial<Record<InstanceType, number>>, pricing: Pricing = DEFAULT_PRICING): ContainerUsage {
  let usage = NO_USAGE;
  for (const [type, s] of Object.entries(seconds) as Array<[InstanceType, number]>) {
    const size = INSTANCE_SIZES[type];
    if (!size || typeof s !== 'number' || !Number.isFinite(s) || s <= 0) continue;
    usage = addUsage(usage, {
      vcpuSeconds: size.vcpu * s * pricing.assumedCpuUtilization,
      memoryGibSeconds: (size.memoryMiB / 1024) * s,
      diskGbSeconds: (size.diskMB / 1000) * s,
      egressGb: 0,
    });
  }
  return usage;
}

export interface CostBreakdown {
  cpuUsd: number;
  memoryUsd: number;
  diskUsd: number;
  egressUsd: number;
  containersUsd: number;
  planUsd: number;
  totalUsd: number;
}

/** A month's bill for `usage`: the plan fee plus container use beyond the included amounts. */
export function monthCost(usage: ContainerUsage, pricing: Pricing = DEFAULT_PRICING): CostBreakdown {
  const c = pricing.containers;
  const over = (used: number, included: number) => Math.max(0, used - included);
  const cpuUsd = over(usage.vcpuSeconds, c.includedVcpuSeconds) * c.vcpuSecondUsd;
  const memoryUsd = over(usage.memoryGibSeconds, c.includedMemoryGibSeconds) * c.memoryGibSecondUsd;
  const diskUsd = over(usage.diskGbSeconds, c.includedDiskGbSeconds) * c.diskGbSecondUsd;
  const egressUsd = over(usage.egressGb, c.includedEgressGb) * c.egressGbUsd;
  const containersUsd = cpuUsd + memoryUsd + diskUsd + egressUsd;
  return {
    cpuUsd,
    memoryUsd,
    diskUsd,
    egressUsd,
    containersUsd,
    planUsd: pricing.workersPaidMonthlyUsd,
    totalUsd: pricing.workersPaidMonthlyUsd + containersUsd,
  };
}

/** A month's Browser Rendering bill for `hours` browser-hours, beyond the included ones. */
export function browserCost(hours: number, pricing: Pricing = DEFAULT_PRICING): number {
  return Math.max(0, hours - pricing.browser.includedHours) * pricing.browser.hourUsd;
}

/** What the Discord relay uses while it holds the bot's session: the alarm's period and Discord's heartbeat interval (s). */
export const RELAY_ALARM_S = 30;
export const DISCORD_HEARTBEAT_S = 41.25;

/**
 * The Discord relay's bill for `seconds` held (it stays in memory all that
 * time): its duration and its requests (one alarm every RELAY_ALARM_S, one
 * heartbeat ACK every DISCORD_HEARTBEAT_S), priced beyond the included
 * amounts — which the account's other Durable Objects share; the Agent's own
 * object is billed only while it runs, and is left out here.
 */
export function relayCost(seconds: number, pricing: Pricing = DEFAULT_PRICING): { gbSeconds: number; requests: number; usd: number } {
  return relayBill(seconds * pricing.durableObjects.billedGb, seconds / RELAY_ALARM_S + seconds / DISCORD_HEARTBEAT_S, pricing);
}

/** The relay's bill for its duration (GB-s) and requests as metered, beyond the included amounts. */
export function relayBill(gbSeconds: number, requests: number, pricing: Pricing = DEFAULT_PRICING): { gbSeconds: number; requests: number; usd: number } {
  const d = pricing.durableObjects;
  const over = (used: number, included: number) => Math.max(0, used - included);
  const usd = (over(gbSeconds, d.includedGbSeconds) / 1e6) * d.gbSecondMillionUsd + (over(requests, d.includedRequests) / 1e6) * d.requestMillionUsd;
  return { gbSeconds: Math.round(gbSeconds), requests: Math.round(requests), usd };
}

/** R2 use in billing units (a month). Deletes are free. */
export interface R2Usage {
  classA: number;
  classB: number;
  storageGbMonth: number;
}

/** A month's R2 bill for `usage`, beyond the included amounts (the free tier is per account). */
export function r2MonthCost(
  usage: R2Usage,
  pricing: Pricing = DEFAULT_PRICING,
): { classAUsd: number; classBUsd: number; storageUsd: number; totalUsd: number } {
  const r = pricing.r2;
  const over = (used: number, included: number) => Math.max(0, used - included);
  const classAUsd = (over(usage.classA, r.includedClassA) / 1e6) * r.classAMillionUsd;
  const classBUsd = (over(usage.classB, r.includedClassB) / 1e6) * r.classBMillionUsd;
  const storageUsd = over(usage.storageGbMonth, r.includedStorageGbMonth) * r.storageGbMonthUsd;
  return { classAUsd, classBUsd, storageUsd, totalUsd: classAUsd + classBUsd + storageUsd };
}

/** DEFAULT_PRICING deep-merged with the JSON of `PRICING_OVERRIDE`. @throws AppError `not_configured` on bad JSON or non-numbers. */
export function parsePricing(override: string | undefined): Pricing {
  if (!override?.trim()) return DEFAULT_PRICING;
  let patch: unknown;
  try {
    patch = JSON.parse(override);
  } catch {
    throw new AppError('not_configured', 'PRICING_OVERRIDE is not valid JSON');
  }
  // The override keeps the prices' shape: only their fields, numbers where they have numbers.
  const merge = <T extends object>(base: T, p: unknown, path: string): T => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new AppError('not_configured', `PRICING_OVERRIDE${path} must be an object`);
    const fields: Record<string, unknown> = Object.fromEntries(Object.entries(base));
    for (const [k, v] of Object.entries(p)) {
      if (!(k in fields)) throw new AppError('not_configured', `PRICING_OVERRIDE${path}.${k} is not a pricing field`);
      const current = fields[k];
      if (typeof current === 'number') {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
          throw new AppError('not_configured', `PRICING_OVERRIDE${path}.${k} must be a non-negative number`);
        fields[k] = v;
      } else if (typeof current === 'object' && current !== null) fields[k] = merge(current, v, `${path}.${k}`);
    }
    return fields as T;
  };
  return merge(DEFAULT_PRICING, patch, '');
}
