#!/usr/bin/env node
// WRANGLER_DOCKER_BIN of the production twin: the Docker CLI as wrangler
// expects it, on an engine without buildx or Docker Hub.
// - `build`: wrangler passes buildx flags (--load, --provenance=false,
//   --platform linux/amd64, or --output); they are dropped and the classic
//   builder runs (DOCKER_BUILDKIT=0). The Dockerfile still comes on stdin.
// - `pull` of an image that is already present locally is a no-op (the
//   stand-in base image and the sidecar exist only here).
// Everything else goes to the real `docker` unchanged. TWIN_REAL_DOCKER names it.
import { spawnSync } from 'node:child_process';

const docker = process.env.TWIN_REAL_DOCKER || 'docker';
const [command, ...rest] = process.argv.slice(2);
const run = (args, env = process.env) => spawnSync(docker, args, { stdio: 'inherit', env }).status ?? 1;

if (command === 'build') {
  const args = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--load' || a.startsWith('--provenance')) continue;
    if (a === '--output' || a === '--platform') {
      i++;
      continue;
    }
    if (a.startsWith('--output=') || a.startsWith('--platform=')) continue;
    args.push(a);
  }
  process.exit(run(['build', ...args], { ...process.env, DOCKER_BUILDKIT: '0' }));
}
if (command === 'pull') {
  const image = rest.filter((a) => !a.startsWith('-')).at(-1);
  if (image && spawnSync(docker, ['image', 'inspect', image], { stdio: 'ignore' }).status === 0) {
    console.log(`${image}: present locally, not pulled`);
    process.exit(0);
  }
}
process.exit(run([command, ...rest].filter((a) => a !== undefined)));
