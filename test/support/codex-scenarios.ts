/**
 * Steps of the ChatGPT/Codex subscription's scenarios that the local mode
 * (test/e2e/codex-sign-in.test.ts) and the production twin
 * (test/production/sign-in.test.ts) both take, against the same recorded
 * stand-in of OpenAI (test/support/codex-standin.ts).
 */
import { expect } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { clawctl } from './clawctl-run.ts';
import type { Page } from 'playwright-core';
import { withChromiumPage } from './control-ui.ts';
import { until } from '../../scripts/lib/local-stack.ts';

/** What the steps need of the stand-in. */
interface OpenAiStandIn {
  userCodes: string[];
  approve(userCode: string): void;
  revokeAll(): void;
  delayRefreshes(ms: number): void;
  setAccessLifetime(seconds: number): void;
  current(): { mintedAt: number; expiresAt: number; refreshes: number };
  requests: Array<{ host: string; path: string; status: number; note?: string; abandoned?: boolean }>;
}

/**
 * Access tokens the stand-in mints live 5½ minutes (its setAccessLifetime):
 * 30 s after minting they are inside OpenClaw's 5-minute refresh margin
 * (DEFAULT_OAUTH_REFRESH_MARGIN_MS), and the next turn refreshes (and
 * rotates) them.
 */
export const ACCESS_LIFETIME_S = 330;
const REFRESH_MARGIN_S = 300;

/** Waits until the newest access token is inside OpenClaw's refresh margin. */
export async function untilInRefreshMargin(openai: OpenAiStandIn): Promise<void> {
  const inMargin = openai.current().expiresAt - (REFRESH_MARGIN_S - 2) * 1000;
  if (Date.now() < inMargin) await new Promise((r) => setTimeout(r, inMargin - Date.now()));
}

/**
 * How long the token a crash scenario rotates to lives: an hour, so that once rotated it stays the newest while
 * the scenario waits for its backup and kills. With ACCESS_LIFETIME_S, the Agent's sign-in look (it reads OpenClaw's
 * usage, which refreshes a token inside its margin) rotates it again 30 s after each mint, and on a loaded machine
 * the backup of one rotation comes with the start of the next.
 */
const STEADY_LIFETIME_S = 3600;

type Turn = (content: string) => Promise<{ status: number; text: string }>;

/**
 * Rotates the refresh token the way an operator's day does: turns inside the
 * newest access token's refresh margin until OpenClaw refreshed it. The turn
 * refreshes, or the gateway's own auth look (a wake asks for one) got there
 * first and the turn ran on the token it stored: either is a rotation.
 * `steady`: the rotated token lives STEADY_LIFETIME_S (tokens minted after it, ACCESS_LIFETIME_S again).
 * @returns when the rotated token was minted.
 */
export async function rotateWithTurns(openai: OpenAiStandIn, turn: Turn, options: { steady?: boolean } = {}): Promise<string> {
  const before = openai.current().refreshes;
  if (options.steady) openai.setAccessLifetime(STEADY_LIFETIME_S);
  try {
    for (let attempt = 1; attempt <= 3 && openai.current().refreshes === before; attempt += 1) {
      await untilInRefreshMargin(openai);
      const answer = await turn(`a turn that refreshes the token (${attempt})`);
      expect(answer.status, answer.text).toBe(200);
    }
  } finally {
    openai.setAccessLifetime(ACCESS_LIFETIME_S);
  }
  expect(openai.current().refreshes, 'no refresh after three turns inside the refresh margin').toBeGreaterThan(before);
  return new Date(openai.current().mintedAt).toISOString();
}

/**
 * Waits until the newest backup holds the newest refresh token: the credential
 * backup is at or after the stand-in's last mint — read at every look, since
 * 30 s after a mint OpenClaw may rotate the token again (on a loaded machine
 * that happens while this waits), and a kill before that rotation is backed
 * up would rightly lose it. @returns the backup and the mint it holds.
 */
export async function untilNewestTokenBackedUp(
  openai: OpenAiStandIn,
  status: () => Promise<AgentStatus>,
  timeoutMs: number,
): Promise<{ backup: AgentStatus['backups']['history'][number]; mintedAt: string }> {
  return until(
    async () => {
      const mintedAt = new Date(openai.current().mintedAt).toISOString();
      const s = await status();
      const b = s.model.lastCredentialBackup;
      if (!b || b.at < mintedAt || (b.result !== 'ok' && b.result !== 'unchanged')) return undefined;
      // `unchanged`: the debounced backup took the new state first; either way the newest ok backup holds it.
      const backup = s.backups.history.filter((e) => e.kind === 'backup' && e.result === 'ok').at(-1);
      return backup && backup.at >= mintedAt && new Date(openai.current().mintedAt).toISOString() === mintedAt ? { backup, mintedAt } : undefined;
    },
    timeoutMs,
    'the newest refresh token backed up',
  );
}

/**
 * `clawctl login codex` as the operator runs it: the code it prints is
 * approved at the stand-in (the operator entered it on OpenAI's page), and
 * it exits 0 naming the profile. `why` adds what to show when no code comes.
 * @returns the code.
 */
export async function signInWithClawctl(url: string, openai: OpenAiStandIn, why: () => string = () => ''): Promise<string> {
  const codes = openai.userCodes.length;
  const run = clawctl(['login', 'codex', '--url', url], {}, 300_000);
  const code = await until(async () => (openai.userCodes.length > codes ? openai.userCodes.at(-1) : undefined), 120_000, 'a device code requested').catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${why()}`);
    },
  );
  openai.approve(code);
  const result = await run;
  expect(result.stderr).toContain(code);
  expect(result.stderr).toContain('https://auth.openai.com/codex/device');
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('openai:operator@example.com');
  return code;
}

/**
 * The owner connects OpenAI in the Control UI (Settings → Models → Connect
 * provider → ChatGPT Device Pairing) in Chromium, the code is approved at the
 * stand-in, and the UI says the credentials are saved.
 */
export async function connectInControlUi(baseUrl: string, openai: OpenAiStandIn, timeoutMs: number, failureShot: string): Promise<void> {
  const codes = openai.userCodes.length;
  await withChromiumPage(async (page) => {
    // On a failure, what the page showed, for the failure's message.
    page.setDefaultTimeout(timeoutMs);
    await flow(page).catch(async (error: Error) => {
      await page.screenshot({ path: failureShot, fullPage: true }).catch(() => undefined);
      throw new Error(`${error.message} (the page: ${failureShot})`);
    });
  });

  async function flow(page: Page): Promise<void> {
    await page.goto(`${baseUrl}/settings/model-providers`, { waitUntil: 'load' });
    // Enabled only for operator.admin: the Worker's owner (GATEWAY_ADMINS) has it.
    const connect = page.getByRole('button', { name: 'Connect provider' }).first();
    await until(async () => ((await connect.isEnabled().catch(() => false)) ? true : undefined), timeoutMs, 'Connect provider enabled');
    await connect.click();
    await page.locator('button[data-models-login-provider="openai"]').click();
    await page.getByText('ChatGPT Device Pairing').first().click();
    const code = await until(
      async () => (openai.userCodes.length > codes ? openai.userCodes.at(-1) : undefined),
      timeoutMs,
      'a device code requested by the gateway',
    );
    await page.getByText(code).first().waitFor({ timeout: 30_000 });
    openai.approve(code);
    await page.getByText('Provider credentials saved').first().waitFor({ timeout: timeoutMs });
  }
}

/**
 * The operator signed out elsewhere: every token is refused from now on.
 * OpenClaw learns it at its next refresh (once the access token is inside its
 * refresh margin), which the provider refuses. The
 * status, `clawctl status` and the next chat turn say "sign in again".
 */
export async function revokedSaysSignInAgain(options: { url: string; openai: OpenAiStandIn; turn: Turn; status: () => Promise<AgentStatus> }): Promise<void> {
  const { openai, turn, status } = options;
  // A steady token (see rotateWithTurns) would not reach its refresh margin for most of an hour: a new sign-in
  // mints one that does. (The Chromium sign-ins before this scenario do that already where Chromium runs.)
  if (openai.current().expiresAt - Date.now() > ACCESS_LIFETIME_S * 1000) await signInWithClawctl(options.url, openai);
  openai.revokeAll();
  await untilInRefreshMargin(openai);
  const refused = await turn('a turn after the sign-in was revoked');
  expect(refused.status).not.toBe(200);
  const s = await until(
    async () => {
      const x = await status();
      return x.model.detail.includes('sign in again') ? x : undefined;
    },
    60_000,
    '"sign in again" in the status',
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}; the turn answered ${refused.status} ${refused.text}; the status says ${JSON.stringify((await status()).model)}`);
  });
  expect(s.model.signIn?.status).toBe('expired');
  expect(s.model.detail).toContain('clawctl login codex');
  expect((await clawctl(['status', '--url', options.url])).stdout).toContain('sign in again');
  const next = await turn('and now?');
  expect(next.status).toBe(401);
  expect(next.text).toContain('sign in again');
}

/** How long the stand-in holds a refresh's answer in `sleepDuringRefresh`: a slow token endpoint, well inside OpenClaw's 30 s. */
const SLOW_REFRESH_MS = 8_000;

/**
 * A sleep that comes while OpenClaw refreshes the sign-in: the token
 * endpoint is slow (it rotated the tokens at once, as single-use refresh
 * tokens are, and answers SLOW_REFRESH_MS later), the Agent's own sign-in
 * look (its change check; no turn in flight to hold the sleep) started the
 * refresh inside the access token's margin, and the sleep is asked for while
 * the answer is outstanding. The gateway's stop (its SIGTERM) waits for the
 * refresh to be stored, so the final backup holds the new tokens and the
 * wake answers on them. A stop that cut the refresh short would leave
 * OpenClaw's refresh fence (digests, no tokens) in the backup, and the wake
 * would answer "No credentials found".
 * `sleep`: asks for the sleep and waits until asleep.
 */
export async function sleepDuringRefresh(options: {
  openai: OpenAiStandIn;
  sleep: () => Promise<void>;
  turn: Turn;
  status: () => Promise<AgentStatus>;
  /** A request that counts as activity and ends at once (no turn): keeps a short SLEEP_AFTER from sleeping first. */
  keepAwake?: () => Promise<void>;
}): Promise<void> {
  const { openai, turn, status } = options;
  await untilInRefreshMargin(openai);
  const from = openai.requests.length;
  const tokenRequests = () => openai.requests.slice(from).filter((r) => r.host === 'auth.openai.com' && r.path === '/oauth/token');
  openai.delayRefreshes(SLOW_REFRESH_MS);
  try {
    // The look reads OpenClaw's usage, which it caches for a minute: the refresh comes within about that.
    let awakeAt = Date.now();
    await until(
      async () => {
        if (tokenRequests().some((r) => r.status === 0)) return true;
        if (options.keepAwake && Date.now() - awakeAt > 10_000) {
          awakeAt = Date.now();
          await options.keepAwake();
        }
        return undefined;
      },
      180_000,
      "a refresh started by the Agent's sign-in look",
    );
    await options.sleep();
  } finally {
    openai.delayRefreshes(0);
  }
  const stopped = (await status()).lastStop;
  expect(stopped, JSON.stringify(stopped)).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0 });
  // The refresh the sleep came during was answered, not abandoned by a gateway that went first.
  expect(tokenRequests()[0], JSON.stringify(tokenRequests())).toMatchObject({ status: 200 });
  expect(tokenRequests()[0]?.abandoned).toBeUndefined();
  const answer = await turn('still signed in after a sleep during a refresh?');
  expect(answer.status, `${answer.text}; token requests ${JSON.stringify(tokenRequests())}`).toBe(200);
  expect(answer.text).toContain('codex answer:');
  expect(tokenRequests().filter((r) => r.status !== 200)).toEqual([]);
}
