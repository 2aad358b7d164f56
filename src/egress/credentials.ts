/**
 * Which real credential the Worker adds to which of the container's outbound
 * requests. The container holds placeholders where OpenClaw, `gh` and `git`
 * expect the model keys and the GitHub token; its requests to the
 * providers' hosts pass the Worker (the Container's outbound handlers in
 * production), which strips every credential the container sent and adds
 * the real one from the Worker's secrets. A placeholder names the secret it
 * stands for, so a host with two (Anthropic: an API key and a Claude
 * subscription token) gets the one the container chose.
 */
import type { Env } from '../env.ts';

/** The secrets the container gets only a placeholder of. */
export const EGRESS_SECRETS = [
  'ANTHROPIC_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'XAI_API_KEY',
  'GITHUB_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_BOT_TOKEN',
] as const;
export type EgressSecret = (typeof EGRESS_SECRETS)[number];

/**
 * What the Worker meters: a model provider's answers, or GitHub's (scoped, not metered), or Telegram's Bot API (its webhook kept by the Worker),
 * or Discord's REST API (its gateway kept by the Worker's relay).
 */
export type EgressKind = 'model' | 'github' | 'telegram' | 'discord';

/** Where a credential goes in a request. */
type Placement = 'x-api-key' | 'bearer' | 'token' | 'basic' | 'x-goog-api-key' | 'bot-path' | 'bot-header';

interface HostCredential {
  secret: EgressSecret;
  placement: Placement;
}

export interface EgressHost {
  host: string;
  kind: EgressKind;
  /** The provider, for the meter and the price table. */
  provider: string;
  credentials: HostCredential[];
}

/** The hosts each secret is for (the providers' own API hosts; the OpenAI-compatible endpoint's host is added from OPENAI_BASE_URL). */
const HOSTS: Array<Omit<EgressHost, 'credentials'> & { credentials: HostCredential[] }> = [
  {
    host: 'api.anthropic.com',
    kind: 'model',
    provider: 'anthropic',
    credentials: [
      { secret: 'ANTHROPIC_API_KEY', placement: 'x-api-key' },
      { secret: 'CLAUDE_CODE_OAUTH_TOKEN', placement: 'bearer' },
    ],
  },
  { host: 'api.openai.com', kind: 'model', provider: 'openai', credentials: [{ secret: 'OPENAI_API_KEY', placement: 'bearer' }] },
  {
    host: 'generativelanguage.googleapis.com',
    kind: 'model',
    provider: 'google',
    credentials: [{ secret: 'GEMINI_API_KEY', placement: 'x-goog-api-key' }],
  },
  { host: 'api.x.ai', kind: 'model', provider: 'xai', credentials: [{ secret: 'XAI_API_KEY', placement: 'bearer' }] },
  { host: 'api.github.com', kind: 'github', provider: 'github', credentials: [{ secret: 'GITHUB_TOKEN', placement: 'token' }] },
  { host: 'uploads.github.com', kind: 'github', provider: 'github', credentials: [{ secret: 'GITHUB_TOKEN', placement: 'token' }] },
  { host: 'github.com', kind: 'github', provider: 'github', credentials: [{ secret: 'GITHUB_TOKEN', placement: 'basic' }] },
  // The Bot API takes its token in the path: /bot<token>/<method>, /file/bot<token>/<path>.
  { host: 'api.telegram.org', kind: 'telegram', provider: 'telegram', credentials: [{ secret: 'TELEGRAM_BOT_TOKEN', placement: 'bot-path' }] },
  // Discord's REST API takes `Authorization: Bot <token>`; the answers OpenClaw's Discord channel sends go this way.
  { host: 'discord.com', kind: 'discord', provider: 'discord', credentials: [{ secret: 'DISCORD_BOT_TOKEN', placement: 'bot-header' }] },
];

/** A Bot API path: its token, and what comes before and after it. */
export const BOT_PATH = /^(\/(?:file\/)?bot)([^/]*)(\/.*)?$/;

/** The request headers that carry credentials: all are removed before the Worker adds its own. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'cookie'];

/** A secret's usual prefix (kept in its placeholder: clients that tell key kinds apart by it still can). Never more than the prefix. */
const KNOWN_PREFIX = /^(sk-ant-[a-z]{2,4}\d{0,2}-|sk-proj-|sk-|xai-|ghp_|gho_|ghu_|ghs_|github_pat_|AIza|\d{1,20}:)/;

/** The value the container gets instead of `secret`'s real one. */
export function placeholderFor(secret: EgressSecret, real: string): string {
  const prefix = KNOWN_PREFIX.exec(real)?.[1] ?? '';
  return `${prefix}ondemand-placeholder-${secret.toLowerCase().replaceAll('_', '-')}`;
}

const configured = (env: Partial<Env>, secret: EgressSecret) => {
  const value = env[secret];
  return typeof value === 'string' && value !== '' ? value : null;
};

/** The OpenAI-compatible endpoint's host when it is a name reached over HTTPS (an address or plain HTTP is not intercepted). */
function compatibleHost(env: Partial<Env>): string | null {
  const base = env.OPENAI_BASE_URL?.trim();
  if (!base) return null;
  try {
    const url = new URL(base);
    if (url.protocol !== 'https:' || /^[\d.]+$|^\[|:/.test(url.hostname) || url.hostname === 'localhost') return null;
    return url.hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** The hosts the Worker adds credentials for, from the secrets that are set: what the Agent intercepts. */
export function egressHosts(env: Partial<Env>): Map<string, EgressHost> {
  const hosts = new Map<string, EgressHost>();
  // With an endpoint, OPENAI_API_KEY is that endpoint's key (container/start.sh): never OpenAI's.
  const endpointKey = Boolean(env.OPENAI_BASE_URL?.trim());
  for (const entry of HOSTS) {
    const credentials = entry.credentials.filter((c) => configured(env, c.secret) && !(endpointKey && c.secret === 'OPENAI_API_KEY'));
    if (credentials.length) hosts.set(entry.host, { ...entry, credentials });
  }
  const compat = compatibleHost(env);
  if (compat && configured(env, 'OPENAI_API_KEY') && !hosts.has(compat)) {
    hosts.set(compat, { host: compat, kind: 'model', provider: 'compat', credentials: [{ secret: 'OPENAI_API_KEY', placement: 'bearer' }] });
  }
  return hosts;
}

/** The container's environment values for the egress secrets: placeholders for the ones set, nothing for the others. */
export function placeholderEnv(env: Partial<Env>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const secret of EGRESS_SECRETS) {
    const real = configured(env, secret);
    if (real) out[secret] = placeholderFor(secret, real);
  }
  return out;
}

/** Every value a credential header or `key` parameter of the request presents (Basic: the password). */
function presented(headers: Headers, url: URL): string[] {
  const values: string[] = [];
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers.get(name);
    if (!value) continue;
    const [scheme, rest] = value.includes(' ') ? [value.slice(0, value.indexOf(' ')), value.slice(value.indexOf(' ') + 1).trim()] : ['', value];
    if (/^basic$/i.test(scheme)) {
      try {
        values.push(atob(rest).split(':').slice(1).join(':'));
      } catch {
        // not base64: nothing presented
      }
    } else values.push(rest);
  }
  const key = url.searchParams.get('key');
  if (key) values.push(key);
  return values;
}

/**
 * The request as it leaves the Worker: every credential the container sent
 * removed, the real one for `host` added (the one whose placeholder the
 * container presented, else the host's first).
 */
export function withRealCredential(request: Request, host: EgressHost, env: Partial<Env>): Request {
  const url = new URL(request.url);
  const shown = presented(request.headers, url);
  const chosen =
    host.credentials.find((c) => {
      const real = configured(env, c.secret);
      return real !== null && shown.includes(placeholderFor(c.secret, real));
    }) ?? host.credentials[0];
  url.searchParams.delete('key');
  const real = chosen ? configured(env, chosen.secret) : null;
  // The Bot API's token is the path's: whatever the container put there is replaced.
  if (chosen?.placement === 'bot-path') {
    const m = BOT_PATH.exec(url.pathname);
    url.pathname = m && real ? `${m[1]}${real}${m[3] ?? ''}` : '/bot/refused';
  }
  // Redirects go back to the container (its client follows them, without the Worker's credential).
  const out = new Request(new Request(url.toString(), request), { redirect: 'manual' });
  const headers = out.headers;
  for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  if (chosen && real && chosen.placement !== 'bot-path') {
    if (chosen.placement === 'x-api-key') headers.set('x-api-key', real);
    else if (chosen.placement === 'x-goog-api-key') headers.set('x-goog-api-key', real);
    else if (chosen.placement === 'bearer') headers.set('authorization', `Bearer ${real}`);
    else if (chosen.placement === 'token') headers.set('authorization', `token ${real}`);
    else if (chosen.placement === 'bot-header') headers.set('authorization', `Bot ${real}`);
    else headers.set('authorization', `Basic ${btoa(`x-access-token:${real}`)}`);
  }
  return out;
}
