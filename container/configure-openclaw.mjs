// Configures OpenClaw non-interactively from the environment, idempotently.
//
// - No openclaw.json yet (first run): writes first-run defaults (offline-safe,
//   no heartbeat model calls, no update check) plus the managed settings.
// - An openclaw.json exists (restored from a backup, or edited by the owner):
//   only the managed settings below are (re)applied; everything else the owner
//   changed is kept. A file that does not parse is never overwritten: the
//   script fails with `config_unreadable` instead.
//
// Managed settings (owned by the deployment, re-applied at every boot):
//   gateway.mode/port/bind, gateway auth (trusted proxy: the Worker is the
//   only way in and has authenticated the person; the owner's sessions, GATEWAY_ADMINS,
//   are administrators), the OpenAI-compatible HTTP
//   endpoint, the admin-http-rpc plugin (the Agent's control channel: it asks
//   the gateway whether work runs before a sleep, and reads its scheduled
//   jobs), the agent's browser (BROWSER_CDP_URL: a remote CDP endpoint, the
//   Agent's Browser Rendering passthrough in production; else
//   BROWSER_EXECUTABLE: a local Chromium the gateway launches headless, the
//   local mode; else off), the model provider derived from the keys present, and the
//   default model when OPENCLAW_MODEL is set or the current one's provider
//   has no key anymore, and the Telegram channel when the Worker connected a
//   bot (webhook mode: the Worker's inbox hands it the updates), and the
//   Discord channel and the agent hook when it connected a Discord bot (the
//   Worker's relay receives; the inbox hands each message to the hook; the
//   channel sends the answers). With no key at all the model is the operator's
//   ChatGPT/Codex subscription (`openai/*` on the sign-in the gateway stores:
//   container/model-login.sh); the gateway boots without it and says how to sign in.
//   `openai/*` turns always run on OpenClaw's embedded runtime (SSE transport)
//   and the Codex app-server plugin stays off: choosing it would make the
//   gateway install it from a package registry at wake.
// Secrets are referenced as ${VAR} and never written to disk: the gateway
// password, the model key, this boot's CDP URL (BROWSER_CDP_URL holds the
// passthrough's secret) and the local mode's proxy-header name
// (GATEWAY_PROXY_HEADER); the gateway resolves them from its environment.
//
// Exit codes: 0 configured; 2 with a JSON line {code,message,retryable} on stderr.
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const env = process.env;
const stateDir = env.OPENCLAW_STATE_DIR || join(env.OPENCLAW_HOME || env.HOME || '/root', '.openclaw');
const configPath = env.OPENCLAW_CONFIG_PATH || join(stateDir, 'openclaw.json');

function fail(code, message) {
  process.stderr.write(`${JSON.stringify({ code, message, retryable: false })}\n`);
  process.exit(2);
}

/** Which model provider the keys in the environment select, in order of preference. */
export function chooseProvider(e) {
  if (e.OPENCLAW_MODEL) return { model: e.OPENCLAW_MODEL, provider: e.OPENCLAW_MODEL.split('/')[0] };
  if (e.ANTHROPIC_API_KEY) return { model: 'anthropic/claude-opus-5', provider: 'anthropic' };
  if (e.OPENAI_BASE_URL) return { model: `compat/${e.OPENAI_MODEL || 'default'}`, provider: 'compat' };
  if (e.OPENAI_API_KEY) return { model: 'openai/gpt-5.2', provider: 'openai' };
  return { model: SUBSCRIPTION_MODEL, provider: 'openai', subscription: true };
}

/** The default model on a ChatGPT/Codex subscription (OpenClaw's fresh-setup default for that sign-in). */
export const SUBSCRIPTION_MODEL = 'openai/gpt-6-astra';

/**
 * Whether OpenClaw's shared credential store (state/openclaw.sqlite, row
 * `authProfiles.store`) holds an OAuth sign-in of `provider`. Read in this
 * process only; nothing of it is printed. False when there is no store yet.
 */
export function hasStoredSignIn(provider, dir = stateDir) {
  const profiles = machineState('authProfiles.store', dir)?.profiles ?? {};
  return Object.values(profiles).some((p) => p && p.provider === provider && (p.type === 'oauth' || p.type === 'token'));
}

/**
 * A row of OpenClaw's own state (state/openclaw.sqlite, `config_machine_state`),
 * parsed; null when there is no store or no such row. Read-only, in this process only.
 */
function machineState(key, dir) {
  const file = join(dir, 'state', 'openclaw.sqlite');
  if (!existsSync(file)) return null;
  try {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const row = db.prepare('SELECT value_json FROM config_machine_state WHERE state_key = ?').get(key);
      return row ? JSON.parse(row.value_json) : null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

/** Whether OpenClaw's own plugin index already holds an install record of `pluginId` (it imported ours at an earlier start). */
export function hasInstallRecord(pluginId, dir = stateDir) {
  return Boolean(machineState('plugins.installedIndex', dir)?.index?.installRecords?.[pluginId]);
}

/** `openai/*` on OpenClaw's embedded runtime over SSE, never the Codex app-server harness (see the header). */
function applyOpenAiRuntime(config, model) {
  set(config, ['plugins', 'entries', 'codex', 'enabled'], false);
  const models = get(config, ['agents', 'defaults', 'models']);
  const entries = typeof models === 'object' && models !== null && !Array.isArray(models) ? models : null;
  if (typeof model !== 'string' || !model.startsWith('openai/')) {
    // Not on openai/*: no entry for it (a models map naming openai/* makes OpenClaw try OpenAI for its own side tasks).
    if (entries && JSON.stringify(entries['openai/*']) === JSON.stringify({ agentRuntime: { id: 'openclaw' } })) delete entries['openai/*'];
    if (entries && Object.keys(entries).length === 0) delete config.agents.defaults.models;
    return;
  }
  if (!entries) set(config, ['agents', 'defaults', 'models'], {});
  const all = config.agents.defaults.models;
  const pin = (ref, extra) => {
    const entry = typeof all[ref] === 'object' && all[ref] !== null ? all[ref] : {};
    all[ref] = { ...entry, agentRuntime: { id: 'openclaw' }, ...(extra ? { params: { ...(entry.params ?? {}), ...extra } } : {}) };
  };
  pin('openai/*');
  pin(model, { transport: 'sse' });
}

function firstRunDefaults() {
  return {
    update: { checkOnStart: false },
    models: { mode: 'merge', catalogRefresh: { enabled: false } },
    agents: { defaults: { heartbeat: { every: '0m' } } },
  };
}

function set(object, path, value) {
  let node = object;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = {};
    node = node[key];
  }
  node[path.at(-1)] = value;
}

function get(object, path) {
  return path.reduce((node, key) => (node && typeof node === 'object' ? node[key] : undefined), object);
}

const CDP_PROFILE = 'browser-rendering';

/** The agent's browser: what the environment offers, and the words the status shows for it. */
export function browserChoice(e) {
  if (e.BROWSER_CDP_URL) return { mode: 'browser-rendering', detail: 'Cloudflare Browser Rendering, through the Agent' };
  if (e.BROWSER_EXECUTABLE && existsSync(e.BROWSER_EXECUTABLE))
    return { mode: 'local-chromium', detail: `${e.BROWSER_EXECUTABLE}, headless, launched by the gateway` };
  if (e.BROWSER_EXECUTABLE)
    return {
      mode: 'missing',
      detail: `no browser for the agent: ${e.BROWSER_EXECUTABLE} is not there (apt-get install chromium, or LOCAL_BROWSER=<path>; LOCAL_BROWSER=off to say none)`,
    };
  return { mode: 'off', detail: 'no browser for the agent: no Browser Rendering binding (BROWSER) and no local Chromium (LOCAL_BROWSER=off or unset)' };
}

/** Applies the browser settings (the managed ones only: the owner's other browser settings stay). */
function applyBrowser(config, e) {
  const choice = browserChoice(e);
  const allowed = (e.BROWSER_ALLOWED_HOSTNAMES || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  set(config, ['browser', 'enabled'], choice.mode === 'browser-rendering' || choice.mode === 'local-chromium');
  if (choice.mode === 'browser-rendering') {
    const host = new URL(e.BROWSER_CDP_URL).hostname;
    // The URL holds this boot's secret: the gateway reads it from its environment, the file names it only.
    set(config, ['browser', 'profiles', CDP_PROFILE], { cdpUrl: '${BROWSER_CDP_URL}' });
    set(config, ['browser', 'defaultProfile'], CDP_PROFILE);
    allowed.push(host);
  } else {
    if (get(config, ['browser', 'profiles', CDP_PROFILE])) delete config.browser.profiles[CDP_PROFILE];
    if (get(config, ['browser', 'defaultProfile']) === CDP_PROFILE) delete config.browser.defaultProfile;
  }
  if (choice.mode === 'local-chromium') {
    set(config, ['browser', 'executablePath'], e.BROWSER_EXECUTABLE);
    set(config, ['browser', 'headless'], true);
    // Chromium's sandbox cannot start as root (a container, CI): it runs without it there.
    set(config, ['browser', 'noSandbox'], typeof process.getuid === 'function' && process.getuid() === 0);
  }
  if (allowed.length) set(config, ['browser', 'ssrfPolicy', 'allowedHostnames'], [...new Set(allowed)]);
  return choice;
}

/** The listener secret's reference: the gateway resolves it from its environment, so the file never holds it. */
const TELEGRAM_LISTENER_SECRET_REF = '${TELEGRAM_LISTENER_SECRET}';

/**
 * The Telegram channel, when the Worker connected a bot: webhook mode, its
 * listener on its own port (the Worker's inbox hands it each update, with a
 * secret derived from the webhook's), the bot token a placeholder the
 * Worker's egress replaces, direct messages from the allowed senders only.
 * A channel this script set up and the Worker no longer connects is
 * removed; one the owner set up by hand is left alone.
 */
export function applyTelegram(config, e) {
  if (!e.TELEGRAM_BOT_TOKEN || !e.TELEGRAM_LISTENER_SECRET) {
    if (get(config, ['channels', 'telegram', 'webhookSecret']) === TELEGRAM_LISTENER_SECRET_REF) delete config.channels.telegram;
    return;
  }
  const allowFrom = (e.TELEGRAM_ALLOWED_USER_IDS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const telegram = {
    ...(get(config, ['channels', 'telegram']) ?? {}),
    enabled: true,
    botToken: '${TELEGRAM_BOT_TOKEN}',
    webhookSecret: TELEGRAM_LISTENER_SECRET_REF,
    webhookPath: '/telegram-webhook',
    webhookHost: e.GATEWAY_BIND === 'lan' ? '0.0.0.0' : '127.0.0.1',
    webhookPort: Number(e.TELEGRAM_LISTENER_PORT || 18790),
    // An allowlist needs at least one sender; with none, direct messages are off (the Worker refuses every sender too).
    dmPolicy: allowFrom.length ? 'allowlist' : 'disabled',
    ...(allowFrom.length ? { allowFrom } : {}),
  };
  if (e.TELEGRAM_WEBHOOK_URL) telegram.webhookUrl = e.TELEGRAM_WEBHOOK_URL;
  if (!allowFrom.length) delete telegram.allowFrom;
  set(config, ['channels', 'telegram'], telegram);
}

/**
 * The install record of the Discord plugin installed beside openclaw (the
 * image's npm prefix, the local mode's node_modules): an npm install of the
 * official package, as `openclaw plugins install` records one, so OpenClaw
 * trusts it (its keyed store is for trusted plugins only) and imports the
 * record into its own store at its next start (then drops the key; this
 * script writes it only while OpenClaw's store has no record). The plugin reaches the openclaw it
 * runs in through a peer link in its node_modules, made here when missing.
 */
function discordInstallRecord(pluginDir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(pluginDir, 'package.json'), 'utf8'));
  } catch {
    throw new Error(`OpenClaw's Discord channel plugin (@openclaw/discord) is not installed (looked in ${pluginDir || 'no directory'})`);
  }
  if (manifest.name !== '@openclaw/discord') throw new Error(`${pluginDir} is not @openclaw/discord`);
  const peer = join(pluginDir, 'node_modules', 'openclaw');
  // A link already there is left as it is (lstat: it need not resolve here, e.g. a test's layout without openclaw).
  if (!lstatSync(peer, { throwIfNoEntry: false })) {
    mkdirSync(dirname(peer), { recursive: true });
    symlinkSync('../../../openclaw', peer);
  }
  const spec = `@openclaw/discord@${manifest.version}`;
  return {
    source: 'npm',
    spec,
    installPath: pluginDir,
    version: manifest.version,
    resolvedName: '@openclaw/discord',
    resolvedVersion: manifest.version,
    resolvedSpec: spec,
  };
}

/** Takes the Discord record out of the retired `plugins.installs` key (the key too when nothing else is left in it). */
function dropLegacyInstall(config) {
  const installs = get(config, ['plugins', 'installs']);
  if (!installs) return;
  delete installs.discord;
  if (Object.keys(installs).length === 0) delete config.plugins.installs;
}

/** The hook token's reference: the gateway resolves it from its environment. */
const DISCORD_HOOK_TOKEN_REF = '${DISCORD_HOOK_TOKEN}';

/**
 * The Discord channel and the agent hook, when the Worker connected a bot.
 * OpenClaw's Discord channel plugin (@openclaw/discord, installed beside
 * openclaw: OPENCLAW_DISCORD_PLUGIN; its install record is written for
 * OpenClaw to import, see discordInstallRecord) sends the answers with a placeholder
 * token the Worker's egress replaces; its gateway session is refused there,
 * since the Worker's relay receives every message and the inbox hands each
 * to `POST /hooks/agent` with the token derived for it. A channel and hooks
 * this script set up and the Worker no longer connects are removed; ones the
 * owner set up by hand are left alone.
 */
export function applyDiscord(config, e) {
  const managed = get(config, ['hooks', 'token']) === DISCORD_HOOK_TOKEN_REF;
  const pluginDir = e.OPENCLAW_DISCORD_PLUGIN || '';
  if (!e.DISCORD_BOT_TOKEN || !e.DISCORD_HOOK_TOKEN) {
    if (managed) {
      delete config.hooks;
      if (get(config, ['channels', 'discord', 'token']) === '${DISCORD_BOT_TOKEN}') delete config.channels.discord;
    }
    dropLegacyInstall(config);
    return;
  }
  // The record goes in openclaw.json only until OpenClaw has imported it: its CLI refuses a config that still has
  // the retired `plugins.installs` key, and the gateway removes it only when it imports it.
  const record = discordInstallRecord(pluginDir);
  if (hasInstallRecord('discord')) dropLegacyInstall(config);
  else set(config, ['plugins', 'installs', 'discord'], record);
  set(config, ['plugins', 'entries', 'discord', 'enabled'], true);
  const allow = get(config, ['plugins', 'allow']);
  if (Array.isArray(allow) && !allow.includes('discord')) allow.push('discord');
  const allowFrom = (e.DISCORD_ALLOWED_USER_IDS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const current = get(config, ['channels', 'discord']) ?? {};
  const discord = {
    ...current,
    enabled: true,
    token: '${DISCORD_BOT_TOKEN}',
    // Direct messages and mentions carry their text without the privileged intent (the relay asks for none either).
    intents: { ...(current.intents ?? {}), messageContent: false },
    dmPolicy: allowFrom.length ? 'allowlist' : 'disabled',
    ...(allowFrom.length ? { allowFrom } : {}),
  };
  if (!allowFrom.length) delete discord.allowFrom;
  // The local mode's egress is a proxy (HTTPS_PROXY), which Discord's WebSocket is told of; production intercepts without one.
  if (e.HTTPS_PROXY) discord.proxy = e.HTTPS_PROXY;
  else delete discord.proxy;
  set(config, ['channels', 'discord'], discord);
  const prefixes = get(config, ['hooks', 'allowedSessionKeyPrefixes']);
  set(config, ['hooks'], {
    ...(get(config, ['hooks']) ?? {}),
    enabled: true,
    token: DISCORD_HOOK_TOKEN_REF,
    path: '/hooks',
    // The inbox names one persistent session per Discord channel: `hook:discord:<channel id>`.
    allowRequestSessionKey: true,
    allowedSessionKeyPrefixes: [...new Set([...(Array.isArray(prefixes) ? prefixes : []), 'hook:'])],
  });
}

/** Applies the managed settings to a config object (mutates and returns it). */
export function applyManaged(config, e) {
  const choice = chooseProvider(e);
  const port = Number(e.GATEWAY_PORT || 18789);
  set(config, ['gateway', 'mode'], 'local');
  set(config, ['gateway', 'port'], port);
  set(config, ['gateway', 'bind'], e.GATEWAY_BIND || 'loopback');
  set(config, ['gateway', 'http', 'endpoints', 'chatCompletions', 'enabled'], true);
  const proxies = (e.GATEWAY_TRUSTED_PROXIES || '127.0.0.1,::1')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  set(config, ['gateway', 'trustedProxies'], proxies);
  const auth = {
    mode: 'trusted-proxy',
    trustedProxy: {
      userHeader: 'x-openclaw-user',
      // GATEWAY_PROXY_HEADER (local mode): a header only the Worker sends, named after the run's secret,
      // so it is a reference the gateway resolves from its environment, never the name itself.
      requiredHeaders: ['x-openclaw-proxy', ...(e.GATEWAY_PROXY_HEADER ? ['${GATEWAY_PROXY_HEADER}'] : [])],
      allowLoopback: proxies.some((p) => p === '127.0.0.1' || p === '::1' || p.startsWith('127.')),
      deviceAutoApprove: { enabled: true },
    },
  };
  // Internal clients on the container (CLI, health checks) use the gateway token as
  // password; start.sh hands it over as OPENCLAW_GATEWAY_PASSWORD (trusted-proxy mode
  // refuses a shared token).
  if (e.OPENCLAW_GATEWAY_TOKEN || e.OPENCLAW_GATEWAY_PASSWORD) auth.password = '${OPENCLAW_GATEWAY_PASSWORD}';
  // The owner's Control UI sessions are the gateway's administrators (connecting a model provider needs
  // operator.admin); session-only grants, no persistent admin device. GATEWAY_ADMINS: from the Worker.
  const admins = (e.GATEWAY_ADMINS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (admins.length) auth.identityScopes = Object.fromEntries(admins.map((name) => [name, ['operator.admin']]));
  set(config, ['gateway', 'auth'], auth);
  applyBrowser(config, e);
  applyTelegram(config, e);
  applyDiscord(config, e);
  // The Agent's control channel (POST /api/v1/admin/rpc): the Worker never proxies that path for anyone else.
  set(config, ['plugins', 'entries', 'admin-http-rpc', 'enabled'], true);
  const allow = get(config, ['plugins', 'allow']);
  if (Array.isArray(allow) && !allow.includes('admin-http-rpc')) allow.push('admin-http-rpc');
  if (e.GATEWAY_ALLOWED_ORIGINS) {
    set(
      config,
      ['gateway', 'controlUi', 'allowedOrigins'],
      e.GATEWAY_ALLOWED_ORIGINS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }
  if (e.OPENAI_BASE_URL) {
    set(config, ['models', 'providers', 'compat'], {
      baseUrl: e.OPENAI_BASE_URL,
      // The endpoint's key, under a name of its own (start.sh): as OPENAI_API_KEY OpenClaw's own openai provider would take it for OpenAI's.
      apiKey: e.OPENAI_API_KEY ? '${OPENAI_COMPAT_API_KEY}' : 'local-no-key',
      api: 'openai-completions',
      models: [
        { id: e.OPENAI_MODEL || 'default', name: e.OPENAI_MODEL || 'default', reasoning: false, input: ['text'], contextWindow: 128000, maxTokens: 8192 },
      ],
    });
  } else if (get(config, ['models', 'providers', 'compat'])) {
    delete config.models.providers.compat;
  }
  // Keep the owner's model choice unless OPENCLAW_MODEL says otherwise or its provider lost its key.
  const current = get(config, ['agents', 'defaults', 'model', 'primary']);
  const currentProvider = typeof current === 'string' ? current.split('/')[0] : null;
  // openai/* stays usable without its key when the subscription serves it: its route, or a sign-in stored in the state.
  const keyed = {
    anthropic: Boolean(e.ANTHROPIC_API_KEY),
    openai: (Boolean(e.OPENAI_API_KEY) && !e.OPENAI_BASE_URL) || Boolean(choice.subscription) || hasStoredSignIn('openai'),
    compat: Boolean(e.OPENAI_BASE_URL),
  };
  const lostKey = currentProvider !== null && currentProvider in keyed && !keyed[currentProvider];
  if (e.OPENCLAW_MODEL || !current || lostKey) set(config, ['agents', 'defaults', 'model', 'primary'], choice.model);
  applyOpenAiRuntime(config, get(config, ['agents', 'defaults', 'model', 'primary']));
  return config;
}

function main() {
  let config;
  let firstRun = false;
  let text = null;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    if (error.code !== 'ENOENT') fail('config_unreadable', `cannot read ${configPath}: ${error.message}`);
  }
  if (text === null) {
    config = firstRunDefaults();
    firstRun = true;
  } else {
    try {
      config = JSON.parse(text);
    } catch (error) {
      fail('config_unreadable', `${configPath} is not valid JSON (${error.message}); it was left untouched`);
    }
  }
  try {
    applyManaged(config, env);
  } catch (error) {
    // Only the contract's own codes (src/contract/error-codes.ts) go out; anything else (an errno) is config_failed.
    fail('config_failed', error.message);
  }
  const next = `${JSON.stringify(config, null, 2)}\n`;
  if (next !== text) {
    mkdirSync(dirname(configPath), { recursive: true });
    const tmp = `${configPath}.tmp-${process.pid}`;
    writeFileSync(tmp, next, { mode: 0o600 });
    renameSync(tmp, configPath);
  }
  const browser = browserChoice(env);
  if (env.BOOT_STATUS_FILE) {
    try {
      writeFileSync(join(dirname(env.BOOT_STATUS_FILE), 'browser.json'), JSON.stringify(browser));
    } catch {
      // the status file's directory is the start script's; without it the status just lacks the browser
    }
  }
  console.log(
    `[configure] ${firstRun ? 'first run: wrote' : next === text ? 'unchanged:' : 'updated managed settings in'} ${configPath} (model ${get(config, ['agents', 'defaults', 'model', 'primary'])}; browser: ${browser.mode})`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) main();
