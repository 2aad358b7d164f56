/**
 * The Worker: fetch (API + proxy) and scheduled (the cost guard's cron; it also keeps the Discord relay holding).
 * Exports both Agent classes and the containers' outbound entrypoint; wrangler.jsonc binds AGENT to `Agent`
 * (production Sandbox) or to `LocalAgent` (local mode, `--env local`).
 */
import type { Env } from './env.ts';
import { runCostGuard } from './cost/cost-guard.ts';
import { buildRouter } from './router.ts';
import { keepDiscordHeld } from './inbox/discord-relay.ts';

export { Agent } from './agent/durable-object/sandbox-agent.ts';
// The container's intercepted outbound requests (the agent's browser, the Sandbox SDK's mounts) land here.
export { ContainerProxy } from './browser/container-proxy.ts';
export { LocalAgent } from './agent/durable-object/local-agent.ts';
// The Discord relay (production and the local mode's): holds the bot's gateway session for the inbox.
export { DiscordRelay, LocalDiscordRelay } from './inbox/discord-relay.ts';

const router = buildRouter();
/** Whether this isolate has made sure the Discord relay holds (its first request does; then the cron, every 15 minutes). */
let relayChecked = false;

export default {
  fetch: (request, env, ctx) => {
    if (!relayChecked) {
      relayChecked = true;
      ctx.waitUntil(keepDiscordHeld(env));
    }
    return router.fetch(request, env, ctx);
  },
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runCostGuard(env, controller.scheduledTime));
    ctx.waitUntil(keepDiscordHeld(env));
  },
} satisfies ExportedHandler<Env>;
