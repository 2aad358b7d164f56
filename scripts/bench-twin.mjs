// The production-twin part of `npm run bench`: the real `Agent` class and a
// container built from the Dockerfile, under `wrangler dev`, at the CPU and
// memory of each instance type — the closest this machine gets to Cloudflare.
// Per type: a first boot, a chat turn that writes state, then BENCH_TWIN_RUNS
// sleep → wake cycles (every wake restores that state), each wake's parts
// from GET /api/status (lastBoot) and the gateway's own "gateway ready" log
// line, the gateway's CPU-seconds at ready, memory after idle and at its peak
// during the first chat turn after a wake, and what a month costs at the
// plan's low- and medium-use profiles (src/cost, scripts/simulation.mjs).
// Then, at the configured type, the same wakes with the stock settings this
// project changed (the Sandbox control server's interpreter pools, a 1 s
// readiness poll) and `openclaw gateway run` alone in the same image at the
// same limits: before/after in one run.
// Environment: BENCH_TWIN_RUNS (default 5), BENCH_TWIN_TYPES (default
// basic,standard-1,standard-2,standard-3), BENCH_IDLE_MS (default 15000),
// BENCH_TWIN_STOCK=off skips the before/after rows.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { INSTANCE_SIZES } from '../src/cost/instance-types.ts';
import { configuredInstanceType, startTwin, twinUnavailable } from '../test/production/twin/twin.ts';
import { ROOT, until } from './lib/local-stack.ts';
import { median, p95 } from './lib/stats.mjs';
import { profiles, simulate } from './simulation.mjs';
import { cpuOf, procStat } from './lib/proc.mjs';
import { bareGatewayBoot } from './lib/bare-boot.mjs';

const RUNS = Number(process.env.BENCH_TWIN_RUNS ?? 5);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 15_000);
const s1 = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');
/** The settings this project changed, as the stock base image and the old default had them. */
const STOCK = { containerEnv: { JAVASCRIPT_POOL_MIN_SIZE: '3', TYPESCRIPT_POOL_MIN_SIZE: '3' }, vars: { BOOT_POLL_INTERVAL: '1s' } };

/** The twin's API as the benches use it: POST a command, and wait (10 min at most) until the assistant settles in a state. */
export function twinApi(twin) {
  const status = async () => (await fetch(`${twin.url}/api/status`)).json();
  const post = (path, body = {}) =>
    fetch(`${twin.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const settled = (state) =>
    until(
      async () => {
        const s = await status();
        if (s.state === 'stopped' && s.lastError) throw new Error(`${s.lastError.code}: ${s.lastError.message}`);
        return s.state === state && !s.stopping ? s : undefined;
      },
      600_000,
      state,
      100,
    );
  return { status, post, settled };
}

/** A failed bench run: keeps the twin's output in test-results/<logName>.log, says so, and returns the failure's first line. */
export function keepTwinFailure(twin, label, logName, error) {
  const failure = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error);
  const log = join(ROOT, 'test-results', `${logName.replace(/[^a-z0-9]+/gi, '-')}.log`);
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, twin.output());
  console.log(`${label}: ${failure} (the twin's output: ${log})`);
  return failure;
}

/** The container's cgroup directory for a controller (cgroup v1 as the engine sets it up), or null. */
export function cgroupDir(controller, id) {
  for (const dir of [`/sys/fs/cgroup/${controller}/docker/${id}`, `/sys/fs/cgroup/${controller}/system.slice/docker-${id}.scope`])
    if (existsSync(dir)) return dir;
  return null;
}

export function containerId(name) {
  return execFileSync('docker', ['inspect', '-f', '{{.Id}}', name], { encoding: 'utf8' }).trim();
}

/** Anonymous memory of the whole container (MiB), read from the host. */
export function containerRssMiB(id) {
  const dir = cgroupDir('memory', id);
  const stat = dir
    ? readFileSync(join(dir, 'memory.stat'), 'utf8')
    : execFileSync('docker', ['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.stat'], { encoding: 'utf8' });
  return Number(/^total_rss (\d+)/m.exec(stat)?.[1] ?? 0) / 1024 / 1024;
}

/** CPU-seconds of the container's OpenClaw processes (the launcher, the gateway, its workers), from the host's /proc. */
function openclawCpuSeconds(id) {
  const dir = cgroupDir('cpuacct', id) ?? cgroupDir('memory', id);
  const pids = dir ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean) : [];
  let cpu = 0;
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('openclaw')) continue;
      // Own CPU only: the gateway's reaped helpers are not OpenClaw's boot.
      cpu += cpuOf(procStat(pid));
    } catch {
      // gone
    }
  }
  return cpu;
}

/** When the gateway logged "gateway ready" (its own clock), from its log file in the container. */
function gatewayReadyAt(name) {
  const r = spawnSync('docker', ['exec', name, 'sh', '-c', 'grep -h "gateway ready" /tmp/openclaw/openclaw-*.log 2>/dev/null | tail -n 1'], {
    encoding: 'utf8',
  });
  const time = /"time":"([^"]+)"/.exec(r.stdout)?.[1];
  return time ? Date.parse(time) : NaN;
}

/** Polls the container's memory every 50 ms while `work` runs; returns the peak (MiB). */
async function peakDuring(id, work) {
  let peak = containerRssMiB(id);
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        peak = Math.max(peak, containerRssMiB(id));
      } catch {
        // the container went away
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  return peak;
}

const part = (boot, phase) => boot.parts.find((p) => p.phase === phase)?.ms ?? NaN;

/** One instance type on the twin: a first boot, state written, RUNS wakes with restored state. */
async function benchType(instanceType, { containerEnv, vars = {}, label = instanceType } = {}) {
  const twin = await startTwin({
    instanceType,
    ...(containerEnv ? { containerEnv } : {}),
    vars: { SLEEP_AFTER: '30m', QUIET_AFTER: '60s', HEALTH_INTERVAL: '30s', ...vars },
  });
  const { post, settled } = twinApi(twin);
  const chat = async (content) => {
    const r = await fetch(`${twin.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', user: 'bench', messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(300_000),
    });
    const text = await r.text();
    try {
      return JSON.parse(text).choices?.[0]?.message?.content;
    } catch {
      throw new Error(`a chat turn answered HTTP ${r.status}: ${text.slice(0, 120)}`);
    }
  };
  const result = {
    label,
    instanceType,
    base: twin.base,
    wakes: [],
    parts: { launching: [], restoring: [], starting: [], configuring: [], gateway: [], lag: [] },
    cpus: [],
    idleRssMiB: NaN,
    peakRssMiB: NaN,
    image: '',
    failure: null,
  };
  try {
    await post('/api/wake');
    await settled('ready');
    // The image by its id: wrangler tags the same build anew for every `wrangler dev`, and the twin drops older tags.
    result.image = execFileSync('docker', ['inspect', '-f', '{{.Image}}', twin.containerName()], { encoding: 'utf8' }).trim();
    // State for every later wake to restore: a workspace file written through the agent's exec tool.
    const wrote = await chat(
      '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace" && head -c 200000 /dev/urandom | base64 > "$OPENCLAW_STATE_DIR/workspace/notes.txt" && echo ok]]',
    );
    if (wrote !== 'Tool output: ok') throw new Error(`the first chat turn answered ${JSON.stringify(wrote)}`);
    for (let i = 0; i < RUNS; i++) {
      await post('/api/sleep');
      await settled('sleeping');
      await post('/api/wake');
      const ready = await settled('ready');
      const boot = ready.lastBoot;
      const id = containerId(twin.containerName());
      result.cpus.push(openclawCpuSeconds(id));
      result.wakes.push(boot.totalMs);
      result.parts.launching.push(part(boot, 'launching'));
      result.parts.restoring.push(part(boot, 'restoring'));
      result.parts.starting.push(part(boot, 'starting'));
      result.parts.configuring.push(part(boot, 'configuring'));
      result.parts.gateway.push(part(boot, 'starting-gateway'));
      result.parts.lag.push(Date.parse(boot.readyAt) - gatewayReadyAt(twin.containerName()));
      if (i === 0) {
        result.peakRssMiB = await peakDuring(id, async () => {
          const answer = await chat('[[exec: wc -c < "$OPENCLAW_STATE_DIR/workspace/notes.txt"]]');
          if (!/Tool output: \d+/.test(answer ?? '')) throw new Error(`the chat turn after a wake answered ${JSON.stringify(answer)}`);
        });
      }
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    result.idleRssMiB = containerRssMiB(containerId(twin.containerName()));
  } catch (error) {
    result.failure = keepTwinFailure(twin, label, `bench-twin-${label}`, error);
  } finally {
    await twin.stop();
  }
  return result;
}

/** `openclaw gateway run` alone in the project image at the type's limits: start → /startupz, and its CPU-seconds. */
async function bareGateway(image, instanceType, runs) {
  const size = INSTANCE_SIZES[instanceType];
  const { startMockLlm, MOCK_MODEL_ID } = await import('../container/mock-llm/server.mjs');
  const gateway = execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}'], {
    encoding: 'utf8',
  }).trim();
  const mock = await startMockLlm({ host: gateway });
  const out = [];
  try {
    for (let i = 0; i < runs; i++) {
      const boot = bareGatewayBoot(image, size, { baseUrl: `http://${gateway}:${mock.port}/v1`, model: MOCK_MODEL_ID });
      if (!boot.result) console.log(`bare gateway run ${i + 1} failed (${boot.failure})`);
      out.push(boot.result ?? { wallMs: null, cpuSeconds: null });
    }
  } finally {
    await mock.close();
  }
  return out;
}

function monthUsd(instanceType, profile) {
  return simulate(profiles[profile], false, instanceType).cost;
}

function row(r) {
  const size = INSTANCE_SIZES[r.instanceType];
  const head = `| ${r.label} | ${size.vcpu} / ${(size.memoryMiB / 1024).toFixed(size.memoryMiB < 1024 ? 2 : 0)} GiB`;
  if (r.failure && !r.wakes.length)
    return `${head} | fails: ${r.failure} |||||||||| $${monthUsd(r.instanceType, 'low (3×/week, 1 h)').toFixed(2)} | $${monthUsd(r.instanceType, 'medium (weekdays 2 h)').toFixed(2)} |`;
  const m = (xs) => s1(median(xs.filter(Number.isFinite)));
  const cells = [
    `${s1(median(r.wakes))} / ${s1(p95(r.wakes))}${r.failure ? ` (then: ${r.failure})` : ''}`,
    m(r.parts.launching),
    m(r.parts.restoring),
    m([...r.parts.starting.map((x, i) => x + (r.parts.configuring[i] ?? 0))]),
    m(r.parts.gateway),
    m(r.parts.lag),
    median(r.cpus).toFixed(1),
    `${Math.round(r.idleRssMiB)} MiB`,
    `${Math.round(r.peakRssMiB)} MiB`,
    `$${monthUsd(r.instanceType, 'low (3×/week, 1 h)').toFixed(2)}`,
    `$${monthUsd(r.instanceType, 'medium (weekdays 2 h)').toFixed(2)}`,
  ];
  return `${head} | ${cells.join(' | ')} |`;
}

export async function benchTwin() {
  const unavailable = await twinUnavailable();
  if (unavailable) {
    console.log(`\nproduction twin: skipped (${unavailable})`);
    return null;
  }
  const types = (process.env.BENCH_TWIN_TYPES ?? 'basic,standard-1,standard-2,standard-3')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const configured = configuredInstanceType();
  const results = [];
  for (const type of types) results.push(await benchType(type));
  let stock = null;
  let bare = [];
  const reference = results.find((r) => r.instanceType === 'standard-1' && r.image) ?? results.find((r) => r.image);
  if (process.env.BENCH_TWIN_STOCK !== 'off' && reference) {
    stock = await benchType(reference.instanceType, { ...STOCK, label: `${reference.instanceType}, stock settings` });
    bare = await bareGateway(reference.image, reference.instanceType, Math.min(RUNS, 3));
  }
  console.log(
    `\nproduction twin — the Agent class, a container from the Dockerfile (base: ${results[0]?.base}), ${RUNS} wakes with restored state per type; wrangler.jsonc deploys ${configured}`,
  );
  console.log(
    '| instance type | vCPU / memory | wake → ready p50 / p95 | container start | restore | start script + configure | gateway boot | readiness seen after | gateway CPU-s at ready | RSS after idle | peak RSS, first chat turn | month, low use | month, medium use |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of [...results, ...(stock ? [stock] : [])]) console.log(row(r));
  if (stock && reference) {
    const tuned = median(reference.wakes);
    const before = median(stock.wakes);
    console.log(
      `\nbefore/after at ${reference.instanceType} (same run): wake → ready ${s1(before)} with the stock settings (interpreter pools 3 + 3, BOOT_POLL_INTERVAL 1s) → ${s1(tuned)} now (ratio ${(tuned / before).toFixed(2)}); OpenClaw CPU-s ${median(stock.cpus).toFixed(1)} → ${median(reference.cpus).toFixed(1)}; RSS after idle ${Math.round(stock.idleRssMiB)} → ${Math.round(reference.idleRssMiB)} MiB`,
    );
    const walls = bare.map((b) => b.wallMs).filter(Number.isFinite);
    const cpus = bare.map((b) => b.cpuSeconds).filter(Number.isFinite);
    if (walls.length) {
      console.log(
        `stock \`openclaw gateway run\` alone in the same image at ${reference.instanceType} limits (fresh state, ${walls.length} runs): start → /startupz ${s1(median(walls))}, ${median(cpus).toFixed(1)} CPU-s; the whole wake (container, restore, gateway) takes ${(tuned / median(walls)).toFixed(2)} × that, and the gateway's boot is ${((median(reference.parts.gateway) / tuned) * 100).toFixed(0)} % of it`,
      );
    }
  }
  return { results, stock, bare };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTwin();
