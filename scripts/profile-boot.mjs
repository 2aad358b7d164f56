// `npm run profile:boot`: where the OpenClaw gateway's boot spends its CPU.
// Boots `openclaw gateway run` as start.sh does (configured by
// configure-openclaw.mjs, the bundled mock model, a warm compile cache and a
// used state directory) under `node --cpu-prof`, stops it once /readyz
// answers, and prints the CPU-seconds of the boot and the profile's self time
// grouped by what it belongs to (a bundled plugin, an OpenClaw chunk, Node's
// module loader, the compiler, garbage collection).
// Environment: PROFILE_RUNS (default 1), PROFILE_ENV (extra variables as
// JSON, e.g. '{"OPENCLAW_SKIP_CHANNELS":"1"}'), PROFILE_TOP (rows, default 25),
// PROFILE_READY_PATH (default /readyz).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOCK_MODEL_ID, startMockLlm } from '../container/mock-llm/server.mjs';
import { freePort, ROOT, until } from './lib/local-stack.ts';
import { median } from './lib/stats.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';

const RUNS = Number(process.env.PROFILE_RUNS ?? 1);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const READY_PATH = process.env.PROFILE_READY_PATH ?? '/readyz';
const EXTRA_ENV = JSON.parse(process.env.PROFILE_ENV ?? '{}');
const OPENCLAW = join(ROOT, 'node_modules', 'openclaw');

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** One boot under --cpu-prof: wall time to ready, CPU-seconds of the process tree, and the profiles written. */
async function profiledBoot(home, cache, profileDir, env) {
  const port = await freePort();
  const bootEnv = {
    ...process.env,
    ...env,
    OPENCLAW_HOME: home,
    OPENCLAW_STATE_DIR: join(home, '.openclaw'),
    GATEWAY_PORT: String(port),
    NODE_COMPILE_CACHE: cache,
    OPENCLAW_SUPERVISOR_MODE: 'external',
  };
  await run(process.execPath, [join(ROOT, 'container', 'configure-openclaw.mjs')], bootEnv);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, join(OPENCLAW, 'openclaw.mjs'), 'gateway', 'run', '--port', String(port)],
    { env: bootEnv, detached: true, stdio: 'ignore' },
  );
  await until(async () => ((await fetch(`http://127.0.0.1:${port}${READY_PATH}`)).ok ? true : undefined), 180_000, 'gateway ready', 20);
  const wallMs = performance.now() - t0;
  const cpuSeconds = treeCpuSeconds(child.pid, { reaped: true });
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  const killer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 30_000);
  await exited;
  clearTimeout(killer);
  return { wallMs, cpuSeconds };
}

/** What a profile node's code belongs to: a plugin, an OpenClaw chunk, a dependency, Node itself, or V8's own work. */
function owner(frame) {
  const url = frame.url || '';
  if (!url) return frame.functionName ? `(${frame.functionName})` : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = url.replace(/^file:\/\//, '');
  const ext = /\/openclaw\/dist\/extensions\/([^/]+)\//.exec(path);
  if (ext) return `plugin ${ext[1]}`;
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(path);
  if (dep && dep[1] !== 'openclaw') return `dep ${dep[1]}`;
  const chunk = /\/openclaw\/dist\/([^/]+?)(?:-[A-Za-z0-9_]{8})?\.(?:m?js)$/.exec(path);
  if (chunk) return `openclaw ${chunk[1]}`;
  return path.split('/').slice(-2).join('/');
}

/** Self time (ms) per owner, over every profile in `dir`. */
function selfTimes(dir) {
  const totals = new Map();
  let sampledMs = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const hits = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + dt);
    }
    for (const [id, ms] of hits) {
      const node = byId.get(id);
      if (!node || node.callFrame.functionName === '(idle)') continue;
      const key = owner(node.callFrame);
      totals.set(key, (totals.get(key) ?? 0) + ms);
      sampledMs += ms;
    }
  }
  return { totals, sampledMs };
}

const mock = await startMockLlm();
const scratch = mkdtempSync(join(tmpdir(), 'profile-boot-'));
try {
  const env = { OPENAI_BASE_URL: mock.url, OPENAI_MODEL: MOCK_MODEL_ID, ...EXTRA_ENV };
  const home = join(scratch, 'home');
  const cache = join(scratch, 'compile-cache');
  // A first boot fills the compile cache and the state directory, as the image's warm-up and the first wake do.
  await profiledBoot(home, cache, join(scratch, 'warmup'), env);
  const runs = [];
  let last = '';
  for (let i = 0; i < RUNS; i++) {
    last = join(scratch, `profile-${i}`);
    mkdirSync(last);
    runs.push(await profiledBoot(home, cache, last, env));
  }
  const { totals, sampledMs } = selfTimes(last);
  console.log(
    `gateway boot to ${READY_PATH} (used state, warm compile cache${Object.keys(EXTRA_ENV).length ? `, ${JSON.stringify(EXTRA_ENV)}` : ''}), ${RUNS} run(s):`,
  );
  console.log(
    `  wall ${(median(runs.map((r) => r.wallMs)) / 1000).toFixed(2)} s, CPU ${median(runs.map((r) => r.cpuSeconds)).toFixed(2)} s (process tree; the profiler adds a little)`,
  );
  console.log(`  profile: ${(sampledMs / 1000).toFixed(2)} s sampled on the JavaScript threads; self time by owner:`);
  for (const [key, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`  ${(ms / 1000).toFixed(2).padStart(6)} s  ${((ms / sampledMs) * 100).toFixed(1).padStart(5)} %  ${key}`);
} finally {
  await mock.close();
  rmSync(scratch, { recursive: true, force: true });
}
