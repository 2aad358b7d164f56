/**
 * Configuration, parsed and validated once from the Worker's environment.
 */
import type { LifecycleSettings } from '../machines/lifecycle-types.ts';
import type { Env } from './env.ts';
import { AppError } from './errors.ts';

/** Container instance types Cloudflare offers (see src/cost for their sizes). */
export const INSTANCE_TYPES = ['lite', 'basic', 'standard-1', 'standard-2', 'standard-3', 'standard-4'] as const;
export type InstanceType = (typeof INSTANCE_TYPES)[number];

/**
 * How backups travel between the container and R2 (Sandbox runtime):
 * `presigned` — the container transfers R2 objects itself over presigned
 * URLs (production; needs R2 credentials in the Worker); `binding` — through
 * the Worker's BACKUP_BUCKET binding (the Sandbox SDK's `localBucket` mode,
 * for `wrangler dev`, where presigned URLs would point at the real R2).
 */
export const BACKUP_TRANSFERS = ['presigned', 'binding'] as const;
export type BackupTransfer = (typeof BACKUP_TRANSFERS)[number];

export interface Config {
  /** Name of the one assistant this Worker serves (its Durable Object name). Default `default`. */
  agentName: string;
  /** Instance type the container runs on (must match wrangler.jsonc). Default `standard-2`. */
  instanceType: InstanceType;
  lifecycle: LifecycleSettings;
  /** Complete backups kept in R2 (older ones are deleted after a new one). Default 10. */
  backupKeep: number;
  /**
   * A change of the state is backed up within this long (BACKUP_DEBOUNCE):
   * the change check brings the periodic backup forward to at most this far
   * ahead, so changes are uploaded at most once per this time. Default 30 s.
   */
  backupDebounceMs: number;
  /**
   * Interval between readiness probes while booting (BOOT_POLL_INTERVAL): the
   * gateway's first readiness answer is seen within this long. Default 100 ms
   * (a probe is one small request; the start script's status is read at most
   * once a second).
   */
  bootPollMs: number;
  /** Port of the OpenClaw gateway inside the container. Default 18789. */
  gatewayPort: number;
  /** Control URL of the local dev host (local mode only). Default http://127.0.0.1:8788. */
  localHostUrl: string;
  /** The run's secret for the local dev host (LOCAL_HOST_TOKEN, set by `npm start`; local mode only). */
  localHostToken: string;
  /** Identity the gateway sees when the Worker passed none (the local mode's user). Default `owner`. */
  gatewayUser: string;
  /** Container-starting wakes allowed per identity and minute. Default 6. */
  wakeLimitPerMinute: number;
  /** How backups reach R2 in the Sandbox runtime (BACKUP_TRANSFER). Default `presigned`. */
  backupTransfer: BackupTransfer;
  /** How long a stop lets the gateway finish its work after its SIGTERM (GATEWAY_DRAIN_TIMEOUT). Default 30 s. */
  drainTimeoutMs: number;
  /**
   * How long the final backup of a budget hibernation may take before the
   * container is stopped regardless (FINAL_BACKUP_TIMEOUT). Default 2 min.
   */
  finalBackupTimeoutMs: number;
  /** Which scheduled jobs wake a sleeping assistant (SCHEDULED_WAKES). Default `jobs`. */
  scheduledWakes: ScheduledWakeMode;
  /**
   * How far ahead of a job's time it is woken (SCHEDULED_WAKE_LEAD); null
   * (`auto`, the default): the last boot's wake → ready × 1.5 + 10 s, 20 s to 10 min.
   */
  scheduledWakeLeadMs: number | null;
  /** How long a scheduled wake stays up for a run that has not finished before it gives up waiting (SCHEDULED_RUN_WAIT). Default 30 min. */
  scheduledRunWaitMs: number;
  /** Over the soft budget line, scheduled wakes come at most once per this long (SCHEDULE_SOFT_GAP; what is due meanwhile runs at the next wake). Default 4 h. */
  scheduleSoftGapMs: number;
}

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
  if (ms < minMs || ms > maxMs) {
    throw new AppError('not_configured', `${name}="${value}" is outside ${minMs / 1000}s..${maxMs / 1000}s`);
  }
  return ms;
}

function parseInteger(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError('not_configured', `${name}="${value}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * Which scheduled jobs wake a sleeping assistant (SCHEDULED_WAKES): `jobs`
 * — the operator's and the agent's own jobs, not the gateway's system jobs;
 * `all` — every enabled job; `off` — none (jobs run only while it is awake).
 */
export const SCHEDULED_WAKE_MODES = ['jobs', 'all', 'off'] as const;
export type ScheduledWakeMode = (typeof SCHEDULED_WAKE_MODES)[number];

function parseScheduledWakes(value: string | undefined): ScheduledWakeMode {
  const mode = (value?.trim() || 'jobs') as ScheduledWakeMode;
  if (!SCHEDULED_WAKE_MODES.includes(mode)) throw new AppError('not_configured', `SCHEDULED_WAKES="${value}" is not one of ${SCHEDULED_WAKE_MODES.join(', ')}`);
  return mode;
}

/** Validates the environment once; every option has a documented default. */
export function parseConfig(env: Partial<Env>): Config {
  const instanceType = (env.INSTANCE_TYPE?.trim() || 'standard-2') as InstanceType;
  if (!INSTANCE_TYPES.includes(instanceType)) {
    throw new AppError('not_configured', `INSTANCE_TYPE="${env.INSTANCE_TYPE}" is not one of ${INSTANCE_TYPES.join(', ')}`);
  }
  const agentName = env.AGENT_NAME?.trim() || 'default';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(agentName)) {
    throw new AppError('not_configured', `AGENT_NAME="${agentName}" must be lowercase letters, digits and dashes`);
  }
  const sleepAfterMs = parseDuration('SLEEP_AFTER', env.SLEEP_AFTER, 20 * 60_000, 2_000, 24 * 3_600_000);
  const backupTransfer = (env.BACKUP_TRANSFER?.trim() || 'presigned') as BackupTransfer;
  if (!BACKUP_TRANSFERS.includes(backupTransfer)) {
    throw new AppError('not_configured', `BACKUP_TRANSFER="${env.BACKUP_TRANSFER}" is not one of ${BACKUP_TRANSFERS.join(', ')}`);
  }
  return {
    agentName,
    instanceType,
    lifecycle: {
      sleepAfterMs,
      quietAfterMs: parseDuration('QUIET_AFTER', env.QUIET_AFTER, 60_000, 1_000),
      bootTimeoutMs: parseDuration('BOOT_TIMEOUT', env.BOOT_TIMEOUT, 5 * 60_000, 5_000),
      maxBootAttempts: parseInteger('BOOT_ATTEMPTS', env.BOOT_ATTEMPTS, 3, 1, 10),
      bootBackoffMs: parseDuration('BOOT_BACKOFF', env.BOOT_BACKOFF, 5_000, 100),
      healthIntervalMs: parseDuration('HEALTH_INTERVAL', env.HEALTH_INTERVAL, 30_000, 1_000),
      stopRetryMs: 10_000,
      backupIntervalMs: parseDuration('BACKUP_INTERVAL', env.BACKUP_INTERVAL, 10 * 60_000, 10_000),
      changeCheckMs: parseDuration('CHANGE_CHECK_INTERVAL', env.CHANGE_CHECK_INTERVAL, 5_000, 1_000, 10 * 60_000),
      maxSleepDeferMs: parseDuration('SLEEP_MAX_DEFER', env.SLEEP_MAX_DEFER, 60 * 60_000, 0, 24 * 3_600_000),
    },
    scheduledWakes: parseScheduledWakes(env.SCHEDULED_WAKES),
    scheduledWakeLeadMs: env.SCHEDULED_WAKE_LEAD?.trim() && env.SCHEDULED_WAKE_LEAD.trim() !== 'auto' ? parseDuration('SCHEDULED_WAKE_LEAD', env.SCHEDULED_WAKE_LEAD, 60_000, 0, 60 * 60_000) : null,
    scheduledRunWaitMs: parseDuration('SCHEDULED_RUN_WAIT', env.SCHEDULED_RUN_WAIT, 30 * 60_000, 10_000, 24 * 3_600_000),
    scheduleSoftGapMs: parseDuration('SCHEDULE_SOFT_GAP', env.SCHEDULE_SOFT_GAP, 4 * 3_600_000, 0, 7 * 86_400_000),
    backupDebounceMs: parseDuration('BACKUP_DEBOUNCE', env.BACKUP_DEBOUNCE, 30_000, 1_000, 60 * 60_000),
    backupKeep: parseInteger('BACKUP_KEEP', env.BACKUP_KEEP, 10, 1, 1000),
    bootPollMs: parseDuration('BOOT_POLL_INTERVAL', env.BOOT_POLL_INTERVAL, 100, 50, 60_000),
    gatewayPort: parseInteger('GATEWAY_PORT', env.GATEWAY_PORT, 18789, 1, 65535),
    localHostUrl: env.LOCAL_HOST_URL?.trim() || 'http://127.0.0.1:8788',
    localHostToken: env.LOCAL_HOST_TOKEN?.trim() ?? '',
    gatewayUser: env.GATEWAY_USER?.trim() || 'owner',
    wakeLimitPerMinute: parseInteger('WAKE_LIMIT_PER_MINUTE', env.WAKE_LIMIT_PER_MINUTE, 6, 1, 1000),
    backupTransfer,
    drainTimeoutMs: parseDuration('GATEWAY_DRAIN_TIMEOUT', env.GATEWAY_DRAIN_TIMEOUT, 30_000, 0, 10 * 60_000),
    finalBackupTimeoutMs: parseDuration('FINAL_BACKUP_TIMEOUT', env.FINAL_BACKUP_TIMEOUT, 2 * 60_000, 5_000, 30 * 60_000),
  };
}
