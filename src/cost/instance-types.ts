/**
 * Cloudflare Containers instance types (vCPU, memory, disk), as published in
 * the Containers documentation ("Instance types", checked 2026-11). Pure data.
 */
import type { InstanceType } from '../config.ts';

export interface InstanceSize {
  vcpu: number;
  memoryMiB: number;
  diskMB: number;
}

export const INSTANCE_SIZES: Record<InstanceType, InstanceSize> = {
  lite: { vcpu: 1 / 16, memoryMiB: 256, diskMB: 2_000 },
  basic: { vcpu: 1 / 4, memoryMiB: 1_024, diskMB: 4_000 },
  'standard-1': { vcpu: 1 / 2, memoryMiB: 4_096, diskMB: 8_000 },
  'standard-2': { vcpu: 1, memoryMiB: 6_144, diskMB: 12_000 },
  'standard-3': { vcpu: 2, memoryMiB: 8_192, diskMB: 16_000 },
  'standard-4': { vcpu: 4, memoryMiB: 12_288, diskMB: 20_000 },
};

/** The smallest instance type whose memory holds `neededMiB` with `headroom` (1.5 = 50 % spare). */
export function smallestFitting(neededMiB: number, headroom = 1.5): InstanceType | null {
  const fits = (Object.entries(INSTANCE_SIZES) as Array<[InstanceType, InstanceSize]>)
    .filter(([, size]) => size.memoryMiB >= neededMiB * headroom)
    .sort((a, b) => a[1].memoryMiB - b[1].memoryMiB);
  return fits[0]?.[0] ?? null;
}

/**
 * Projected wall time of a CPU-bound boot on an instance: the CPU-seconds it
 * needs over the cores it can use, which is the instance's vCPU share, but
 * no more than the parallelism the boot showed where it was measured.
 */
export function projectedBootSeconds(cpuSeconds: number, measuredParallelism: number, type: InstanceType): number {
  const usable = Math.min(INSTANCE_SIZES[type].vcpu, Math.max(measuredParallelism, 0.01));
  return cpuSeconds / usable;
}
