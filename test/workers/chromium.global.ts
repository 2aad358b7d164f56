/**
 * A local Chromium for the workerd browser tests (vitest globalSetup, runs in
 * Node): headless, its DevTools endpoint on loopback, standing in for the
 * Browser Rendering binding. Provides `chromiumCdp` (http://127.0.0.1:PORT),
 * or null when Debian's chromium is missing (the tests then skip, loudly;
 * in CI that is an error).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

const CHROMIUM = '/usr/bin/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumCdp: string | null;
  }
}

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian chromium`);
    console.warn(`SKIPPING the workerd browser passthrough tests: ${CHROMIUM} is missing (apt-get install chromium)`);
    project.provide('chromiumCdp', null);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'cdp-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not report its DevTools endpoint within 30 s:\n${seen}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const port = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(seen)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before it listened:\n${seen}`)));
  });
  project.provide('chromiumCdp', endpoint);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(profile, { recursive: true, force: true });
  };
}
