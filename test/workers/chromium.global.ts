/**
 * A local Chromium for the workerd browser tests (vitest globalSetup, runs in
 * Node): headless, its DevTools endpoint on loopback, standing in for the
 * Browser Rendering binding. Provides `chromiumCdp` (http://127.0.0.1:PORT),
 * or null when Debian's chromium is missing (the tests then skip, loudly;
 * in CI that is an error).
 */
import type { TestProject } from 'vitest/node';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumCdp: string | null;
  }
}

export default async function setup(project: TestProject) {
  const chromium = await launchChromium();
  if (!chromium) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian chromium`);
    console.warn(`SKIPPING the workerd browser passthrough tests: ${CHROMIUM} is missing (apt-get install chromium)`);
    project.provide('chromiumCdp', null);
    return;
  }
  project.provide('chromiumCdp', chromium.url);
  return chromium.stop;
}
