/**
 * What the container gets from the Worker's environment: only what OpenClaw
 * needs (model keys, gateway token, GitHub token). Cloudflare and storage
 * credentials never leave the Worker.
 */
import type { Env } from '../env.ts';
import { egressHosts, placeholderEnv } from '../egress/credentials.ts';
import { setting, type SettingsEnv } from '../settings.ts';

/** What the local dev host needs for its egress proxy (the local mode's outbound handler): where to hand requests, for which hosts. */
export const LOCAL_EGRESS_ENV_NAMES = ['EGRESS_URL', 'EGRESS_HOSTS'] as const;

/** Secrets and settings forwarded to the start script, by name. */
export const CONTAINER_ENV_NAMES = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'OPENCLAW_MODEL',
  'GITHUB_TOKEN',
  'OPENCLAW_GATEWAY_TOKEN',
  'GEMINI_API_KEY',
  'XAI_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'BROWSER_ALLOWED_HOSTNAMES',
] as const satisfies ReadonlyArray<keyof Env>;

/**
 * The gateway's Telegram channel (the inbox hands it updates): the bot
 * token's placeholder, the secret its listener checks (derived, not
 * Telegram's), the allowed senders and the webhook URL it advertises (to
 * the Worker, which keeps the real webhook), and the listener's port.
 */
export const TELEGRAM_ENV_NAMES = [
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_LISTENER_SECRET',
  'TELEGRAM_ALLOWED_USER_IDS',
  'TELEGRAM_WEBHOOK_URL',
  'TELEGRAM_LISTENER_PORT',
] as const;
/** The port of the gateway's Telegram listener in the container (the local dev host picks a free one). */
export const TELEGRAM_LISTENER_PORT = 18790;

/** Every name containerEnv() can produce: all a runtime takes from the Worker (the local host refuses others). */
/**
 * The gateway's Discord channel (answers only: the Worker's relay receives):
 * the token its agent hook checks (derived by the Worker from the bot's) and
 * the allowed senders. The bot's token itself is a placeholder the egress
 * replaces.
 */
export const DISCORD_ENV_NAMES = ['DISCORD_HOOK_TOKEN', 'DISCORD_ALLOWED_USER_IDS'] as const;

export const RUNTIME_ENV_NAMES: readonly string[] = [
  'GATEWAY_PORT',
  'GATEWAY_ALLOWED_ORIGINS',
  'GATEWAY_ADMINS',
  'BROWSER_CDP_URL',
  ...TELEGRAM_ENV_NAMES,
  ...DISCORD_ENV_NAMES,
  'DISCORD_BOT_TOKEN',
  ...CONTAINER_ENV_NAMES,
  ...LOCAL_EGRESS_ENV_NAMES,
];

/**
 * The identities the gateway treats as its administrators (operator.admin
 * for their Control UI sessions: connecting a model provider, changing the
 * model): the owner — the people ACCESS_ALLOWED_EMAILS names, or the local
 * mode's GATEWAY_USER. Never a service token. Not secret.
 */
export function gatewayAdmins(env: Partial<Env>): string[] {
  const settings = env as SettingsEnv;
  const names = setting(settings, 'AUTH_MODE') === 'local' ? [setting(settings, 'GATEWAY_USER')] : setting(settings, 'ACCESS_ALLOWED_EMAILS');
  return [...new Set(names.filter((n) => n !== '' && !n.startsWith('service-token:') && /^[^\s,]{1,254}$/.test(n)))];
}

/**
 * `placeholders`: the egress secrets (model keys, GITHUB_TOKEN) as
 * placeholders, the real values staying in the Worker, which adds them at
 * egress; without it the real values. `localEgressUrl` (the local mode):
 * where the local dev host's egress proxy hands the requests to the hosts
 * the Worker holds credentials for (EGRESS_URL, EGRESS_HOSTS).
 */
export function containerEnv(
  env: Partial<Env>,
  gatewayPort: number,
  options: { placeholders?: boolean; localEgressUrl?: string } = {},
): Record<string, string> {
  const out: Record<string, string> = { GATEWAY_PORT: String(gatewayPort) };
  // The origins browsers load the Control UI from (the Worker's hostname), for the gateway's origin check.
  if (env.PUBLIC_ORIGINS?.trim()) out.GATEWAY_ALLOWED_ORIGINS = env.PUBLIC_ORIGINS.trim();
  const admins = gatewayAdmins(env);
  if (admins.length) out.GATEWAY_ADMINS = admins.join(',');
  for (const name of CONTAINER_ENV_NAMES) {
    const value = env[name];
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  if (options.placeholders) Object.assign(out, placeholderEnv(env));
  const hosts = [...egressHosts(env).keys()];
  if (options.localEgressUrl && hosts.length) Object.assign(out, { EGRESS_URL: options.localEgressUrl, EGRESS_HOSTS: hosts.join(',') });
  return out;
}

/** The gateway's Telegram channel settings, for a connected bot (its listener's secret derived by the Worker). */
export function telegramEnv(env: Partial<Env>, listenerSecret: string, webhookPath: string): Record<string, string> {
  const origin = (env.PUBLIC_ORIGINS ?? '').split(',')[0]?.trim().replace(/\/$/, '') ?? '';
  return {
    TELEGRAM_LISTENER_SECRET: listenerSecret,
    TELEGRAM_ALLOWED_USER_IDS: setting(env as SettingsEnv, 'TELEGRAM_ALLOWED_USER_IDS').join(','),
    TELEGRAM_LISTENER_PORT: String(TELEGRAM_LISTENER_PORT),
    ...(origin ? { TELEGRAM_WEBHOOK_URL: `${origin}${webhookPath}` } : {}),
  };
}

/** The gateway's Discord channel settings, for a connected bot (its hook's token derived by the Worker). */
export function discordEnv(env: Partial<Env>, hookToken: string): Record<string, string> {
  return { DISCORD_HOOK_TOKEN: hookToken, DISCORD_ALLOWED_USER_IDS: setting(env as SettingsEnv, 'DISCORD_ALLOWED_USER_IDS').join(',') };
}
