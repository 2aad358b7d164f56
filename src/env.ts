/**
 * The Worker's bindings, variables and secrets. Every name here is documented
 * in the README's configuration table and set in wrangler.jsonc or with
 * `wrangler secret put`.
 */
import type { AgentNamespace } from './contract/agent-rpc.ts';
import type { RelayNamespace } from './inbox/discord-frames.ts';
import type { SettingsEnv } from './settings.ts';
import type { BrowserRunBinding } from './browser/browser-sessions.ts';

/**
 * Secrets only the Worker holds (never sent to the container): the cost
 * guard's API token, the R2 token for presigned backups, the webhook URL
 * (a Slack or Discord webhook URL is a credential), the Telegram bot's
 * token and webhook secret (the container gets a placeholder of the token and
 * a secret derived from the webhook's), and the Discord bot's token (a
 * placeholder, and a hook token derived from it).
 */
export const WORKER_SECRET_NAMES = [
  'CF_API_TOKEN',
  'R2_ACCESS_KEY_ID',
  'R2_SECRET_ACCESS_KEY',
  'NOTIFY_WEBHOOK_URL',
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'DISCORD_BOT_TOKEN',
] as const;

export interface Env extends SettingsEnv {
  /**
   * The Agent Durable Object namespace (production: the Sandbox class `Agent`;
   * local mode: `LocalAgent`), typed with the RPC surface both share.
   */
  AGENT: AgentNamespace;
  /** The Discord relay (src/inbox/discord-relay.ts): holds the bot's gateway session; one object, named `relay`. */
  DISCORD_RELAY?: RelayNamespace;
  /** R2 bucket for backups of OpenClaw state. */
  BACKUP_BUCKET?: R2Bucket;
  /** Browser Rendering (production): the agent's browser, through the CDP passthrough. */
  BROWSER?: BrowserRunBinding;

  // vars (wrangler.jsonc): every setting of src/settings.ts (SettingsEnv), plus:
  /** Local mode: the run's secret for the local dev host (from the env file `npm start` writes). */
  LOCAL_HOST_TOKEN?: string;
  /** Local mode: the run's owner secret, which `npm start`'s owner gate sends with the owner's requests (src/auth/access.ts). */
  LOCAL_OWNER_TOKEN?: string;
  /** Secret: where operator notifications are posted (a webhook URL is a credential). */
  NOTIFY_WEBHOOK_URL?: string;
  /** Secret: API token with Account Analytics read (never sent to the container). */
  CF_API_TOKEN?: string;
  /** Overrides CLOUDFLARE_ACCOUNT_ID for R2 only. */
  CLOUDFLARE_R2_ACCOUNT_ID?: string;
  /** Secret: R2 API token's access key id (Terraform output), for presigned backup URLs; stays in the Worker. */
  R2_ACCESS_KEY_ID?: string;
  /** Secret: R2 API token's secret access key (Terraform output); stays in the Worker. */
  R2_SECRET_ACCESS_KEY?: string;

  // secrets handed to the container (see src/runtime/container-env.ts)
  ANTHROPIC_API_KEY?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_MODEL?: string;
  OPENCLAW_MODEL?: string;
  GITHUB_TOKEN?: string;
  /** The Telegram bot's token (BotFather's) and the secret Telegram sends back with each webhook call (set when the webhook is registered). */
  TELEGRAM_BOT_TOKEN?: string;
  TELEGRAM_WEBHOOK_SECRET?: string;
  /** The Discord bot's token, for the relay (src/inbox/discord-relay.ts; not bound in wrangler.jsonc yet). */
  DISCORD_BOT_TOKEN?: string;
  OPENCLAW_GATEWAY_TOKEN?: string;
  GEMINI_API_KEY?: string;
  XAI_API_KEY?: string;
  CLAUDE_CODE_OAUTH_TOKEN?: string;
}

// The platform's own entrypoints (the Container library's ContainerProxy) see this Worker's env as `Cloudflare.Env`.
type WorkerEnv = Env;
declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
