/**
 * The one CPU-seconds reading the benches and profiles share
 * (scripts/lib/proc.mjs): a live tree's own CPU, and with `reaped` what
 * its processes' finished children spent.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { procStat, treeCpuSeconds } from '../../scripts/lib/proc.mjs';
import { until } from '../../scripts/lib/local-stack.ts';

/**
 * A shell that runs a child spending 0.4 s of CPU (by its own CPU clock, so a busy machine only makes it take
 * longer), waits for it, then idles (until killed).
 */
function shellAfterABusyChild() {
  const busy = 'for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 400000) break; }';
  const sh = spawn('sh', ['-c', `"${process.execPath}" -e '${busy}'; echo done; sleep 30`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const done = new Promise<void>((resolve) => sh.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
  return { sh, done };
}

describe('CPU-seconds from /proc (scripts/lib/proc.mjs)', () => {
  it("should count a finished child's CPU only with `reaped`", async () => {
    const { sh, done } = shellAfterABusyChild();
    try {
      await done;
      const pid = sh.pid as number;
      // The busy child is gone: its CPU is in the shell's reaped figure, not its own.
      expect(procStat(pid)?.reapedCpu).toBeGreaterThanOrEqual(0.2);
      expect(treeCpuSeconds(pid, { reaped: true })).toBeGreaterThanOrEqual(0.2);
      expect(treeCpuSeconds(pid)).toBeLessThan(0.2);
    } finally {
      sh.kill('SIGKILL');
    }
    expect(procStat(999_999_999)).toBeNull();
  });

  it("should count a live descendant's CPU in its ancestor's tree", async () => {
    const sh = spawn('sh', ['-c', `"${process.execPath}" -e 'for (;;);' & wait`], { stdio: 'ignore', detached: true });
    try {
      const pid = sh.pid as number;
      await until(async () => (treeCpuSeconds(pid) >= 0.3 ? true : undefined), 20_000, 'the busy grandchild counted');
      expect(procStat(pid)?.ownCpu).toBeLessThan(0.1);
    } finally {
      process.kill(-(sh.pid as number), 'SIGKILL');
    }
  });
});
