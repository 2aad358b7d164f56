import type { Env as AppEnv } from '../../src/env.ts';
import type { TestDiscordRelay } from './test-worker.ts';

declare global {
  namespace Cloudflare {
    interface Env extends AppEnv {
      /** The Discord relay (bound in the tests' wrangler config; not in production's yet). */
      DISCORD_RELAY: DurableObjectNamespace<TestDiscordRelay>;
    }
  }
}
