/**
 * Configuration, parsed and validated once from the Worker's environment.
 */
import type { LifecycleSettings } from '../machines/lifecycle-types.ts';
import { oncePerEnv, setting, type BackupTransfer, type InstanceType, type ScheduledWakeMode, type SettingsEnv } from './settings.ts';

export {
  BACKUP_TRANSFERS,
  INSTANCE_TYPES,
  parseDuration,
  SCHEDULED_WAKE_MODES,
  type BackupTransfer,
  type InstanceType,
  type ScheduledWakeMode,
} from './settings.ts';

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

/** The machine's durations and counts from the environment (their defaults: the settings table). */
export function parseLifecycleSettings(env: SettingsEnv): LifecycleSettings {
  return {
    sleepAfterMs: setting(env, 'SLEEP_AFTER'),
    quietAfterMs: setting(env, 'QUIET_AFTER'),
    bootTimeoutMs: setting(env, 'BOOT_TIMEOUT'),
    maxBootAttempts: setting(env, 'BOOT_ATTEMPTS'),
    bootBackoffMs: setting(env, 'BOOT_BACKOFF'),
    healthIntervalMs: setting(env, 'HEALTH_INTERVAL'),
    stopRetryMs: STOP_RETRY_MS,
    backupIntervalMs: setting(env, 'BACKUP_INTERVAL'),
    changeCheckMs: setting(env, 'CHANGE_CHECK_INTERVAL'),
    maxSleepDeferMs: setting(env, 'SLEEP_MAX_DEFER'),
  };
}

/** A failed stop is tried again after this long (not a setting: a stop that fails is retried until it succeeds). */
const STOP_RETRY_MS = 10_000;

/** Validates the environment, once per env object; every option has a documented default (src/settings.ts). @throws AppError `not_configured`. */
export const parseConfig = oncePerEnv(
  (env: SettingsEnv & { LOCAL_HOST_TOKEN?: string | undefined }): Config => ({
    agentName: setting(env, 'AGENT_NAME'),
    instanceType: setting(env, 'INSTANCE_TYPE'),
    lifecycle: parseLifecycleSettings(env),
    scheduledWakes: setting(env, 'SCHEDULED_WAKES'),
    scheduledWakeLeadMs: setting(env, 'SCHEDULED_WAKE_LEAD'),
    scheduledRunWaitMs: setting(env, 'SCHEDULED_RUN_WAIT'),
    scheduleSoftGapMs: setting(env, 'SCHEDULE_SOFT_GAP'),
    backupDebounceMs: setting(env, 'BACKUP_DEBOUNCE'),
    backupKeep: setting(env, 'BACKUP_KEEP'),
    bootPollMs: setting(env, 'BOOT_POLL_INTERVAL'),
    gatewayPort: setting(env, 'GATEWAY_PORT'),
    localHostUrl: setting(env, 'LOCAL_HOST_URL'),
    localHostToken: env.LOCAL_HOST_TOKEN?.trim() ?? '',
    gatewayUser: setting(env, 'GATEWAY_USER'),
    wakeLimitPerMinute: setting(env, 'WAKE_LIMIT_PER_MINUTE'),
    backupTransfer: setting(env, 'BACKUP_TRANSFER'),
    drainTimeoutMs: setting(env, 'GATEWAY_DRAIN_TIMEOUT'),
    finalBackupTimeoutMs: setting(env, 'FINAL_BACKUP_TIMEOUT'),
  }),
);
