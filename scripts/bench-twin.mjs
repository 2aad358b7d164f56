// The production-twin part of `npm run bench`: the real `Agent` class and a
// container built from the Dockerfile, under `wrangler dev`, at the CPU and
// memory of an instance type — the closest this machine gets to Cloudflare.
// Per wake (with restored state): wake → ready, the boot's CPU-seconds (the
// container's cgroup), and the backup before the sleep and the restore
// before the wake; once: memory after idle.
// Environment: BENCH_TWIN_RUNS (default 5), BENCH_TWIN_TYPES (default standard-1), BENCH_IDLE_MS (default 15000).
import { execFileSync } from 'node:child_process';
import { startTwin, twinUnavailable } from '../test/production/twin/twin.ts';
import { until } from '../test/support/node-local-stack.ts';
import { median, p95 } from './bench-stats.mjs';

const RUNS = Number(process.env.BENCH_TWIN_RUNS ?? 5);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 15_000);
const s1 = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The app container's cgroup: CPU-seconds used since it started, and resident memory (MiB). */
function containerUsage(name) {
  const out = execFileSync('docker', ['exec', name, 'sh', '-c', 'cat /sys/fs/cgroup/cpuacct/cpuacct.usage; grep -E "^total_rss " /sys/fs/cgroup/memory/memory.stat'], { encoding: 'utf8' }).trim().split('\n');
  return { cpuSeconds: Number(out[0]) / 1e9, rssMiB: Number(out[1]?.split(' ')[1] ?? 0) / 1024 / 1024 };
}

async function benchType(instanceType) {
  const twin = await startTwin({ instanceType, vars: { SLEEP_AFTER: '30m', QUIET_AFTER: '60s', BOOT_POLL_INTERVAL: '250ms', HEALTH_INTERVAL: '30s' } });
  const status = async () => (await fetch(`${twin.url}/api/status`)).json();
  const post = (path, body = {}) => fetch(`${twin.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const settled = (state) => until(async () => {
    const s = await status();
    if (s.state === 'stopped' && s.lastError) throw new Error(`${s.lastError.code}: ${s.lastError.message}`);
    return s.state === state && !s.stopping ? s : undefined;
  }, 300_000, state, 100);
  try {
    // A first boot, and state for the next ones to restore (a workspace file written through the agent).
    await post('/api/wake');
    await settled('ready');
    await post('/v1/chat/completions', { model: 'openclaw', user: 'bench', messages: [{ role: 'user', content: '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace" && head -c 200000 /dev/urandom | base64 > "$OPENCLAW_STATE_DIR/workspace/notes.txt" && echo ok]]' }] });
    const wakes = [];
    const cpus = [];
    const backups = [];
    const restores = [];
    for (let i = 0; i < RUNS; i++) {
      await post('/api/sleep');
      const asleep = await settled('sleeping');
      backups.push(asleep.backups.lastBackup?.ms ?? NaN);
      await post('/api/wake');
      const ready = await settled('ready');
      const booted = ready.history.at(-1);
      const started = ready.history.at(-2);
      wakes.push(Date.parse(booted.at) - Date.parse(started.at));
      restores.push(ready.backups.lastRestore?.ms ?? NaN);
      cpus.push(containerUsage(twin.containerName()).cpuSeconds);
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = containerUsage(twin.containerName());
    return { instanceType, base: twin.base, wakes, cpus, backups, restores, idleRssMiB: idle.rssMiB };
  } finally {
    await twin.stop();
  }
}

export async function benchTwin() {
  const unavailable = await twinUnavailable();
  if (unavailable) {
    console.log(`\nproduction twin: skipped (${unavailable})`);
    return null;
  }
  const types = (process.env.BENCH_TWIN_TYPES ?? 'standard-1').split(',').map((t) => t.trim()).filter(Boolean);
  const results = [];
  for (const type of types) results.push(await benchType(type));
  console.log(`\nproduction twin — the Agent class, a container from the Dockerfile (base: ${results[0]?.base}), ${RUNS} wakes with restored state each`);
  console.log('| instance type | wake → ready p50 / p95 | boot CPU-s (container, p50) | backup before sleep p50 | restore before boot p50 | RSS after idle |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.instanceType} | ${s1(median(r.wakes))} / ${s1(p95(r.wakes))} | ${median(r.cpus).toFixed(1)} | ${s1(median(r.backups))} | ${s1(median(r.restores))} | ${Math.round(r.idleRssMiB)} MiB |`);
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTwin();
