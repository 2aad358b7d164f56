/**
 * The narrow boundary between the Agent and OpenClaw: start, readiness,
 * fetch (HTTP and WebSocket upgrade), stop. Two implementations: the
 * Cloudflare Sandbox container and the local dev host.
 */
import type { LifecycleError } from '../../machines/lifecycle-types.ts';

export interface RuntimeStartOptions {
  /** The assistant's name; the local host keeps one state directory per name. */
  agentId: string;
  /** 1-based boot attempt. */
  attempt: number;
  /** Environment for the container start script (secrets included; never logged). */
  env: Record<string, string>;
}

/** One readiness probe's answer. */
export type RuntimeProbe =
  | { status: 'starting'; phase: string }
  | { status: 'ready' }
  | { status: 'failed'; error: LifecycleError; retryable: boolean }
  | { status: 'stopped'; exitCode: number | null; reason: string };

export interface Runtime {
  /** Ensures the runtime is started; a second call while it runs changes nothing. */
  start(options: RuntimeStartOptions): Promise<void>;
  /** Probes once: is the gateway answering over HTTP, still booting, failed or gone? */
  probe(): Promise<RuntimeProbe>;
  /** Sends a request (HTTP, or a WebSocket upgrade) to the gateway. */
  fetch(request: Request): Promise<Response>;
  /** Stops the runtime; resolves once it is stopped. Stopping a stopped runtime is fine. */
  stop(reason: string): Promise<void>;
}

/** Wraps a platform failure at the runtime boundary. */
export class RuntimeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RuntimeError';
    this.code = code;
  }
}
