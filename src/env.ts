/**
 * The Worker's bindings, variables and secrets. Every name here is documented
 * in the README's configuration table and set in wrangler.jsonc or with
 * `wrangler secret put`.
 */
import type { LocalAgent } from './agent/local-agent.ts';
import type { BrowserRunBinding } from './browser/browser-sessions.ts';

/**
 * Secrets only the Worker holds (never sent to the container): the cost
 * guard's API token, the R2 token for presigned backups, and the webhook URL
 * (a Slack or Discord webhook URL is a credential).
 */
export const WORKER_SECRET_NAMES = ['CF_API_TOKEN', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY', 'NOTIFY_WEBHOOK_URL'] as const;

export interface Env {
  /**
   * The Agent Durable Object namespace (production: the Sandbox class `Agent`;
   * local mode: `LocalAgent`). Both classes offer the same RPC methods.
   */
  AGENT: DurableObjectNamespace<LocalAgent>;
  /** R2 bucket for backups of OpenClaw state. */
  BACKUP_BUCKET?: R2Bucket;
  /** Browser Rendering (production): the agent's browser, through the CDP passthrough. */
  BROWSER?: BrowserRunBinding;

  // vars (wrangler.jsonc)
  AGENT_NAME?: string;
  SLEEP_AFTER?: string;
  QUIET_AFTER?: string;
  INSTANCE_TYPE?: string;
  BOOT_TIMEOUT?: string;
  BOOT_ATTEMPTS?: string;
  BOOT_BACKOFF?: string;
  BOOT_POLL_INTERVAL?: string;
  HEALTH_INTERVAL?: string;
  GATEWAY_PORT?: string;
  LOCAL_HOST_URL?: string;
  /** Local mode: the run's secret for the local dev host (from the env file `npm start` writes). */
  LOCAL_HOST_TOKEN?: string;
  GATEWAY_USER?: string;
  AUTH_MODE?: string;
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  ACCESS_ALLOWED_EMAILS?: string;
  ACCESS_SERVICE_TOKEN_IDS?: string;
  SERVICE_TOKEN_ROUTES?: string;
  WAKE_LIMIT_PER_MINUTE?: string;
  BACKUP_INTERVAL?: string;
  BUDGET_SOFT_USD?: string;
  BUDGET_HARD_USD?: string;
  BUDGET_STEP_USD?: string;
  SLEEP_AFTER_STEP?: string;
  SLEEP_AFTER_FLOOR?: string;
  BURN_WINDOW?: string;
  PRICING_OVERRIDE?: string;
  ANALYTICS_GRAPHQL_URL?: string;
  CF_ACCOUNT_ID?: string;
  /** Secret: where operator notifications are posted (a webhook URL is a credential). */
  NOTIFY_WEBHOOK_URL?: string;
  /** Secret: API token with Account Analytics read (never sent to the container). */
  CF_API_TOKEN?: string;
  BACKUP_KEEP?: string;
  BACKUP_DEBOUNCE?: string;
  CHANGE_CHECK_INTERVAL?: string;
  /** `presigned` (production) or `binding` (wrangler dev): see Config.backupTransfer. */
  BACKUP_TRANSFER?: string;
  /** The R2 bucket's name, for the presigned URLs of production backups (Terraform output). */
  BACKUP_BUCKET_NAME?: string;
  /** The Cloudflare account of the R2 bucket, for presigned URLs (read by the Sandbox SDK). */
  CLOUDFLARE_ACCOUNT_ID?: string;
  /** Overrides CLOUDFLARE_ACCOUNT_ID for R2 only. */
  CLOUDFLARE_R2_ACCOUNT_ID?: string;
  /** Secret: R2 API token's access key id (Terraform output), for presigned backup URLs; stays in the Worker. */
  R2_ACCESS_KEY_ID?: string;
  /** Secret: R2 API token's secret access key (Terraform output); stays in the Worker. */
  R2_SECRET_ACCESS_KEY?: string;
  GATEWAY_DRAIN_TIMEOUT?: string;
  SLEEP_MAX_DEFER?: string;
  SCHEDULED_WAKES?: string;
  SCHEDULED_WAKE_LEAD?: string;
  SCHEDULED_RUN_WAIT?: string;
  SCHEDULE_SOFT_GAP?: string;
  FINAL_BACKUP_TIMEOUT?: string;
  PUBLIC_ORIGINS?: string;

  // secrets handed to the container (see src/runtime/container-env.ts)
  ANTHROPIC_API_KEY?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_MODEL?: string;
  OPENCLAW_MODEL?: string;
  GITHUB_TOKEN?: string;
  OPENCLAW_GATEWAY_TOKEN?: string;
  GEMINI_API_KEY?: string;
  XAI_API_KEY?: string;
  CLAUDE_CODE_OAUTH_TOKEN?: string;
  /** Hosts the agent's browser may open although they are private (comma list; e.g. an intranet page). */
  BROWSER_ALLOWED_HOSTNAMES?: string;
}
