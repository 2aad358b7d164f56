// `npm test`: type checks, the Worker bundle (wrangler deploy --dry-run),
// then every vitest project (unit in Node, workers in workerd, e2e of the
// local mode). Ends with one line "N passed, N failed".
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

const report = join(results, 'vitest.json');
rmSync(report, { force: true });
const extra = process.argv.slice(2);
const ok = step('vitest (unit, workers, e2e)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);

let passed = 0;
let failed = 0;
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests ?? 0;
  failed = (json.numFailedTests ?? 0) + (json.numRuntimeErrorTests ?? 0);
} catch {
  failed += 1;
}
failed += failedSteps;
if (!ok && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && ok ? 0 : 1);
