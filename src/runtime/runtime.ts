/**
 * The narrow boundary between the Agent and OpenClaw: start, readiness,
 * fetch (HTTP and WebSocket upgrade), drain, backup, restore, stop. Two implementations: the
 * Cloudflare Sandbox container and the local dev host.
 */
import type { IngressCheck } from './ingress-check.ts';
import type { LifecycleError } from '../../machines/lifecycle-types.ts';
import { CodedError, type RuntimeErrorCode } from '../contract/error-codes.ts';

export interface RuntimeStartOptions {
  /** The assistant's name; the local host keeps one state directory per name. */
  agentId: string;
  /** 1-based boot attempt. */
  attempt: number;
  /** Environment for the container start script (secrets included; never logged). */
  env: Record<string, string>;
}

/** One readiness probe's answer. */
/** A running container's versions and ingress source, as it reports them (untrusted: shown, never acted on). */
export interface ContainerDiagnosis {
  node: string;
  openclaw: string;
  gh: string;
  ingress: IngressCheck;
}

export type RuntimeProbe =
  | {
      status: 'starting';
      phase: string;
      /** When each start-script phase began (its clock), when known. */
      timeline?: Record<string, string>;
      /** The browser the start script configured for the agent, once it has. */
      browser?: { mode: string; detail: string };
    }
  | { status: 'ready' }
  | { status: 'failed'; error: LifecycleError; retryable: boolean }
  | { status: 'stopped'; exitCode: number | null; reason: string };

/** How the gateway went at a stop. */
export interface RuntimeStopReport {
  /** The gateway exited by itself after its SIGTERM, within the drain time. */
  drained: boolean;
  gatewayExitCode: number | null;
  drainMs: number;
  note?: string;
}

/** A backup as the runtime hands it over (null from backup() means: nothing changed). */
export interface RuntimeArchive {
  /** Changes whenever the archived state changes. */
  fingerprint: string;
  sha256: string;
  size: number;
  files: number;
  /** The archive bytes to store (local mode); null when the platform stored them itself (Sandbox). */
  body: ReadableStream | null;
  /** The platform's own handle to the stored backup (Sandbox `DirectoryBackup`). */
  handle?: unknown;
}

/** What to restore before a start: an archive's bytes or the platform's handle, with its checksum. */
export interface RestoreSource {
  body: ReadableStream | null;
  sha256: string;
  handle?: unknown;
}

export interface Runtime {
  /**
   * Starts what the runtime runs on (the container) without the gateway and
   * resolves once it answers; nothing to do where there is nothing to start
   * (the local mode) or when it runs already.
   */
  provision(): Promise<void>;
  /** Ensures the runtime is started; a second call while it runs changes nothing. */
  start(options: RuntimeStartOptions): Promise<void>;
  /** Probes once: is the gateway answering over HTTP, still booting, failed or gone? */
  probe(): Promise<RuntimeProbe>;
  /** Sends a request (HTTP, or a WebSocket upgrade) to the gateway. */
  fetch(request: Request): Promise<Response>;
  /**
   * Sends a request to the gateway's listener for a chat channel (OpenClaw's
   * Telegram webhook listener, on its own port); absent where the runtime
   * has none.
   */
  fetchListener?(channel: 'telegram', request: Request): Promise<Response>;
  /**
   * When the platform has asked the container to stop on its own (a
   * rollout, a host move: SIGTERM to it, held by its init), the time it did;
   * else null. Runtimes the platform never stops on its own leave it out.
   */
  terminationNotice?(): Promise<string | null>;
  /** What a running container runs (versions) and where it sees the Agent's requests come from (`clawctl doctor`); null when not running. */
  diagnose?(): Promise<ContainerDiagnosis | null>;
  /**
   * Stops the gateway gracefully — its SIGTERM, then time to finish its work
   * and exit — and leaves the state readable, so that the backup taken next
   * holds everything the gateway wrote, in-flight work included. Resolves
   * once it exited (or the drain time is over), with how it went when the
   * runtime can tell. Draining a drained runtime changes nothing.
   */
  drain(): Promise<RuntimeStopReport | null>;
  /** Stops the runtime; resolves once it is stopped. Stopping a stopped runtime is fine. */
  stop(reason: string): Promise<void>;
  /**
   * Archives the state while the runtime runs (databases copied consistently);
   * null when its fingerprint still equals `previousFingerprint`.
   */
  backup(previousFingerprint: string | null): Promise<RuntimeArchive | null>;
  /**
   * Before a start, before anything is wiped: the state this runtime still
   * holds from before (a leftover home, a container that still runs) when it
   * is newer than `newest` (the newest backup: its fingerprint and time) —
   * what a crash or an abrupt exit left unsaved. Null when there is none.
   */
  recover(newest: { fingerprint: string; atMs: number } | null): Promise<RuntimeArchive | null>;
  /**
   * A cheap stamp of the state that changes when the state changes (no file
   * is read); null when the runtime cannot tell. Asked every few seconds.
   */
  changeStamp(): Promise<string | null>;
  /**
   * The model sign-in in the running container (container/model-login.sh):
   * `start` begins OpenClaw's device-code flow (ending one under way),
   * `cancel` ends it, `read` returns the end of its output (at most
   * MAX_LOGIN_LOG_BYTES; null when none was started). Untrusted output: the
   * Agent reads it with src/agent/model-sign-in.ts.
   */
  modelLogin?(action: 'start' | 'cancel' | 'read'): Promise<string | null>;
  /**
   * Before a start: replaces the state with `source` (integrity checked), or
   * starts from an empty state when `source` is null. Throws a RuntimeError
   * with code `restore_corrupt` when the archive fails its check, leaving the
   * state as it was.
   */
  prepare(source: RestoreSource | null): Promise<void>;
}

/** Wraps a platform failure at the runtime boundary. */
export class RuntimeError extends CodedError<RuntimeErrorCode> {
  constructor(code: RuntimeErrorCode, message: string) {
    super(code, message, 'RuntimeError');
  }
}
