/**
 * Opens the OpenClaw Control UI through the Worker in Debian's Chromium and
 * waits until its WebSocket connects to the gateway: what a person sees
 * after one browser visit. Used by the local-mode and the production-twin
 * tests alike.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { until } from '../../scripts/lib/local-stack.ts';

/** Debian's Chromium; CHROMIUM_PATH names another Chromium-based browser (e.g. Chrome on a CI runner). */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ControlUiVisit {
  title: string;
  /** Every request and WebSocket URL the page used. */
  urls: string[];
  /** WebSocket frames the page received. */
  frames: string[];
}

/** Why the browser test cannot run here (null: it can). In CI a missing Chromium is an error, not a skip. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian chromium`);
  return `${CHROMIUM} is missing (apt-get install chromium)`;
}

/** Runs `work` on a new page of Debian's Chromium (closed afterwards). */
export async function withChromiumPage<T>(work: (page: Page) => Promise<T>, viewport = { width: 1280, height: 900 }): Promise<T> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    return await work(await browser.newPage({ viewport }));
  } finally {
    await browser.close();
  }
}

/**
 * Loads `url` (the Worker's root), waits for a successful gateway connect and
 * the signed-in user's name, and saves a screenshot.
 */
export async function visitControlUi(url: string, options: { user: string; screenshot: string; timeoutMs?: number }): Promise<ControlUiVisit> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage();
    const urls: string[] = [];
    const frames: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('websocket', (ws) => {
      urls.push(ws.url());
      ws.on('framereceived', (frame) => frames.push(String(frame.payload)));
    });
    await page.goto(url, { waitUntil: 'load', timeout: options.timeoutMs ?? 60_000 });
    const title = await page.title();
    // The gateway accepted the WebSocket connect from the Worker's origin as the trusted proxy's user.
    await until(async () => (frames.some((f) => f.includes('"ok":true')) ? true : undefined), options.timeoutMs ?? 30_000, 'a successful gateway connect');
    await page
      .getByText(options.user)
      .first()
      .waitFor({ timeout: options.timeoutMs ?? 30_000 });
    mkdirSync(dirname(options.screenshot), { recursive: true });
    await page.screenshot({ path: options.screenshot });
    return { title, urls, frames };
  } finally {
    await browser.close();
  }
}
