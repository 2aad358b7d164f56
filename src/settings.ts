/**
 * The one table of the Worker's settings: each var's name, its default (what
 * the code uses when it is unset or empty), the values the committed
 * wrangler.jsonc gives it where they differ (a placeholder the deploy sets;
 * the local env's own), what it means, and how it is parsed. From it come
 * the Worker's `Env` vars (SettingsEnv), the vars `npm start` passes through
 * (scripts/local.mjs), the README's configuration table (checked by a test,
 * written by `npm run settings:readme`) and wrangler.jsonc's values (checked
 * by the same test). Parsers throw AppError `not_configured` naming the var.
 */
import { AppError } from './errors.ts';
import { parseDiscordIds, parseTelegramIds } from './inbox/chat-ids.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `10s`, `15m`, `1h` (a bare number means seconds).
 * @throws AppError `not_configured` on anything else or outside [minMs, maxMs].
 */
export function parseDuration(name: string, value: string | undefined, fallbackMs: number, minMs = 0, maxMs = 7 * 86_400_000): number {
  if (value === undefined || value.trim() === '') return fallbackMs;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new AppError('not_configured', `${name}="${value}" is not a duration (use e.g. 10s, 15m, 1h)`);
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000));
  if (ms < minMs || ms > maxMs) throw new AppError('not_configured', `${name}="${value}" is outside ${minMs / 1000}s..${maxMs / 1000}s`);
  return ms;
}

type Parse<T> = (value: string, name: string) => T;

const H = 3_600_000;
const duration =
  (minMs: number, maxMs = 7 * 86_400_000): Parse<number> =>
  (value, name) =>
    parseDuration(name, value, 0, minMs, maxMs);
const integer =
  (min: number, max: number): Parse<number> =>
  (value, name) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new AppError('not_configured', `${name}="${value}" must be a whole number from ${min} to ${max}`);
    return n;
  };
const money: Parse<number> = (value, name) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new AppError('not_configured', `${name}="${value}" must be an amount in US dollars`);
  return n;
};
const optionalMoney: Parse<number | null> = (value, name) => (value === '' ? null : money(value, name));
function oneOf<const T extends readonly string[]>(values: T): Parse<T[number]> {
  return (value, name) => {
    if (!values.includes(value)) throw new AppError('not_configured', `${name}="${value}" is not one of ${values.join(', ')}`);
    return value as T[number];
  };
}
const text: Parse<string> = (value) => value;
const list: Parse<string[]> = (value) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface Setting<T> {
  /** What the code uses when the var is unset or empty ('' for none). */
  default: string;
  /** The committed wrangler.jsonc's production value, where it is not the default (a placeholder the deploy sets). */
  production?: string;
  /** The local env's value (wrangler.jsonc `env.local`), where it differs. */
  local?: string;
  /** Only the local env has it. */
  localOnly?: true;
  /** An empty value means empty, not the default. */
  keepsEmpty?: true;
  /** `npm start` sets it itself (its sign-in, its wiring, its backup path, account settings a shell may hold for wrangler): not taken from the shell. */
  fixedLocally?: true;
  doc: string;
  parse: Parse<T>;
}

const s = <T>(setting: Setting<T>): Setting<T> => setting;

/** Container instance types Cloudflare offers (see src/cost for their sizes). */
export const INSTANCE_TYPES = ['lite', 'basic', 'standard-1', 'standard-2', 'standard-3', 'standard-4'] as const;
export type InstanceType = (typeof INSTANCE_TYPES)[number];
/** How backups travel between the container and R2 (Sandbox runtime); see BACKUP_TRANSFER. */
export const BACKUP_TRANSFERS = ['presigned', 'binding'] as const;
export type BackupTransfer = (typeof BACKUP_TRANSFERS)[number];
/** Which scheduled jobs wake a sleeping assistant (SCHEDULED_WAKES). */
export const SCHEDULED_WAKE_MODES = ['jobs', 'all', 'off'] as const;
export type ScheduledWakeMode = (typeof SCHEDULED_WAKE_MODES)[number];

export const SETTINGS = {
  AGENT_NAME: s({
    default: 'default',
    doc: 'name of the assistant (its Durable Object and local state directory)',
    parse: (value, name) => {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw new AppError('not_configured', `${name}="${value}" must be lowercase letters, digits and dashes`);
      return value;
    },
  }),
  SLEEP_AFTER: s({
    default: '20m',
    local: '15m',
    doc: 'idle time after the last request before the container is stopped (2 s … 24 h)',
    parse: duration(2_000, 24 * H),
  }),
  QUIET_AFTER: s({ default: '60s', doc: 'quiet time before `ready` becomes `idle` (at most half of `SLEEP_AFTER`)', parse: duration(1_000) }),
  INSTANCE_TYPE: s({
    default: 'standard-2',
    doc: 'container instance type; must equal `containers[0].instance_type` (checked by the tests); see [Cold start by instance type](#cold-start-by-instance-type-production-twin)',
    parse: oneOf(INSTANCE_TYPES),
  }),
  BOOT_TIMEOUT: s({ default: '5m', local: '2m', doc: "one boot attempt's limit", parse: duration(5_000) }),
  BOOT_ATTEMPTS: s({
    default: '3',
    doc: 'boot attempts before giving up (a failure the start script marks as not retryable, such as a missing model key, gives up at once)',
    parse: integer(1, 10),
  }),
  BOOT_BACKOFF: s({ default: '5s', local: '2s', doc: 'delay before the second attempt, doubled for each further one', parse: duration(100) }),
  BOOT_POLL_INTERVAL: s({
    default: '100ms',
    doc: "readiness probe interval while booting: the gateway's first readiness answer (`/startupz`) is seen within this long; the start script's status is read at most once a second",
    parse: duration(50, 60_000),
  }),
  HEALTH_INTERVAL: s({
    default: '30s',
    local: '5s',
    doc: 'liveness check while running (a dead runtime becomes `stopped` with `lastError`)',
    parse: duration(1_000),
  }),
  GATEWAY_PORT: s({ fixedLocally: true, default: '18789', doc: "the OpenClaw gateway's port in the container", parse: integer(1, 65535) }),
  BACKUP_INTERVAL: s({ default: '10m', doc: 'periodic backup while the container runs (≥ 10 s), whether or not a change was seen', parse: duration(10_000) }),
  BACKUP_DEBOUNCE: s({
    default: '30s',
    doc: 'a change is backed up within this long, and changes upload at most once per this time (1 s – 1 h); with `CHANGE_CHECK_INTERVAL` it bounds what a crash can lose',
    parse: duration(1_000, H),
  }),
  CHANGE_CHECK_INTERVAL: s({
    default: '5s',
    doc: 'how often the running state is checked for changes (paths, sizes, mtimes; 1 s – 10 min)',
    parse: duration(1_000, 10 * 60_000),
  }),
  BACKUP_KEEP: s({
    default: '3',
    doc: 'the newest complete backups kept whatever their age; beyond them a backup is kept by age tiers (the newest at least 1 hour, 1 day, 1 week and 30 days old, and every one younger than 10 minutes), the rest deleted after a new one is stored. Nothing else expires a backup (see [Backup retention](#backup-retention))',
    parse: integer(1, 1000),
  }),
  BACKUP_TRANSFER: s({
    fixedLocally: true,
    default: 'presigned',
    local: 'binding',
    doc: "production: how the Sandbox SDK moves backup archives. `presigned` — the container uploads and downloads R2 objects directly over presigned URLs (needs `BACKUP_BUCKET_NAME`, `CLOUDFLARE_ACCOUNT_ID` and the `R2_ACCESS_KEY_ID` / `R2_SECRET_ACCESS_KEY` secrets); `binding` — through the Worker's `BACKUP_BUCKET` binding (the SDK's `localBucket` mode, for `wrangler dev`; the production twin runs `presigned` against its own R2 endpoint). When what the mode needs is missing, the first request answers `not_configured` naming it, instead of the first sleep failing its backup",
    parse: oneOf(BACKUP_TRANSFERS),
  }),
  BACKUP_BUCKET_NAME: s({
    fixedLocally: true,
    default: '',
    production: 'openclaw-ondemand-poc-backups',
    local: 'openclaw-ondemand-local-backups',
    doc: "the R2 bucket's name, for presigned URLs (Terraform output `backup_bucket_name`; the deploy sets it)",
    parse: text,
  }),
  CLOUDFLARE_ACCOUNT_ID: s({
    fixedLocally: true,
    default: '',
    doc: "the R2 bucket's account, for presigned URLs (the deploy sets it; the SDK also reads `CLOUDFLARE_R2_ACCOUNT_ID`)",
    parse: text,
  }),
  GATEWAY_DRAIN_TIMEOUT: s({
    default: '30s',
    doc: "at every stop the gateway gets its own SIGTERM first and up to this long to finish its work and exit, before the container is stopped (the container's PID 1, the Sandbox control server, would kill it within a second)",
    parse: duration(0, 10 * 60_000),
  }),
  FINAL_BACKUP_TIMEOUT: s({
    default: '2m',
    doc: 'a hibernation by the hard budget line tries one final backup for at most this long, then stops the container regardless (see [Failing backups](#failing-backups))',
    parse: duration(5_000, 30 * 60_000),
  }),
  SLEEP_MAX_DEFER: s({
    default: '1h',
    doc: 'how long an idle sleep waits for work still running inside the gateway (an agent turn, a background command, a scheduled run) before it drains and stops anyway (0 – 24 h; see [Sleep and scheduled work](#sleep-that-waits-for-work-and-wakes-for-scheduled-work))',
    parse: duration(0, 24 * H),
  }),
  SCHEDULED_WAKES: s({
    default: 'jobs',
    doc: "which of OpenClaw's scheduled jobs wake a sleeping assistant: `jobs` — the operator's and the agent's own; `all` — also OpenClaw's system jobs (memory dreaming, the skill review); `off` — none (jobs run only while it is awake, missed ones at the next boot)",
    parse: oneOf(SCHEDULED_WAKE_MODES),
  }),
  SCHEDULED_WAKE_LEAD: s({
    default: 'auto',
    doc: "how far ahead of a job's time it is woken; `auto`: the last boot's wake → ready × 1.5 + 10 s (20 s … 10 min)",
    parse: (value, name): number | null => (value === 'auto' ? null : parseDuration(name, value, 0, 0, H)),
  }),
  SCHEDULED_RUN_WAIT: s({
    default: '30m',
    doc: 'how long a scheduled wake stays up for a run that has not finished before it gives up waiting',
    parse: duration(10_000, 24 * H),
  }),
  SCHEDULE_SOFT_GAP: s({
    default: '4h',
    doc: 'over the soft budget line, scheduled wakes come at most once per this long (what falls due meanwhile runs at the next wake)',
    parse: duration(0),
  }),
  BROWSER_ALLOWED_HOSTNAMES: s({
    default: '',
    doc: "private or loopback host names the agent's browser may open (comma-separated; OpenClaw refuses them otherwise; the CDP host is always allowed; see [The agent's browser](#the-agents-browser))",
    parse: list,
  }),
  BUDGET_SOFT_USD: s({ default: '15', doc: 'projected month above this: sleepAfter is shortened, scheduled wakes thinned', parse: money }),
  BUDGET_HARD_USD: s({ default: '20', doc: 'projected month above this: every assistant is hibernated (after a backup)', parse: money }),
  BUDGET_STEP_USD: s({ default: '1', doc: 'each further this-many dollars over the soft line shortens sleepAfter by one more step', parse: money }),
  SLEEP_AFTER_STEP: s({ default: '5m', doc: 'one step of shortening', parse: duration(1_000) }),
  SLEEP_AFTER_FLOOR: s({ default: '5m', doc: 'sleepAfter is never shortened below this', parse: duration(2_000) }),
  BURN_WINDOW: s({ default: '24h', doc: 'recent usage the burn rate is taken from (1 h … 31 days)', parse: duration(H, 31 * 86_400_000) }),
  ANALYTICS_GRAPHQL_URL: s({ fixedLocally: true, default: 'https://api.cloudflare.com/client/v4/graphql', doc: 'the GraphQL Analytics endpoint', parse: text }),
  CF_ACCOUNT_ID: s({
    fixedLocally: true,
    default: '',
    doc: 'the account whose container usage is read (with the `CF_API_TOKEN` secret); empty: the self-meter is used',
    parse: text,
  }),
  MODEL_BUDGET_SOFT_USD: s({
    default: '',
    doc: 'model spend this month (metered at egress) above this: each model call waits `MODEL_SLOW_DELAY` first, and the status and notice say so; empty: no model line (model spend still counts in the one budget above)',
    parse: optionalMoney,
  }),
  MODEL_BUDGET_HARD_USD: s({
    default: '',
    doc: 'model spend this month above this: model calls are refused with a reason the agent and the owner read (the container keeps running); empty: no model line',
    parse: optionalMoney,
  }),
  MODEL_SLOW_DELAY: s({ default: '10s', doc: 'how long each model call waits while model spend is over `MODEL_BUDGET_SOFT_USD`', parse: duration(0, 120_000) }),
  MODEL_PRICES: s({
    default: '',
    doc: 'JSON: prices per model id prefix, US dollars per million tokens, added to the table in `src/cost/model-prices.ts`, e.g. `{"gpt-5.2":{"inputPerMTok":1.75,"outputPerMTok":14}}`',
    parse: text,
  }),
  GITHUB_PUSH_REPOS: s({
    default: '',
    doc: 'the repositories (`owner/repo`, comma-separated) the agent may push to and change through the API with `GITHUB_TOKEN`; everything else is read-only (see [Credentials at egress](#credentials-at-egress))',
    parse: (value, name) =>
      list(value, name).map((repo) => {
        if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)) throw new AppError('not_configured', `${name}: "${repo}" is not owner/repo`);
        return repo.toLowerCase();
      }),
  }),
  TELEGRAM_ALLOWED_USER_IDS: s({
    default: '',
    doc: 'the numeric Telegram user ids (comma-separated) whose messages to the bot the Worker takes into the inbox; everyone else is refused and counted (see [Telegram](#telegram-while-it-sleeps)); empty: nobody',
    parse: (value) => [...parseTelegramIds(value)],
  }),
  DISCORD_ALLOWED_USER_IDS: s({
    default: '',
    doc: 'the Discord user ids (comma-separated) whose DMs and mentions of the bot the relay takes into the inbox; everyone else is refused and counted (see [Discord](#discord-while-it-sleeps)); empty: nobody',
    parse: (value) => [...parseDiscordIds(value)],
  }),
  PRICING_OVERRIDE: s({
    default: '',
    doc: 'JSON deep-merged into the prices (`src/cost/pricing.ts`), e.g. `{"containers":{"memoryGibSecondUsd":0.000003}}`',
    parse: text,
  }),
  AUTH_MODE: s({
    fixedLocally: true,
    default: 'access',
    local: 'local',
    doc: '`access`: every request needs a Cloudflare Access JWT; `local`: loopback clients only, no Access (never set it in production)',
    parse: oneOf(['access', 'local'] as const),
  }),
  ACCESS_TEAM_DOMAIN: s({
    fixedLocally: true,
    default: '',
    doc: '`https://<team>.cloudflareaccess.com` (Terraform output); empty with `AUTH_MODE=access` refuses every request (fail closed)',
    parse: (value, name) => {
      const domain = value.replace(/\/+$/, '');
      if (domain && !/^https:\/\/[a-z0-9-]+\.cloudflareaccess\.com$/.test(domain) && !/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(domain)) {
        throw new AppError('not_configured', `${name}="${domain}" must look like https://<team>.cloudflareaccess.com`);
      }
      return domain;
    },
  }),
  ACCESS_AUD: s({ fixedLocally: true, default: '', doc: "the Access application's AUD tag (Terraform output)", parse: text }),
  ACCESS_ALLOWED_EMAILS: s({
    fixedLocally: true,
    default: '',
    doc: 'when set, only these people (comma-separated, case-insensitive), on top of the Access policy',
    parse: (value, name) => list(value, name).map((e) => e.toLowerCase()),
  }),
  ACCESS_SERVICE_TOKEN_IDS: s({ fixedLocally: true, default: '', doc: 'when set, only these service-token client ids', parse: list }),
  SERVICE_TOKEN_ROUTES: s({
    fixedLocally: true,
    default: 'wake,sleep,status,cost,backup,resume,doctor',
    keepsEmpty: true,
    doc: 'the API routes a service token may use (people may use all); `gateway` also lets it through to the assistant itself (chat, tools, Control UI), which it cannot reach otherwise',
    parse: list,
  }),
  WAKE_LIMIT_PER_MINUTE: s({ default: '6', doc: 'container-starting wakes per identity and minute (429 + `Retry-After` beyond)', parse: integer(1, 1000) }),
  REQUEST_WAIT_MAX: s({
    default: '2m',
    doc: 'the longest an API request that finds the assistant asleep or booting is held for ready when it asks with `Prefer: wait=<seconds>` (then answered by the gateway; a streaming client gets keep-alive lines meanwhile; see [API](#api)); 0 – 10 min, `0`: never held',
    parse: duration(0, 10 * 60_000),
  }),
  GATEWAY_USER: s({
    default: 'owner',
    doc: "the local mode's identity (loopback clients); with Access, the gateway sees the person's email or `service-token:<client id>`",
    parse: text,
  }),
  PUBLIC_ORIGINS: s({
    fixedLocally: true,
    default: '',
    production: 'https://openclaw-poc.example.com',
    local: 'http://127.0.0.1:8787,http://localhost:8787',
    doc: "the origins browsers use (the Worker's hostname): the only `Host`s the Worker answers, the only origins it takes commands and WebSockets from, and the gateway's Control UI origins; `npm start` sets it from `PORT`; empty refuses every request",
    parse: text,
  }),
  LOCAL_HOST_URL: s({
    fixedLocally: true,
    default: 'http://127.0.0.1:8788',
    localOnly: true,
    doc: "local mode only: the local dev host (set by `npm start`, as is its secret `LOCAL_HOST_TOKEN`, which `npm start` puts in the run's env file)",
    parse: text,
  }),
  LOCAL_EGRESS_UPSTREAMS: s({
    default: '',
    localOnly: true,
    doc: 'local mode only, for tests and development: JSON `{"<host>": "http://127.0.0.1:<port>"}`, where the Worker\'s egress sends a credentialed host\'s requests instead of the internet (e.g. the bundled mock model standing in for a provider host)',
    parse: text,
  }),
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
type Parsed<N extends SettingName> = ReturnType<(typeof SETTINGS)[N]['parse']>;

/** The Worker's vars as the platform hands them over (all strings, all optional). */
export type SettingsEnv = { [N in SettingName]?: string };

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** The settings `npm start` takes from the shell's environment (scripts/local.mjs). */
export const LOCAL_SHELL_SETTINGS: SettingName[] = SETTING_NAMES.filter((name) => !(SETTINGS[name] as Setting<unknown>).fixedLocally);

/** One setting, parsed: its value in `env`, else its default. @throws AppError `not_configured`. */
export function setting<N extends SettingName>(env: SettingsEnv, name: N): Parsed<N> {
  const entry: Setting<unknown> = SETTINGS[name];
  const raw = env[name]?.trim();
  const value = raw === undefined || (raw === '' && !entry.keepsEmpty) ? entry.default : raw;
  return entry.parse(value, name) as Parsed<N>;
}

/** `parse` memoized per environment object: an isolate keeps its env, so a request need not parse it again. */
export function oncePerEnv<E extends object, T>(parse: (env: E) => T): (env: E) => T {
  const parsed = new WeakMap<object, T>();
  return (env) => {
    if (parsed.has(env)) return parsed.get(env) as T;
    const value = parse(env);
    parsed.set(env, value);
    return value;
  };
}

/** The value the committed wrangler.jsonc gives a setting, in production or in the local env (undefined: not set there). */
export function committedValue(name: SettingName, where: 'production' | 'local'): string | undefined {
  const entry: Setting<unknown> = SETTINGS[name];
  if (where === 'production') return entry.localOnly ? undefined : (entry.production ?? entry.default);
  return entry.local ?? entry.production ?? entry.default;
}

/** The README's configuration table (the Worker's vars), rendered from the table. */
export function settingsTable(): string {
  const cell = (value: string | undefined) => (value === undefined ? '—' : value === '' ? 'empty' : `\`${value}\``);
  const rows = SETTING_NAMES.map((name) => {
    const entry: Setting<unknown> = SETTINGS[name];
    const production = committedValue(name, 'production');
    const local = committedValue(name, 'local');
    const values = entry.localOnly || production === local ? cell(local) : `${cell(production)} / ${cell(local)}`;
    return `| \`${name}\` | ${values} | ${entry.doc} |`;
  });
  return ['| var | default (production / local) | meaning |', '|---|---|---|', ...rows].join('\n');
}
