/**
 * Test entry: the production Worker (router, scheduled) with the local-mode
 * Durable Object whose runtime is the fake container and whose clock the
 * tests can move forward.
 */
import { LocalAgent } from '../../src/agent/local-agent.ts';
import type { Config } from '../../src/config.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

export { default } from '../../src/index.ts';

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

  protected override now(): number {
    return Date.now() + testClock.offsetMs;
  }
}
