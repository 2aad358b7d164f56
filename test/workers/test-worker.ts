/**
 * Test entry: the production Worker (router, scheduled) with the local-mode
 * Durable Object whose runtime is the fake container and whose clock the
 * tests can move forward.
 */
import { LocalAgent } from '../../src/agent/durable-object/local-agent.ts';
import type { Config } from '../../src/config.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import type { BrowserSessions } from '../../src/browser/browser-sessions.ts';
import { LocalChromiumSessions, type ChromiumSessionStats } from '../support/local-chromium-sessions.ts';
import { DiscordRelay, type RelayStatus } from '../../src/inbox/discord-relay.ts';
import type { DiscordInbound } from '../../src/inbox/discord-frames.ts';

export { default } from '../../src/index.ts';
export { ContainerProxy } from '../../src/browser/container-proxy.ts';

/**
 * The local Chromium that stands in for Browser Rendering (set by the
 * browser tests from the globalSetup): agents named `browser-…` get it.
 */
export const browserStandIn: { httpUrl: string | null; stats: Map<string, ChromiumSessionStats> } = { httpUrl: null, stats: new Map() };

/** Milliseconds added to the clock of every TestAgent. */
export const testClock = { offsetMs: 0 };
/** How many TestAgent instances were constructed (a restart makes a new one). */
export const instances = { count: 0 };

export class TestAgent extends LocalAgent {
  protected override makeRuntime(_config: Config): Runtime {
    instances.count += 1;
    return new FakeRuntime(this.ctx.id.name ?? this.ctx.id.toString());
  }

  /** The fake runtime needs no local host (and so no secret for it). */
  protected override checkConfig(_config: Config): void {}

  protected override browserSessions(): BrowserSessions | null {
    const name = this.ctx.id.name ?? '';
    if (!name.startsWith('browser-') || !browserStandIn.httpUrl) return null;
    const sessions = new LocalChromiumSessions(browserStandIn.httpUrl);
    browserStandIn.stats.set(name, sessions.stats);
    return sessions;
  }

  protected override now(): number {
    return Date.now() + testClock.offsetMs;
  }
}

/** The Discord stand-in the relay tests point the relay at (set from the globalSetup), and what the relay handed on. */
export const discordStandIn: { apiUrl: string | null; delivered: DiscordInbound[]; refuse: number; toAgent: boolean; agentName: string | null } = {
  apiUrl: null,
  agentName: null,
  delivered: [],
  refuse: 0,
  toAgent: false,
};

/** The relay, on the stand-in, handing messages to a list the tests read, or (toAgent) to the Agent's inbox as in production. */
export class TestDiscordRelay extends DiscordRelay {
  /** Outside the relay's own tests there is no Discord to hold a session with (the Worker's first request asks for one). */
  override async hold(): Promise<RelayStatus> {
    return discordStandIn.apiUrl ? super.hold() : this.status();
  }

  protected override apiOrigin(): string {
    return discordStandIn.apiUrl ?? super.apiOrigin();
  }

  protected override agentName(): string {
    return discordStandIn.agentName ?? super.agentName();
  }

  protected override async deliver(message: DiscordInbound): Promise<void> {
    if (discordStandIn.refuse > 0) {
      discordStandIn.refuse--;
      throw new Error('the inbox is unreachable (the test refuses it)');
    }
    discordStandIn.delivered.push(message);
    if (discordStandIn.toAgent) await super.deliver(message);
  }
}
