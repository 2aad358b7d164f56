// `npm test`: type checks, the Worker bundle (wrangler deploy --dry-run),
// the vitest projects unit (Node), workers (workerd) and e2e (the local
// mode), then the production twin (its own run: it needs the machine to
// itself). Ends with one line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
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
const dry = join(results, 'dry-run');
rmSync(dry, { recursive: true, force: true });
if (!step('Worker bundle (wrangler deploy --dry-run)', process.execPath, [join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'deploy', '--dry-run', '--env=', '--containers-rollout=none', '--outdir', dry], { WRANGLER_SEND_METRICS: 'false' })) failedSteps++;

const extra = process.argv.slice(2);

/** Runs vitest on some projects; returns its pass/fail counts (a run that did not report counts as one failure). */
function vitest(title, projects, reportName) {
  const report = join(results, reportName);
  rmSync(report, { force: true });
  const ok = step(title, bin('vitest'), ['run', ...projects.flatMap((p) => ['--project', p]), '--passWithNoTests', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    const failedHere = (json.numFailedTests ?? 0) + (json.numRuntimeErrorTests ?? 0);
    return { passed: json.numPassedTests ?? 0, failed: failedHere === 0 && !ok ? 1 : failedHere };
  } catch {
    return { passed: 0, failed: 1 };
  }
}

let passed = 0;
let failed = failedSteps;
for (const run of [vitest('vitest (unit, workers, e2e)', ['unit', 'workers', 'e2e'], 'vitest.json'), vitest('vitest (production twin)', ['production'], 'vitest-production.json')]) {
  passed += run.passed;
  failed += run.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
