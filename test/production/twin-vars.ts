/** The Worker vars of the production twin under test (on top of the production wrangler.jsonc). */
export const TWIN_VARS = {
  SLEEP_AFTER: '60s',
  QUIET_AFTER: '5s',
  HEALTH_INTERVAL: '2s',
  BOOT_POLL_INTERVAL: '250ms',
  BOOT_TIMEOUT: '4m',
  BACKUP_INTERVAL: '10m',
  // A change is in R2 within 10 s (the kill test waits that long plus 10 s).
  BACKUP_DEBOUNCE: '10s',
  CHANGE_CHECK_INTERVAL: '3s',
  GATEWAY_DRAIN_TIMEOUT: '30s',
  // A request that asks to wait for the wake (Prefer: wait) may wait out a slow boot on a busy machine.
  REQUEST_WAIT_MAX: '5m',
  // The agent's browser (the twin's Chromium, on this machine) opens the test's pages on loopback.
  BROWSER_ALLOWED_HOSTNAMES: '127.0.0.1',
  FINAL_BACKUP_TIMEOUT: '20s',
  // The budget test runs the cron by hand: no free allowance and a steep memory price make any running minute cross the hard line.
  PRICING_OVERRIDE: JSON.stringify({ containers: { memoryGibSecondUsd: 0.01, includedMemoryGibSeconds: 0, includedVcpuSeconds: 0, includedDiskGbSeconds: 0 } }),
};

/**
 * The credentials the twin's Worker adds at egress: the container holds only
 * placeholders of them (the credentials test greps the container for these
 * values). The model is the mock, stood in at AI Gateway's host.
 */
export const TWIN_EGRESS_SECRETS = {
  OPENAI_API_KEY: 'sk-proj-twin-openai-key-must-stay-in-the-worker',
  GITHUB_TOKEN: 'ghp_twin-github-token-must-stay-in-the-worker',
  // The Telegram bot (its Bot API stood in at api.telegram.org: test/production/telegram.test.ts).
  TELEGRAM_BOT_TOKEN: '7000000002:AAH-twin-bot-token-must-stay-in-the-worker',
};
/**
 * The Discord bot of the twin (its gateway and REST API stood in at discord.com: test/production/discord.test.ts),
 * with TWIN_DISCORD=1: `npm test` runs the Discord scenario in a twin pass of its own with the bot, the other files
 * in one without (OpenClaw's Discord plugin costs every gateway start seconds of CPU: README, Discord).
 */
export const TWIN_DISCORD_SECRET = { DISCORD_BOT_TOKEN: 'MTEwMDAwMDAwMDAwMDAwMDAwMg.twin-discord-token-must-stay-in-the-worker' };
export const TWIN_WITH_DISCORD = process.env.TWIN_DISCORD === '1';
/** The twin's Telegram webhook secret (Telegram's side: the container gets only a secret derived from it) and its one allowed sender. */
export const TWIN_TELEGRAM = { TELEGRAM_WEBHOOK_SECRET: 'twin-webhook-secret-must-stay-in-the-worker', TELEGRAM_ALLOWED_USER_IDS: '4343' };
/** The twin's one allowed Discord sender. */
export const TWIN_DISCORD = { DISCORD_ALLOWED_USER_IDS: '2200000000000000004' };
/** Where the twin's OpenAI-compatible endpoint (the mock model) is stood in: AI Gateway's host, as its compat URL. */
export const TWIN_MODEL_HOST = 'gateway.ai.cloudflare.com';
/** The one repository the twin's agent may push to (GITHUB_PUSH_REPOS). */
export const TWIN_PUSH_REPO = 'twin-owner/allowed';
