// The OpenClaw part of `npm run bench`: the real gateway's boot, bare and
// through the whole local stack, its CPU-seconds (all processes of the boot),
// its memory after idle, and what that means on each Cloudflare instance type.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockLlm, MOCK_MODEL_ID } from '../container/mock-llm/server.mjs';
import { INSTANCE_SIZES, projectedBootSeconds, smallestFitting } from '../src/cost/instance-types.ts';
import { freePort, post, ROOT, startLocalStack, until } from './lib/local-stack.ts';
import { median } from './lib/stats.mjs';
import { cpuOf, processTable } from './lib/proc.mjs';

const RUNS = Number(process.env.BENCH_OPENCLAW_RUNS ?? 3);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 15_000);

/** Processes of one process group: CPU seconds so far and memory now. */
function groupUsage(pgid) {
  let cpu = 0;
  let rssKb = 0;
  let pssKb = 0;
  for (const stat of processTable().values()) {
    if (stat.pgrp !== pgid) continue;
    try {
      cpu += cpuOf(stat); // own CPU (utime + stime)
      const rollup = readFileSync(`/proc/${stat.pid}/smaps_rollup`, 'utf8');
      rssKb += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return { cpu, rssMiB: rssKb / 1024, pssMiB: pssKb / 1024 };
}

function configure(home, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'container', 'configure-openclaw.mjs')], {
      env: { ...process.env, ...env, OPENCLAW_HOME: home, OPENCLAW_STATE_DIR: join(home, '.openclaw') },
      stdio: 'ignore',
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`configure exited ${code}`))));
  });
}

/** Starts `openclaw gateway run` alone; measures start → /readyz 200, CPU-seconds, and memory after idle. */
async function bareBoot(home, compileCache, modelEnv, measureIdle) {
  const port = await freePort();
  await configure(home, { ...modelEnv, GATEWAY_PORT: String(port) });
  const t0 = performance.now();
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'openclaw'), ['gateway', 'run', '--port', String(port)], {
    env: {
      ...process.env,
      ...modelEnv,
      OPENCLAW_HOME: home,
      OPENCLAW_STATE_DIR: join(home, '.openclaw'),
      NODE_COMPILE_CACHE: compileCache,
      OPENCLAW_SUPERVISOR_MODE: 'external',
    },
    detached: true,
    stdio: 'ignore',
  });
  await until(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 120_000, 'bare gateway ready', 20);
  const wallMs = performance.now() - t0;
  const atReady = groupUsage(child.pid);
  let idle = null;
  if (measureIdle) {
    await new Promise((r) => setTimeout(r, IDLE_MS));
    idle = groupUsage(child.pid);
  }
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  const killer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
  return { wallMs, cpuSeconds: atReady.cpu, idle };
}

export async function benchOpenClaw() {
  console.log(
    `\nOpenClaw gateway (openclaw ${JSON.parse(readFileSync(join(ROOT, 'node_modules', 'openclaw', 'package.json'), 'utf8')).version}), ${RUNS} runs each`,
  );
  const mock = await startMockLlm();
  const modelEnv = { OPENAI_BASE_URL: mock.url, OPENAI_MODEL: MOCK_MODEL_ID };
  const scratch = mkdtempSync(join(tmpdir(), 'bench-openclaw-'));
  try {
    const cold = [];
    const warm = [];
    // Warm: the same state directory and compile cache every time, as the stack's agent
    // has after its first boot. Cold: a first boot (empty state, empty cache).
    const warmCache = join(scratch, 'warm-cache');
    const warmHome = join(scratch, 'warm-home');
    await bareBoot(warmHome, warmCache, modelEnv, false); // primes both
    let idle = null;
    for (let i = 0; i < RUNS; i++) {
      cold.push(await bareBoot(join(scratch, `cold-${i}`), join(scratch, `cold-cache-${i}`), modelEnv, false));
      const run = await bareBoot(warmHome, warmCache, modelEnv, i === 0);
      warm.push(run);
      idle ??= run.idle;
    }

    // The stack's own probe interval and a slow client poll keep the measurement from
    // competing with the boot for CPU; the time comes from the recorded transitions.
    const stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '10m', BOOT_POLL_INTERVAL: '100ms' });
    const wakes = [];
    try {
      for (let i = -1; i < RUNS; i++) {
        const t0 = Date.now();
        await post(`${stack.url}/api/wake`);
        const ready = await until(
          async () => {
            const s = await (await fetch(`${stack.url}/api/status`)).json();
            return s.state === 'ready' ? s : undefined;
          },
          180_000,
          'ready',
          500,
        );
        if (i >= 0) wakes.push(Date.parse(ready.lastTransition.at) - t0); // run -1 is the agent's first boot
        await post(`${stack.url}/api/sleep`);
        await until(async () => ((await (await fetch(`${stack.url}/api/status`)).json()).state === 'sleeping' ? true : undefined), 60_000, 'sleeping', 50);
      }
    } finally {
      await stack.stop();
    }

    const m = (runs, key) => median(runs.map((r) => r[key]));
    const bareWarmMs = m(warm, 'wallMs');
    const wakeMs = median(wakes);
    const cpuCold = m(cold, 'cpuSeconds');
    const cpuWarm = m(warm, 'cpuSeconds');
    const parallelism = cpuWarm / (bareWarmMs / 1000);
    console.log(`bare gateway first boot (empty state and cache)  median ${(m(cold, 'wallMs') / 1000).toFixed(2)} s   CPU ${cpuCold.toFixed(2)} s`);
    console.log(
      `bare gateway start → ready, used state + cache   median ${(bareWarmMs / 1000).toFixed(2)} s   CPU ${cpuWarm.toFixed(2)} s   (CPU ÷ cold ${(cpuWarm / cpuCold).toFixed(2)})`,
    );
    console.log(`wake → ready through the local stack             median ${(wakeMs / 1000).toFixed(2)} s`);
    console.log(`ratio wake ÷ bare (warm)                         ${(wakeMs / bareWarmMs).toFixed(2)}   (goal ≤ 1.15)`);
    if (idle) {
      const fit = smallestFitting(idle.pssMiB);
      console.log(
        `memory after ${IDLE_MS / 1000} s idle (all gateway processes)   RSS ${idle.rssMiB.toFixed(0)} MiB   PSS ${idle.pssMiB.toFixed(0)} MiB   → smallest instance with 50 % headroom: ${fit}`,
      );
    }
    console.log(`boot parallelism here (CPU ÷ wall, warm)          ${parallelism.toFixed(2)} cores`);
    console.log('projected boot on Cloudflare (warm CPU-seconds ÷ usable vCPU):');
    for (const [type, size] of Object.entries(INSTANCE_SIZES)) {
      const s = projectedBootSeconds(cpuWarm, parallelism, type);
      console.log(
        `  ${type.padEnd(11)} ${String(size.vcpu).padEnd(7)} vCPU  ${String(size.memoryMiB).padStart(5)} MiB   ~${s.toFixed(0)} s${s > 120 ? '  (over the 2-minute line)' : ''}${idle && size.memoryMiB < idle.pssMiB * 1.5 ? '  (too little memory)' : ''}`,
      );
    }
  } finally {
    await mock.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
