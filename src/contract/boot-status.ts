/**
 * The contract between the container start script and whoever watches it
 * (the Agent through a runtime, the local dev host): the boot phases, the
 * status file the script writes, and what "ready" means.
 *
 * The script writes one JSON object to BOOT_STATUS_FILE at each phase, with
 * the time (ms) each phase so far began:
 *   {"phase":"configuring","at":"2026-11-24T18:00:00.120Z","timeline":{"restoring":"…","configuring":"…"}}
 * and on a failure it cannot recover from:
 *   {"phase":"failed","at":"…","error":{"code":"config_unreadable","message":"…"},"retryable":false}
 * Ready is never written by the script: ready means the gateway answers
 * READINESS_PATH over HTTP, which the watcher checks itself.
 */

import { isLifecycleErrorCode, type LifecycleErrorCode } from './error-codes.ts';
import { text as bounded } from './untrusted-input.ts';

export const BOOT_PHASES = ['launching', 'restoring', 'configuring', 'starting-gateway', 'failed'] as const;
export type BootPhase = (typeof BOOT_PHASES)[number];

/** What a person reads on the progress page for each phase. */
export const BOOT_PHASE_LABELS: Record<BootPhase | 'ready', string> = {
  launching: 'Starting the container',
  restoring: 'Restoring saved state',
  configuring: 'Configuring OpenClaw',
  'starting-gateway': 'Starting the OpenClaw gateway',
  failed: 'Boot failed',
  ready: 'Ready',
};

/** Where the configure step writes the browser it set up ({mode, detail}): beside the status file. */
export const BROWSER_STATUS_NAME = 'browser.json';

/** Default location of the status file inside the container. */
export const BOOT_STATUS_FILE = '/tmp/openclaw-boot/status.json';
/**
 * Written by the container's init (container/init.sh) when the platform sends
 * SIGTERM on its own (a rollout, a host move): its time. The init holds the
 * signal until the Agent, which reads this file at its health checks, has
 * drained the gateway and taken the final backup.
 */
export const TERMINATING_FILE = '/tmp/openclaw-boot/terminating';
/** Written by the Agent before its own stop, so the init passes that SIGTERM on at once. */
export const STOP_EXPECTED_FILE = '/tmp/openclaw-boot/stop-expected';
/** The start script writes its PID here before it execs the gateway (same PID), so a stop can signal the gateway itself. */
export const GATEWAY_PID_FILE = '/tmp/openclaw-boot/gateway.pid';
/**
 * The gateway answers this with 200 once its startup work is done (OpenClaw's
 * probe for traffic admission). Not `/readyz`: that one also fails while a
 * configured channel (Discord, Telegram) is unhealthy, which would keep a
 * wake from ever finishing; here both answer at the same moment otherwise.
 */
export const READINESS_PATH = '/startupz';
/** Process id the start script runs under in the Sandbox. */
export const START_PROCESS_ID = 'openclaw-start';
/** Path of the start script inside the image. */
export const START_SCRIPT_PATH = '/container/start.sh';

/**
 * The version of this contract (the status file's shape, the marker files,
 * the scripts' paths): container/start.sh writes its own with every status
 * (`"contract":N`; a script that writes none is version 1). A deploy updates
 * the Worker at once and the containers after it, so an Agent can meet a
 * container of another version for a while: its boot then fails, retryable,
 * saying both versions (`contract_mismatch`).
 */
export const CONTAINER_CONTRACT_VERSION = 2;

export interface BootStatus {
  phase: BootPhase;
  at: string;
  /** The contract version of the script that wrote it (1 when it wrote none). */
  contract: number;
  /** When each phase so far began (ISO times with ms, the container's clock). */
  timeline?: Partial<Record<BootPhase, string>>;
  /** The agent's browser as the configure step set it up (from `starting-gateway` on). */
  browser?: { mode: string; detail: string };
  error?: { code: LifecycleErrorCode; message: string };
  retryable?: boolean;
}

/** The longest status file read (the script writes well under 1 KiB); a longer one counts as unreadable. */
export const MAX_BOOT_STATUS_BYTES = 16 * 1024;

/**
 * Parses the status file (written inside the untrusted container: every
 * field typed and bounded); anything unreadable counts as "just launched".
 */
export function parseBootStatus(text: string | null | undefined): BootStatus {
  const fallback: BootStatus = { phase: 'launching', at: new Date(0).toISOString(), contract: CONTAINER_CONTRACT_VERSION };
  if (!text || text.length > MAX_BOOT_STATUS_BYTES) return fallback;
  try {
    const value = JSON.parse(text) as Partial<BootStatus>;
    if (!value || typeof value !== 'object' || !BOOT_PHASES.includes(value.phase as BootPhase)) return fallback;
    const contract = typeof value.contract === 'number' && Number.isInteger(value.contract) ? value.contract : 1;
    const status: BootStatus = { phase: value.phase as BootPhase, at: bounded(value.at, 40), contract };
    if (value.error && typeof value.error === 'object') {
      // A code outside the contract (a newer script, a stray errno) is kept in the message, not as a code.
      const code = value.error.code;
      const message = bounded(value.error.message, 500, 'boot failed');
      status.error = isLifecycleErrorCode(code) ? { code, message } : { code: 'boot_failed', message: code ? `${bounded(code, 64)}: ${message}` : message };
    }
    if (typeof value.retryable === 'boolean') status.retryable = value.retryable;
    const browser = value.browser as { mode?: unknown; detail?: unknown } | undefined;
    if (browser && typeof browser === 'object' && typeof browser.mode === 'string')
      status.browser = { mode: bounded(browser.mode, 40), detail: bounded(browser.detail, 300) };
    if (value.timeline && typeof value.timeline === 'object') {
      const timeline: Partial<Record<BootPhase, string>> = {};
      for (const [phase, at] of Object.entries(value.timeline))
        if (BOOT_PHASES.includes(phase as BootPhase) && typeof at === 'string') timeline[phase as BootPhase] = bounded(at, 40);
      status.timeline = timeline;
    }
    return status;
  } catch {
    return fallback;
  }
}
