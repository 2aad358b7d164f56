/**
 * The Worker's bindings, variables and secrets. Every name here is documented
 * in the README's configuration table and set in wrangler.jsonc or with
 * `wrangler secret put`.
 */
import type { LocalAgent } from './agent/local-agent.ts';

export interface Env {
  /**
   * The Agent Durable Object namespace (production: the Sandbox class `Agent`;
   * local mode: `LocalAgent`). Both classes offer the same RPC methods.
   */
  AGENT: DurableObjectNamespace<LocalAgent>;
  /** R2 bucket for backups of OpenClaw state. */
  BACKUP_BUCKET?: R2Bucket;

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
  NOTIFY_WEBHOOK_URL?: string;
  /** Secret: API token with Account Analytics read (never sent to the container). */
  CF_API_TOKEN?: string;
  BACKUP_KEEP?: string;
  PUBLIC_ORIGINS?: string;

  // secrets handed to the container (see src/runtime/container-env.ts)
  ANTHROPIC_API_KEY?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  GITHUB_TOKEN?: string;
  OPENCLAW_GATEWAY_TOKEN?: string;
  GEMINI_API_KEY?: string;
  XAI_API_KEY?: string;
  CLAUDE_CODE_OAUTH_TOKEN?: string;
}
