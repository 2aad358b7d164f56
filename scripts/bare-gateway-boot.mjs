// Run inside the project image by the bench (scripts/bench-twin.mjs): the
// stock way to start OpenClaw — configure, then `openclaw gateway run` — with
// nothing of this project around it. Prints one JSON line: start → /startupz
// (polled every 20 ms) and the CPU-seconds of the gateway's process tree.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { treeCpuSeconds } from './lib/proc.mjs';

const port = '18789';
mkdirSync(process.env.OPENCLAW_HOME ?? '/home/openclaw', { recursive: true });
const env = { ...process.env, GATEWAY_PORT: port };
if (spawnSync('node', ['/container/configure-openclaw.mjs'], { env, stdio: 'inherit' }).status !== 0) process.exit(1);
const started = performance.now();
const gateway = spawn('openclaw', ['gateway', 'run', '--port', port], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
for (;;) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/startupz`)).ok) break;
  } catch {
    // not listening yet
  }
  if (performance.now() - started > 300_000) process.exit(1);
  await new Promise((r) => setTimeout(r, 20));
}
const wallMs = Math.round(performance.now() - started);
// The gateway's live tree, its own CPU only (as profile-boot's `reaped: false` would say).
const cpuSeconds = treeCpuSeconds(gateway.pid);
console.log(JSON.stringify({ wallMs, cpuSeconds: Math.round(cpuSeconds * 100) / 100 }));
process.kill(-gateway.pid, 'SIGTERM');
await new Promise((r) => gateway.once('exit', r));
