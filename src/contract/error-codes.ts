/**
 * Every internal failure code, as one typed union: the codes the start
 * script and its configure step write into the boot status (the contract
 * with container/start.sh and container/configure-openclaw.mjs, checked by a
 * test that reads both scripts), the runtime boundary's, the restore's and
 * the lifecycle machine's own. The HTTP error codes of the API are
 * `ErrorCode` in errors.ts. Pure: the machine imports it too.
 */

/** Written by container/start.sh (`fail CODE …`) and container/configure-openclaw.mjs. */
export const BOOT_ERROR_CODES = ['state_dir_unwritable', 'openclaw_missing', 'node_missing', 'config_failed', 'config_unreadable', 'injected_failure'] as const;
export type BootErrorCode = (typeof BOOT_ERROR_CODES)[number];

/** Failures at the runtime boundary (the Sandbox, the local dev host): starting or reaching it, and moving its state to and from backups. */
const RUNTIME_REACH_CODES = ['runtime_start_failed', 'runtime_unreachable', 'host_unreachable', 'host_error', 'contract_mismatch'] as const;
const RUNTIME_ARCHIVE_CODES = ['backup_failed', 'restore_corrupt', 'restore_failed'] as const;
export const RUNTIME_ERROR_CODES = [...RUNTIME_REACH_CODES, ...RUNTIME_ARCHIVE_CODES] as const;
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

/** Why a boot cannot restore the state (and so does not start). */
export const RESTORE_FAILURE_CODES = ['restore_failed', 'restore_unavailable', 'runtime_start_failed'] as const;
export type RestoreFailureCode = (typeof RESTORE_FAILURE_CODES)[number];

/** What the lifecycle machine records of itself. */
const MACHINE_BOOT_CODES = ['boot_failed', 'boot_timeout', 'boot_exited'] as const;
const MACHINE_RUN_CODES = ['container_exited', 'stop_failed', 'final_backup_failed', 'probe_failed'] as const;
export const MACHINE_ERROR_CODES = [...MACHINE_BOOT_CODES, ...MACHINE_RUN_CODES] as const;
export type MachineErrorCode = (typeof MACHINE_ERROR_CODES)[number];

/** Any code a LifecycleError (the status's `lastError`) can carry. */
export type LifecycleErrorCode = BootErrorCode | RuntimeErrorCode | RestoreFailureCode | MachineErrorCode;

const ALL_CODES: ReadonlySet<string> = new Set<string>([...BOOT_ERROR_CODES, ...RUNTIME_ERROR_CODES, ...RESTORE_FAILURE_CODES, ...MACHINE_ERROR_CODES]);

export function isRuntimeErrorCode(value: unknown): value is RuntimeErrorCode {
  return typeof value === 'string' && (RUNTIME_ERROR_CODES as readonly string[]).includes(value);
}

export function isLifecycleErrorCode(value: unknown): value is LifecycleErrorCode {
  return typeof value === 'string' && ALL_CODES.has(value);
}

/** An error with a machine-readable code: the base of the project's own errors (its name says which). */
export class CodedError<C extends string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, name = 'CodedError') {
    super(message);
    this.name = name;
    this.code = code;
  }
}

/** The message of anything thrown: an Error's message, a string itself, else `fallback` (default: its text). */
export function errorMessage(error: unknown, fallback?: string): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return fallback ?? String(error);
}
