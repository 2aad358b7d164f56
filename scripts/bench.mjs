// `npm run bench`: lifecycle timings of the local mode, measured in one run.
//   - wake → ready through the whole stack (Worker, Durable Object, local host, start script, gateway)
//   - bare gateway start → ready (the same gateway, spawned directly)
//   - the ratio of the two (the lifecycle's own overhead on a boot)
//   - request latency through the Worker vs straight to the gateway
// Then backups (scripts/bench-backup.mjs; BENCH_BACKUP=off skips it), the real
// OpenClaw (scripts/bench-openclaw.mjs; BENCH_OPENCLAW=off skips it), what the
// short loss window costs in uploads and R2 operations (scripts/bench-persistence.mjs;
// BENCH_PERSISTENCE=off skips it) and the production twin (scripts/bench-twin.mjs;
// BENCH_TWIN=off skips it).
// Environment: BENCH_RUNS (default 7), BENCH_REQUESTS (default 200), BENCH_OPENCLAW_RUNS (default 3).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, post, ROOT, startLocalStack, until } from './lib/local-stack.ts';
import { benchBackup } from './bench-backup.mjs';
import { benchOpenClaw } from './bench-openclaw.mjs';
import { benchPersistence } from './bench-persistence.mjs';
import { benchTwin } from './bench-twin.mjs';
import { median, p95 } from './lib/stats.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function status(url) {
  return (await fetch(`${url}/api/status`)).json();
}

async function bareGatewayStart() {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'container', 'echo-gateway.mjs')], {
    env: { ...process.env, GATEWAY_PORT: String(port) },
    stdio: 'ignore',
  });
  await until(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 30_000, 'bare gateway', 10);
  const ms = performance.now() - t0;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
  return ms;
}

console.log(`openclaw-ondemand bench — local mode, stand-in gateway, ${RUNS} runs, ${REQUESTS} requests`);
const stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', SLEEP_AFTER: '10m', BOOT_POLL_INTERVAL: '50ms' });
try {
  const wakes = [];
  const bares = [];
  for (let i = 0; i < RUNS; i++) {
    bares.push(await bareGatewayStart());
    const t0 = performance.now();
    await post(`${stack.url}/api/wake`);
    await until(async () => ((await status(stack.url)).state === 'ready' ? true : undefined), 60_000, 'ready', 10);
    wakes.push(performance.now() - t0);
    await post(`${stack.url}/api/sleep`);
    await until(async () => ((await status(stack.url)).state === 'sleeping' ? true : undefined), 60_000, 'sleeping');
  }

  await post(`${stack.url}/api/wake`);
  await until(async () => ((await status(stack.url)).state === 'ready' ? true : undefined), 60_000, 'ready');
  const { headers } = await (await fetch(`${stack.url}/probe`)).json();
  const gatewayUrl = `http://${headers.host}`;
  const through = [];
  const direct = [];
  for (let i = 0; i < REQUESTS; i++) {
    let t = performance.now();
    await (await fetch(`${stack.url}/bench?i=${i}`)).arrayBuffer();
    through.push(performance.now() - t);
    t = performance.now();
    await (await fetch(`${gatewayUrl}/bench?i=${i}`)).arrayBuffer();
    direct.push(performance.now() - t);
  }

  const wake = median(wakes);
  const bare = median(bares);
  console.log('');
  console.log(`wake → ready (whole stack)     median ${fmt(wake)}   p95 ${fmt(p95(wakes))}`);
  console.log(`bare gateway start → ready     median ${fmt(bare)}   p95 ${fmt(p95(bares))}`);
  console.log(`ratio wake/bare                ${(wake / bare).toFixed(2)}   (lifecycle overhead ${fmt(wake - bare)})`);
  console.log(`request through the Worker     median ${fmt(median(through))}   p95 ${fmt(p95(through))}`);
  console.log(`request straight to gateway    median ${fmt(median(direct))}   p95 ${fmt(p95(direct))}`);
  console.log(`ratio through/direct           ${(median(through) / median(direct)).toFixed(2)}`);
} finally {
  await stack.stop();
}
if (process.env.BENCH_BACKUP !== 'off') await benchBackup();
if (process.env.BENCH_OPENCLAW !== 'off') await benchOpenClaw();
if (process.env.BENCH_PERSISTENCE !== 'off') await benchPersistence();
if (process.env.BENCH_TWIN !== 'off') await benchTwin();
