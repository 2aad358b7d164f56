/**
 * The image `wrangler deploy` builds, on a base image as it may be
 * published: with Node 22 (the SDK's image recipe defaults to it, while
 * OpenClaw needs >= 24.16). The project's Dockerfile installs its own pinned
 * Node, so the build and OpenClaw do not depend on the base's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { buildProjectImageFrom, ensureNode22Base, NODE22_PIN } from './twin/images.ts';
import { ROOT } from './twin/twin-shell.ts';

const NODE_PIN = /NODE_PIN=(\S+)/.exec(readFileSync(join(ROOT, 'scripts', 'node24.sh'), 'utf8'))?.[1];
const OPENCLAW = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.openclaw;
const IMAGE = 'openclaw-ondemand-twin/project-on-node22:test';

const inImage = (script: string) => execFileSync('docker', ['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', script], { encoding: 'utf8' }).trim();

describe.skipIf(inject('twinSkipped') !== '')('production image on a base image with Node 22', () => {
  it("should build, and run OpenClaw on the pinned Node, not the base image's", async () => {
    const base = await ensureNode22Base();
    expect(execFileSync('docker', ['run', '--rm', '--entrypoint', 'node', base, '--version'], { encoding: 'utf8' }).trim()).toBe(`v${NODE22_PIN}`);
    await buildProjectImageFrom(base, IMAGE);
    expect(inImage('command -v node; node --version')).toBe(`/opt/node/bin/node\nv${NODE_PIN}`);
    expect(inImage('openclaw --version')).toContain(OPENCLAW);
    // The start script and the configure step run on it too (what the Agent starts).
    expect(inImage('head -1 "$(command -v openclaw)"; /usr/local/bin/node --version')).toBe(`#!/usr/bin/env node\nv${NODE22_PIN}`);
  }, 1_200_000);

  it('should fail the build with a clear message when the pinned Node is older than OpenClaw needs', async () => {
    const base = await ensureNode22Base();
    const failed = await buildProjectImageFrom(base, `${IMAGE}-old`, { NODE_VERSION: NODE22_PIN }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failed).toContain(`install-node: Node v${NODE22_PIN} is older than 24.16, which OpenClaw requires`);
  }, 600_000);
});
