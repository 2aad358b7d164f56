// CPU-seconds from Linux's /proc, defined once for the benches and profiles.
//
// A process's own CPU is utime + stime (fields 14 and 15 of /proc/<pid>/stat).
// Its reaped children's CPU is cutime + cstime (fields 16 and 17): children
// that ended and were waited for, which have no entry of their own any more.
// A live tree's CPU is the own CPU of every process in it; `reaped: true` adds
// what each of them reaped (a short-lived helper the tree started and waited
// for). Figures are in seconds (USER_HZ, 100 on Linux).
import { readdirSync, readFileSync } from 'node:fs';

export const CLK_TCK = 100;

/** One process's /proc entry: its parent, its process group, its own and its reaped children's CPU-seconds; null when it is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces and parentheses): state is f[0], ppid f[1], pgrp f[2].
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      pid: Number(pid),
      ppid: Number(f[1]),
      pgrp: Number(f[2]),
      ownCpu: (Number(f[11]) + Number(f[12])) / CLK_TCK,
      reapedCpu: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    };
  } catch {
    return null;
  }
}

/** Every live process's procStat, by pid. */
export function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) table.set(stat.pid, stat);
  }
  return table;
}

/** A process's CPU-seconds: its own, and with `reaped` its reaped children's too. */
export function cpuOf(stat, { reaped = false } = {}) {
  return stat ? stat.ownCpu + (reaped ? stat.reapedCpu : 0) : 0;
}

/** The CPU-seconds of `rootPid` and its live descendants (see above for `reaped`). */
export function treeCpuSeconds(rootPid, { reaped = false } = {}) {
  const table = processTable();
  const children = new Map();
  for (const s of table.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  let total = 0;
  const walk = (pid) => {
    total += cpuOf(table.get(pid), { reaped });
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return total;
}
