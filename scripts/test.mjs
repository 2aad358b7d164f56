// `npm test`: type checks, format and lint, the layering, the Worker bundle (wrangler deploy --dry-run),
// the vitest projects unit (Node) and workers (workerd), then e2e (the local
// mode) and the production twin side by side. Ends with one line
// "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/root.mjs';

const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const results = join(ROOT, 'test-results');
mkdirSync(results, { recursive: true });

function step(title, command, args, env = {}) {
  console.log(`\n▶ ${title}`);
  const r = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

let failedSteps = 0;
if (!step('type check', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'])) failedSteps++;
// Formatting and lint (biome.jsonc); `npm run format` fixes what it can.
if (!step('format and lint (biome ci)', bin('biome'), ['ci', '.'])) failedSteps++;
// The layering (.dependency-cruiser.cjs): no import cycles, a pure machine, product code free of test and dev code.
if (
  !step('layering (dependency-cruiser)', bin('depcruise'), [
    'src',
    'machines',
    'container',
    'cli',
    'scripts',
    'test',
    'bin',
    '--config',
    '.dependency-cruiser.cjs',
  ])
)
  failedSteps++;
const dry = join(results, 'dry-run');
rmSync(dry, { recursive: true, force: true });
if (
  !step(
    'Worker bundle (wrangler deploy --dry-run)',
    process.execPath,
    [join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'deploy', '--dry-run', '--env=', '--containers-rollout=none', '--outdir', dry],
    { WRANGLER_SEND_METRICS: 'false' },
  )
)
  failedSteps++;

const extra = process.argv.slice(2);

/** Pass/fail counts from a vitest JSON report (a run that did not report counts as one failure). */
function counts(report, ok) {
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    const failedHere = (json.numFailedTests ?? 0) + (json.numRuntimeErrorTests ?? 0);
    return { passed: json.numPassedTests ?? 0, failed: failedHere === 0 && !ok ? 1 : failedHere };
  } catch {
    return { passed: 0, failed: 1 };
  }
}

function vitestArgs(projects, report, more = []) {
  rmSync(report, { force: true });
  return [
    'run',
    ...projects.flatMap((p) => ['--project', p]),
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...more,
    ...extra,
  ];
}

/** Runs vitest on some projects, its output on this terminal. */
function vitest(title, projects, reportName, more = []) {
  const report = join(results, reportName);
  return counts(report, step(title, bin('vitest'), vitestArgs(projects, report, more)));
}

/**
 * Runs vitest on some projects in the background, its output into a file
 * (printed whole when it ends, so two runs side by side do not interleave).
 */
function vitestBeside(title, projects, reportName, outName, more = [], env = {}, twinLog = 'production-twin.log') {
  const report = join(results, reportName);
  const out = join(results, outName);
  console.log(`\n▶ ${title} (beside the next step; its output: ${out}, printed when it ends)`);
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(bin('vitest'), vitestArgs(projects, report, more), {
      cwd: ROOT,
      stdio: ['ignore', openSync(out, 'w'), openSync(out, 'a')],
      env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '1', ...env },
    });
    child.once('exit', (code) => {
      console.log(`\n▶ ${title}: ended after ${Math.round((Date.now() - started) / 1000)} s, exit ${code}; its output:`);
      process.stdout.write(readFileSync(out, 'utf8'));
      if (code !== 0) printTwinTrail(twinLog);
      done(counts(report, code === 0));
    });
  });
}

/**
 * After a failed twin run: the Agent's lifecycle events and the twin's own lines (the Docker engine's starts,
 * kills and exits, the R2 endpoint's refusals) from its log, the last of them, so a failure in CI can be read
 * without the machine it ran on.
 */
function printTwinTrail(logName = 'production-twin.log') {
  const log = join(results, logName);
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return;
  }
  const lines = text.split('\n').filter((l) => /"event":"lifecycle:(?!timer|changed)|^\[twin\]|\[ERROR\]|Uncaught|[Rr]eload/.test(l));
  console.log(`\n▶ the twin's log (${log}), its last ${Math.min(200, lines.length)} lifecycle, engine and error lines:`);
  for (const line of lines.slice(-200)) console.log(line.length > 400 ? `${line.slice(0, 400)}…` : line);
}

/**
 * The production twin in two passes, one after the other: every file but the Discord scenario in a twin without a
 * Discord bot, then that scenario in a twin with one (TWIN_DISCORD=1). OpenClaw's Discord plugin costs every gateway
 * start seconds of CPU on the twin's one vCPU; at every boot of the whole twin it made `npm test` about 9 minutes longer.
 */
const DISCORD_TWIN_FILE = 'test/production/discord.test.ts';
async function twinPasses(serial) {
  const first = serial
    ? vitest('vitest (production twin)', ['production'], 'vitest-production.json', ['--exclude', DISCORD_TWIN_FILE])
    : await vitestBeside('vitest (production twin)', ['production'], 'vitest-production.json', 'production-run.out', ['--exclude', DISCORD_TWIN_FILE], {
        TWIN_DISCORD: '0',
      });
  if (serial && first.failed > 0) printTwinTrail();
  const second = await vitestBeside(
    'vitest (production twin with a Discord bot)',
    ['production'],
    'vitest-production-discord.json',
    'production-discord-run.out',
    [DISCORD_TWIN_FILE],
    { TWIN_DISCORD: '1' },
    'production-twin-discord.log',
  );
  return { passed: first.passed + second.passed, failed: first.failed + second.failed };
}

let passed = 0;
let failed = failedSteps;
const add = (run) => {
  passed += run.passed;
  failed += run.failed;
};
add(vitest('vitest (unit, workers)', ['unit', 'workers'], 'vitest.json'));
// The production twin (one container, its files one at a time) and the local mode's e2e files (one at a time
// here) run side by side: both mostly wait on boots, sleeps and timers, and together they load the machine
// about as two e2e files at a time do. OPENCLAW_ONDEMAND_TEST_SERIAL=1 runs them one after the other.
if (process.env.OPENCLAW_ONDEMAND_TEST_SERIAL === '1') {
  add(vitest('vitest (e2e)', ['e2e'], 'vitest-e2e.json'));
  add(await twinPasses(true));
} else {
  const twin = twinPasses(false);
  add(vitest('vitest (e2e, one file at a time beside the twin)', ['e2e'], 'vitest-e2e.json', ['--maxWorkers=1']));
  add(await twin);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
