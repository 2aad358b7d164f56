// `npm run test:production`: the production twin alone — the real `Agent`
// class (a Sandbox) in a real container built from the project's Dockerfile,
// under `wrangler dev` with a local Docker engine (test/production/twin/).
// The first run builds the images (a few minutes); later runs reuse them.
// Without arguments, as in `npm test`: every file but the Discord scenario in a
// twin without a Discord bot, then that scenario in a twin with one
// (TWIN_DISCORD=1). With files, one pass over them; naming the Discord
// scenario gives that pass the bot unless TWIN_DISCORD says otherwise.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './lib/root.mjs';

const DISCORD_TWIN_FILE = 'test/production/discord.test.ts';
const args = process.argv.slice(2);

function pass(more, env) {
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'production', ...more], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  return r.status ?? 1;
}

if (args.length > 0) {
  const withBot = process.env.TWIN_DISCORD ?? (args.some((a) => a.includes('discord')) ? '1' : '0');
  process.exit(pass(args, { TWIN_DISCORD: withBot }));
}
const first = pass(['--exclude', DISCORD_TWIN_FILE], { TWIN_DISCORD: '0' });
const second = pass([DISCORD_TWIN_FILE], { TWIN_DISCORD: '1' });
process.exit(first === 0 && second === 0 ? 0 : 1);
