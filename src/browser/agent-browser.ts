/**
 * The agent's browser as one Agent sees it: Browser Rendering through the
 * CDP passthrough (production), or the browser the start script reported
 * (local mode: the machine's Chromium, missing, or off).
 */
import type { AgentStatus } from '../agent/agent-status.ts';
import type { Log } from '../agent/effect-context.ts';
import type { BrowserSessions } from './browser-sessions.ts';
import { CdpPassthrough, type CdpRecord } from './cdp-passthrough.ts';

export type LocalBrowser = { mode: string; detail: string };

export class AgentBrowser {
  /** Browser Rendering through the CDP passthrough (production), else null. */
  readonly passthrough: CdpPassthrough | null;
  /** The browser the start script reported (local mode), persisted. */
  #local: LocalBrowser | null;

  constructor(options: {
    sessions: BrowserSessions | null | undefined;
    now: () => number;
    log: Log;
    onChange: () => void;
    record?: CdpRecord | undefined;
    local?: LocalBrowser | null | undefined;
  }) {
    this.passthrough = options.sessions
      ? new CdpPassthrough({
          sessions: options.sessions,
          now: options.now,
          log: options.log,
          onChange: options.onChange,
          ...(options.record ? { record: options.record } : {}),
        })
      : null;
    this.#local = options.local ?? null;
  }

  /** The start script said which browser it set up (local mode). */
  reported(browser: LocalBrowser): void {
    this.#local = browser;
  }

  /** A CDP connection from the container's browser tool, while the assistant runs. */
  async connect(request: Request, running: boolean, state: string): Promise<Response> {
    if (!this.passthrough) return new Response('this assistant has no Browser Rendering binding', { status: 404 });
    if (!running) return new Response(`the assistant is ${state}`, { status: 409 });
    return this.passthrough.accept(request);
  }

  /** The container is gone: the session (and its bill) ends with it. */
  stopped(state: string): void {
    if (this.passthrough) void this.passthrough.close(`the assistant is ${state}`);
  }

  /** Browser-hours this month and recently (for the cost guard); zero without Browser Rendering. */
  report(hours: number): { monthHours: number; recentHours: number } {
    return this.passthrough?.meterReport(hours) ?? { monthHours: 0, recentHours: 0 };
  }

  status(): AgentStatus['browser'] {
    if (this.passthrough) return this.passthrough.status();
    if (this.#local) return { mode: this.#local.mode as 'local-chromium' | 'off', detail: this.#local.detail };
    return { mode: 'unknown', detail: 'not reported yet: it is known after the first boot' };
  }

  toJSON(): { browser?: CdpRecord; localBrowser: LocalBrowser | null } {
    return { ...(this.passthrough ? { browser: this.passthrough.toJSON() } : {}), localBrowser: this.#local };
  }
}
