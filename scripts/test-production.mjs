// `npm run test:production`: the production twin alone — the real `Agent`
// class (a Sandbox) in a real container built from the project's Dockerfile,
// under `wrangler dev` with a local Docker engine (test/production/twin/).
// The first run builds the images (a few minutes); later runs reuse them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './lib/root.mjs';

const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'production', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
