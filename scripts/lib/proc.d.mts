export declare const CLK_TCK: number;
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime, in seconds. */
  ownCpu: number;
  /** cutime + cstime (finished, waited-for children), in seconds. */
  reapedCpu: number;
}
export declare function procStat(pid: number | string): ProcStat | null;
export declare function processTable(): Map<number, ProcStat>;
export declare function cpuOf(stat: ProcStat | null | undefined, options?: { reaped?: boolean }): number;
export declare function treeCpuSeconds(rootPid: number, options?: { reaped?: boolean }): number;
