// `npm run bench:cold-start`: the image's boot before and after its compile
// cache and OpenClaw patch, on the production twin, in one run.
//
// "after" is the Dockerfile as it is (no NODE_COMPILE_CACHE: the launcher's
// own cache in $TMPDIR warmed at build and checked; the resolve fast-path
// patch); "before" is the same Dockerfile as the image was built before
// (BEFORE_RECIPE: no patch, no check, the cache warmed under
// NODE_COMPILE_CACHE=/opt/openclaw/compile-cache, which makes the launcher
// re-execute itself once at every start); "cold" (optional) is "after"
// without the warm-up: what a build whose cache misses would run. Per
// instance type, one twin (the real Agent class under `wrangler dev`, the
// container at the type's CPU and memory) boots once and writes state
// through a chat turn, then wakes BENCH_BOOT_RUNS times from each image, the
// images taking turns wake by wake (the twin's Docker API proxy picks the
// image each new container is created from), every wake restoring that
// state; a wake that did not start a new container from the image asked for
// is not counted (and is named). Per wake: wake → ready (GET /api/status →
// lastBoot), the gateway's part of it, OpenClaw's CPU-seconds at ready (its
// processes and the helpers they reaped), how many OpenClaw launcher/gateway
// processes run, and the container's memory after BENCH_IDLE_MS. Then the
// build-time check runs again inside a running container of the image as
// built, with the gateway's own environment: the share of compile-cache
// reads accepted at a wake. Prints the table and the goal row (standard-2
// p50 ≤ 11.5 s and ≤ 0.9 × before).
// Environment: BENCH_BOOT_TYPES (default standard-1,standard-2),
// BENCH_BOOT_IMAGES (default before,after; add cold), BENCH_BOOT_RUNS
// (default 5 per image), BENCH_IDLE_MS (default 10000), BENCH_BOOT_BARE_RUNS
// (default 4: then `openclaw gateway run` alone in each image, in turn, at
// standard-2's limits — the gateway's own boot without the twin around it).
// Needs the twin (Docker); run it alone: flock /tmp/openclaw-twin.lock npm run bench:cold-start
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTANCE_SIZES } from '../src/cost/instance-types.ts';
import { buildProjectImageVariant } from '../test/production/twin/images.ts';
import { startTwin, twinUnavailable } from '../test/production/twin/twin.ts';
import { ROOT } from './lib/local-stack.ts';
import { cgroupDir, containerId, containerRssMiB, keepTwinFailure, twinApi } from './bench-twin.mjs';
import { median, p95 } from './lib/stats.mjs';
import { cpuOf, procStat } from './lib/proc.mjs';
import { bareGatewayBoot } from './lib/bare-boot.mjs';

const RUNS = Number(process.env.BENCH_BOOT_RUNS ?? 5);
/** The images compared, wake by wake in this order: `before`, `after`, and `cold` (after without its cache: what a build whose cache misses runs). */
const IMAGES = (process.env.BENCH_BOOT_IMAGES ?? 'before,after')
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const BARE_RUNS = Number(process.env.BENCH_BOOT_BARE_RUNS ?? 4);
const TYPES = (process.env.BENCH_BOOT_TYPES ?? 'standard-1,standard-2')
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const TAGS = { before: 'openclaw-ondemand-twin/project-before:bench', cold: 'openclaw-ondemand-twin/project-cold:bench' };
const LABELS = {
  before: 'before: `NODE_COMPILE_CACHE`, no patch',
  after: "after: launcher's cache + fast-path patch",
  cold: 'after without its cache (a build whose cache misses)',
};
/** The goal: standard-2's wake p50 at most this, and at most GOAL_RATIO × the same run's before. */
const GOAL_P50_MS = 11_500;
const GOAL_RATIO = 0.9;

/** How the image made its compile cache before: NODE_COMPILE_CACHE into /opt, a warm-up boot, no check. */
const BEFORE_RECIPE = `ENV NODE_COMPILE_CACHE=/opt/openclaw/compile-cache
RUN set -e; export OPENCLAW_HOME=/tmp/openclaw-warmup GATEWAY_PORT=18790 OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_MODEL=warmup; \\
    node /container/configure-openclaw.mjs; \\
    openclaw gateway run --port 18790 & pid=$!; \\
    node -e 'const t=Date.now();(async()=>{for(;;){try{if((await fetch("http://127.0.0.1:18790/readyz")).ok)process.exit(0)}catch{}if(Date.now()-t>180000)process.exit(1);await new Promise(r=>setTimeout(r,500))}})()'; \\
    kill -TERM "$pid"; wait "$pid" || true; \\
    rm -rf /tmp/openclaw-warmup /tmp/openclaw`;

/**
 * The Dockerfile as the image was built before: the fast-path patch and the
 * cache check left out, the warm-up replaced by BEFORE_RECIPE.
 * @throws when the Dockerfile no longer has the steps it replaces.
 */
export function beforeDockerfile(dockerfile) {
  const lines = dockerfile.split('\n');
  const drop = [
    /^COPY container\/patch-openclaw-fast-path\.mjs /,
    /^RUN node \/container\/patch-openclaw-fast-path\.mjs$/,
    /^RUN node \/container\/compile-cache\.mjs check\b/,
  ];
  for (const pattern of drop)
    if (!lines.some((l) => pattern.test(l))) throw new Error(`the Dockerfile has no line ${pattern}: update the bench's before recipe`);
  const warm = lines.findIndex((l) => /^RUN node \/container\/compile-cache\.mjs warm$/.test(l));
  if (warm < 0) throw new Error("the Dockerfile has no 'RUN node /container/compile-cache.mjs warm': update the bench's before recipe");
  lines[warm] = BEFORE_RECIPE;
  return lines.filter((l) => !drop.some((pattern) => pattern.test(l))).join('\n');
}

/** The Dockerfile as it is without the warm-up and its check: every wake compiles OpenClaw's modules. @throws when those steps are gone. */
export function coldDockerfile(dockerfile) {
  const steps = [/^RUN node \/container\/compile-cache\.mjs warm$/, /^RUN node \/container\/compile-cache\.mjs check\b/];
  const lines = dockerfile.split('\n');
  for (const pattern of steps)
    if (!lines.some((l) => pattern.test(l))) throw new Error(`the Dockerfile has no line ${pattern}: update the bench's cold recipe`);
  return lines.filter((l) => !steps.some((pattern) => pattern.test(l))).join('\n');
}

const s1 = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');

/** The container's processes as the host sees them: pid, command line, CPU-seconds (own + reaped children). */
function processes(id) {
  const dir = cgroupDir('cpuacct', id) ?? cgroupDir('memory', id);
  const pids = dir ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean) : [];
  const out = [];
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid, cmd, cpu: cpuOf(procStat(pid), { reaped: true }) });
    } catch {
      // gone
    }
  }
  return out;
}

/** OpenClaw's processes: its launcher(s) and gateway (not the helpers they start, which run from dist/). */
const isOpenClawMain = (cmd) => cmd.startsWith('openclaw-gateway') || /\/openclaw(\.mjs)?( |$)/.test(cmd);

/** The running gateway's environment (what the start script gave it), read from the host. */
function gatewayEnvironment(id) {
  const gateway = processes(id).find((p) => p.cmd.startsWith('openclaw-gateway'));
  if (!gateway) return null;
  return readFileSync(`/proc/${gateway.pid}/environ`, 'utf8').split('\0').filter(Boolean);
}

/** The build-time compile-cache check, run again in the running container with the gateway's own environment. */
function runtimeCacheCheck(name) {
  const env = gatewayEnvironment(containerId(name));
  if (!env) return 'no gateway process found';
  const r = spawnSync('docker', ['exec', name, 'env', '-i', ...env, 'node', '/container/compile-cache.mjs', 'check', '--timeout', '900'], {
    encoding: 'utf8',
    timeout: 960_000,
  });
  const line =
    `${r.stderr}`
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('compile-cache:'))
      .at(-1) ?? `exit ${r.status}: ${`${r.stderr}${r.stdout}`.trim().slice(-300)}`;
  const tmp = env.find((e) => e.startsWith('TMPDIR=')) ?? 'TMPDIR unset (/tmp)';
  return `${line.replace(/^compile-cache: /, '').replace(/; cache .*$/, '')} — the gateway's ${tmp}`;
}

async function benchType(instanceType) {
  const twin = await startTwin({ instanceType, vars: { SLEEP_AFTER: '30m', QUIET_AFTER: '60s', HEALTH_INTERVAL: '30s' } });
  const { post, settled } = twinApi(twin);
  const samples = Object.fromEntries(IMAGES.map((image) => [image, []]));
  const result = { instanceType, samples, skipped: [], runtimeCheck: '', failure: null, afterImage: '' };
  try {
    await post('/api/wake');
    await settled('ready');
    const r = await fetch(`${twin.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'openclaw',
        user: 'bench',
        messages: [
          {
            role: 'user',
            content:
              '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace" && head -c 200000 /dev/urandom | base64 > "$OPENCLAW_STATE_DIR/workspace/notes.txt" && echo ok]]',
          },
        ],
      }),
      signal: AbortSignal.timeout(300_000),
    });
    const wrote = (await r.json()).choices?.[0]?.message?.content;
    if (wrote !== 'Tool output: ok') throw new Error(`the first chat turn answered ${JSON.stringify(wrote)}`);
    const wakes = IMAGES.length * RUNS;
    for (let i = 0; i < wakes; i++) {
      const image = IMAGES[i % IMAGES.length];
      twin.useImage(TAGS[image] ?? null);
      await post('/api/sleep');
      await settled('sleeping');
      const created = twin.containers().length;
      await post('/api/wake');
      const ready = await settled('ready');
      // A wake counts only when it started a new container from the image asked for.
      const ran = spawnSync('docker', ['inspect', '-f', '{{.Config.Image}}', twin.containerName()], { encoding: 'utf8' }).stdout.trim();
      if (twin.containers().length === created || (TAGS[image] ? ran !== TAGS[image] : Object.values(TAGS).includes(ran))) {
        result.skipped.push(`${image}: ${twin.containers().length === created ? 'no new container' : `ran ${ran}`}`);
        console.error(`${instanceType} wake ${i + 1}/${wakes} (${image}): not counted (${result.skipped.at(-1)})`);
        continue;
      }
      if (image === 'after') result.afterImage = ran;
      const id = containerId(twin.containerName());
      const procs = processes(id);
      const openclaw = procs.filter((p) => p.cmd.includes('openclaw'));
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      samples[image].push({
        wakeMs: ready.lastBoot.totalMs,
        gatewayMs: ready.lastBoot.parts.find((p) => p.phase === 'starting-gateway')?.ms ?? NaN,
        cpu: openclaw.reduce((sum, p) => sum + p.cpu, 0),
        mains: openclaw.filter((p) => isOpenClawMain(p.cmd)).length,
        rssMiB: containerRssMiB(id),
      });
      console.error(`${instanceType} wake ${i + 1}/${wakes} (${image}): ${s1(ready.lastBoot.totalMs)}`);
    }
    // The build-time check again, in a running container from the image as built.
    if (TAGS[IMAGES[(wakes - 1) % IMAGES.length]]) {
      twin.useImage(null);
      await post('/api/sleep');
      await settled('sleeping');
      await post('/api/wake');
      await settled('ready');
    }
    result.runtimeCheck = runtimeCacheCheck(twin.containerName());
  } catch (error) {
    result.failure = keepTwinFailure(twin, instanceType, `bench-cold-start-${instanceType}`, error);
  } finally {
    await twin.stop();
  }
  return result;
}

/**
 * `openclaw gateway run` alone (scripts/bare-gateway-boot.mjs: configure, a
 * fresh state, start → /startupz) in each image at `instanceType`'s limits,
 * the images taking turns: the gateway's own boot without the twin around it.
 */
function bareBoots(images, instanceType, runs) {
  const size = INSTANCE_SIZES[instanceType];
  const out = Object.fromEntries(Object.keys(images).map((name) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, image] of Object.entries(images)) {
      const boot = bareGatewayBoot(image, size, { baseUrl: 'http://127.0.0.1:9/v1', model: 'bench' });
      if (boot.result) out[name].push(boot.result);
      else console.error(`bare boot (${name}) failed (${boot.failure})`);
    }
  }
  return out;
}

function row(label, instanceType, xs) {
  const size = INSTANCE_SIZES[instanceType];
  if (!xs.length) return `| ${label} | \`${instanceType}\` (${size.vcpu} vCPU) | no wakes |||||`;
  const wakes = xs.map((x) => x.wakeMs);
  const mains = [...new Set(xs.map((x) => x.mains))].join('/');
  return `| ${label} | \`${instanceType}\` (${size.vcpu} vCPU) | ${s1(median(wakes))} / ${s1(p95(wakes))} | ${s1(median(xs.map((x) => x.gatewayMs)))} | ${median(xs.map((x) => x.cpu)).toFixed(1)} | ${mains} | ${Math.round(median(xs.map((x) => x.rssMiB)))} MiB |`;
}

export async function benchColdStart() {
  const unavailable = await twinUnavailable();
  if (unavailable) {
    console.log(`cold start bench: skipped (${unavailable})`);
    return null;
  }
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  if (IMAGES.includes('before')) await buildProjectImageVariant(TAGS.before, beforeDockerfile(dockerfile), 'before (NODE_COMPILE_CACHE, no patch)');
  if (IMAGES.includes('cold')) await buildProjectImageVariant(TAGS.cold, coldDockerfile(dockerfile), 'after without its compile cache');
  const results = [];
  for (const type of TYPES) results.push(await benchType(type));
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  console.log(
    `\ncold start, before/after in one run — production twin, ${RUNS} wakes per image and type (${IMAGES.join(', ')}, in turn), restored state; tree at ${commit} + working changes`,
  );
  console.log(
    '| image | instance type | wake → ready p50 / p95 | gateway boot p50 | OpenClaw CPU-s at ready p50 | OpenClaw processes (launcher + gateway) | container RSS after idle p50 |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) for (const image of IMAGES) console.log(row(LABELS[image] ?? image, r.instanceType, r.samples[image]));
  console.log('');
  const p50 = (xs, key) => median(xs.map((x) => x[key]));
  for (const r of results) {
    if (r.failure) console.log(`${r.instanceType}: ${r.failure}`);
    if (r.skipped.length) console.log(`${r.instanceType}: wakes not counted: ${r.skipped.join('; ')}`);
    const before = r.samples.before ?? [];
    for (const image of IMAGES.filter((i) => i !== 'before')) {
      const xs = r.samples[image];
      if (!before.length || !xs.length) continue;
      console.log(
        `${r.instanceType}, ${image} ÷ before: wake p50 ${s1(p50(before, 'wakeMs'))} → ${s1(p50(xs, 'wakeMs'))} (× ${(p50(xs, 'wakeMs') / p50(before, 'wakeMs')).toFixed(2)}), OpenClaw CPU-s ${p50(before, 'cpu').toFixed(1)} → ${p50(xs, 'cpu').toFixed(1)} (× ${(p50(xs, 'cpu') / p50(before, 'cpu')).toFixed(2)})`,
      );
    }
    console.log(`${r.instanceType}: compile cache at a wake of the image as built: ${r.runtimeCheck}`);
  }
  const afterImage = results.find((r) => r.afterImage)?.afterImage;
  if (BARE_RUNS > 0 && afterImage) {
    const bareType = TYPES.includes('standard-2') ? 'standard-2' : TYPES[0];
    const bare = bareBoots(Object.fromEntries(IMAGES.map((image) => [image, TAGS[image] ?? afterImage])), bareType, BARE_RUNS);
    console.log(
      `\n\`openclaw gateway run\` alone in each image (fresh state, start → /startupz), ${BARE_RUNS} runs per image in turn, \`${bareType}\` limits:`,
    );
    console.log('| image | start → /startupz p50 | CPU-s p50 |');
    console.log('|---|---|---|');
    for (const image of IMAGES) {
      const xs = bare[image].filter((b) => Number.isFinite(b.wallMs));
      console.log(`| ${LABELS[image] ?? image} | ${xs.length ? s1(p50(xs, 'wallMs')) : '–'} | ${xs.length ? p50(xs, 'cpuSeconds').toFixed(1) : '–'} |`);
    }
    const before = bare.before ?? [];
    for (const image of IMAGES.filter((i) => i !== 'before')) {
      if (before.length && bare[image].length)
        console.log(
          `bare, ${image} ÷ before: start × ${(p50(bare[image], 'wallMs') / p50(before, 'wallMs')).toFixed(2)}, CPU-s × ${(p50(bare[image], 'cpuSeconds') / p50(before, 'cpuSeconds')).toFixed(2)}`,
        );
    }
  }
  const goal = results.find((r) => r.instanceType === 'standard-2' && r.samples.before?.length && r.samples.after?.length);
  if (goal) {
    const before = median(goal.samples.before.map((x) => x.wakeMs));
    const after = median(goal.samples.after.map((x) => x.wakeMs));
    const met = after <= GOAL_P50_MS && after <= GOAL_RATIO * before;
    console.log(
      `\n| goal | standard-2 p50 ≤ ${s1(GOAL_P50_MS)} and ≤ ${GOAL_RATIO} × before | ${s1(after)}: ${after <= GOAL_P50_MS ? 'met' : 'missed'}; × ${(after / before).toFixed(2)} of ${s1(before)}: ${after <= GOAL_RATIO * before ? 'met' : 'missed'} | **${met ? 'met' : 'not met'}** |`,
    );
  } else console.log('\ngoal: standard-2 was not measured (BENCH_BOOT_TYPES)');
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchColdStart();
  // The twin's HTTP clients may keep idle sockets open; the bench is done.
  process.exit(0);
}
