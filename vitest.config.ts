import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const nodeShim = fileURLToPath(new URL('./test/support/node-cloudflare-workers.ts', import.meta.url));

export default defineConfig({
  test: {
    // Two files at a time (vitest's default on a 2-core machine is one): the e2e files mostly wait on
    // real timers and boots, and each runs its own stack on free ports with its own state directory.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/unit/**/*.test.ts'],
          alias: { 'cloudflare:workers': nodeShim },
          setupFiles: ['test/support/node-setup.ts'],
          // These packages use bundler-style imports; let Vite resolve them.
          server: { deps: { inline: [/@cloudflare\/(containers|sandbox)/] } },
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './test/workers/wrangler.test.jsonc' } })],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          // A bound for a hang: a test waits for several states in turn (each up to SETTLED, test/workers/settled.ts),
          // and on a loaded machine one of them has taken longer than vitest's default 5 s for the whole test.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/workers/analytics-server.global.ts', 'test/workers/chromium.global.ts', 'test/workers/discord.global.ts'],
        },
      },
      {
        test: {
          // The production twin (npm run test:production): one wrangler dev with a real container for the whole project.
          name: 'production',
          environment: 'node',
          include: ['test/production/**/*.test.ts'],
          globalSetup: ['test/production/twin.global.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One assistant for every file: one file at a time, each starting from the state it needs.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
