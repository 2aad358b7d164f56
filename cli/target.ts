/**
 * Which target clawctl talks to, and which credentials go with it: a service
 * token only ever travels to the URL it was configured for, and never over
 * plain http:// to another machine. The local mode's access token (written by
 * `npm start` to `<LOCAL_STATE_DIR>/access.json`, readable by its owner only)
 * goes only to the loopback URL that file names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT, type Target } from './api-client.ts';

/** The checkout clawctl belongs to (LOCAL_STATE_DIR is relative to it, as for npm start). */
const CHECKOUT = resolve(fileURLToPath(new URL('..', import.meta.url).href));

interface ConfigFile {
  url?: string;
  clientId?: string;
  clientSecret?: string;
}

function readConfigFile(path: string): ConfigFile | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ConfigFile;
  } catch {
    throw new CliError(`${path} is not valid JSON`, EXIT.usage);
  }
}

const normalize = (url: string) => url.replace(/\/+$/, '');

/** Plain http is acceptable for credentials only on this machine. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The same loopback origin, whichever name it goes by (127.0.0.1 or localhost). */
function sameLocalOrigin(a: string, b: string): boolean {
  const canon = (u: string) => {
    const url = new URL(u);
    return `${url.protocol}//${url.hostname === 'localhost' ? '127.0.0.1' : url.hostname}:${url.port}`;
  };
  try {
    return canon(a) === canon(b);
  } catch {
    return false;
  }
}

/**
 * The local mode's access token for `url`: from the run's access.json in
 * LOCAL_STATE_DIR (default `.local` of this checkout), only when that file
 * names this very loopback URL. null otherwise.
 */
export function localAccessToken(url: string, env: NodeJS.ProcessEnv = process.env, checkout = CHECKOUT): string | null {
  if (!url.startsWith('http://') || !isLoopbackUrl(url)) return null;
  const file = join(resolve(checkout, env.LOCAL_STATE_DIR || '.local'), 'access.json');
  try {
    const access = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown; token?: unknown };
    if (typeof access.url !== 'string' || typeof access.token !== 'string' || !/^[0-9a-f]{64}$/.test(access.token)) return null;
    return sameLocalOrigin(access.url, url) ? access.token : null;
  } catch {
    return null;
  }
}

/**
 * The target and the credentials that belong to it. Env credentials follow
 * a URL the operator named (--url, CLAWCTL_URL, their own ~/.config file);
 * a file's credentials follow that file's url only.
 * @throws CliError (usage) when credentials would travel over plain http to another machine.
 */
export function loadTarget(
  flags: Record<string, string | boolean>,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  home = homedir(),
  checkout = CHECKOUT,
): Target & { note: string | null } {
  const local = readConfigFile(resolve(cwd, '.clawctl.json'));
  const user = readConfigFile(join(home, '.config', 'clawctl.json'));
  const file = local ?? user;
  const explicit = typeof flags.url === 'string' ? flags.url : env.CLAWCTL_URL;
  const url = normalize(String(explicit ?? file?.url ?? 'http://127.0.0.1:8787'));
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(`--url "${url}" must start with http:// or https://`, EXIT.usage);
  let credentials: { clientId: string; clientSecret: string; from: string } | null = null;
  let note: string | null = null;
  const envCreds =
    env.CF_ACCESS_CLIENT_ID && env.CF_ACCESS_CLIENT_SECRET ? { clientId: env.CF_ACCESS_CLIENT_ID, clientSecret: env.CF_ACCESS_CLIENT_SECRET } : null;
  const fileCreds =
    file?.clientId && file.clientSecret && file.url && normalize(file.url) === url ? { clientId: file.clientId, clientSecret: file.clientSecret } : null;
  const urlFromOperator = explicit !== undefined || (!local && user?.url !== undefined);
  if (envCreds && urlFromOperator) credentials = { ...envCreds, from: 'CF_ACCESS_CLIENT_ID/SECRET' };
  else if (fileCreds) credentials = { ...fileCreds, from: local ? './.clawctl.json' : '~/.config/clawctl.json' };
  else if (envCreds) note = `CF_ACCESS_CLIENT_ID/SECRET are not sent to ${url}, which ./.clawctl.json names; pass --url or CLAWCTL_URL to send them there`;
  if (credentials && url.startsWith('http://') && !isLoopbackUrl(url)) {
    throw new CliError(`refusing to send the service token (${credentials.from}) over plain http to ${url}; use https://`, EXIT.usage);
  }
  return {
    url,
    clientId: credentials?.clientId ?? null,
    clientSecret: credentials?.clientSecret ?? null,
    localToken: localAccessToken(url, env, checkout),
    note,
  };
}
