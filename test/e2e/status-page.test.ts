/** The status page and the progress page in real Chromium (Debian chromium, playwright-core) against the local mode. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-results');

/**
 * Waits for the page's state by reading its attribute (the page's
 * Content-Security-Policy forbids eval, which waitForFunction with a string uses).
 */
function waitForState(page: Page, state: string, timeoutMs = 30_000) {
  return until(async () => ((await page.getAttribute('body', 'data-state')) === state ? true : undefined), timeoutMs, `state ${state}`);
}

describe('status page (Chromium)', () => {
  let stack: LocalStack;
  let browser: Browser | null = null;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', ECHO_BOOT_DELAY_MS: '3000', SLEEP_AFTER: '10m' });
    if (existsSync(CHROMIUM)) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    }
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('should show the state, wake on a click, show the boot phases and then ready, on a phone-sized screen', async (context) => {
    if (!browser) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian chromium`);
      return context.skip();
    }
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${stack.url}/_ondemand/`);
    await waitForState(page, 'stopped');
    expect(await page.textContent('[data-testid=state]')).toBe('stopped');

    await page.click('button[data-action=wake]');
    const phases = new Set<string>();
    await waitForState(page, 'booting', 15_000);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const state = await page.getAttribute('body', 'data-state');
      phases.add(`${state}:${(await page.textContent('[data-testid=phase]'))?.trim()}`);
      if (state === 'ready') break;
      await page.waitForTimeout(200);
    }
    expect([...phases].some((p) => p.startsWith('booting:Starting the OpenClaw gateway'))).toBe(true);
    expect(await page.getAttribute('body', 'data-state')).toBe('ready');
    await until(
      async () => ((await page.textContent('#timeline'))?.includes('booting → ready') ? true : undefined),
      30_000,
      'the timeline to show booting → ready',
    );
    // The click woke it (not a stray favicon request proxied to the gateway).
    expect(await page.textContent('#timeline')).toContain('stopped → booting · wake from the status page');
    // The model calls the Worker metered at egress, beside the cost (the local mode's calls do not pass it yet: none).
    expect(await page.textContent('#modelText')).toBe('models: $0.00 this month, 0 calls (0 tokens in, 0 out) · model lines soft none, hard none: ok');
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });

    await page.click('button[data-action=sleep]');
    await waitForState(page, 'sleeping', 30_000);
  });
});

describe('progress page after a failed boot (Chromium)', () => {
  let stack: LocalStack;
  let browser: Browser | null = null;
  beforeAll(async () => {
    // Every boot fails at its last phase, not retryable: the page shows the reason and "Try again".
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', BOOT_FAIL_AT: 'starting-gateway', SLEEP_AFTER: '10m' });
    if (existsSync(CHROMIUM))
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('should wake again when "Try again" is clicked', async (context) => {
    if (!browser) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian chromium`);
      return context.skip();
    }
    const page = await browser.newPage();
    await page.goto(`${stack.url}/`);
    await page.waitForSelector('#retry', { state: 'visible', timeout: 30_000 });
    expect(await page.textContent('#error')).toContain('failure injected at phase starting-gateway');
    const boots = async () =>
      ((await (await fetch(`${stack.url}/api/status`)).json()) as { history: Array<{ to: string; reason: string }> }).history.filter((h) => h.to === 'booting');
    const wakes = async () => (await boots()).length;
    const before = await wakes();

    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/wake');
    await page.click('#retry');
    expect((await answer).status()).toBe(202);
    await until(async () => ((await wakes()) > before ? true : undefined), 15_000, 'a new boot');
    expect((await boots()).at(-1)?.reason).toBe('wake from the progress page');
    await page.waitForSelector('#retry', { state: 'visible', timeout: 30_000 });
  });
});
