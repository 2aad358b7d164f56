/**
 * The Worker: fetch (API + proxy) and scheduled (the cost guard's cron).
 * Exports both Agent classes and the containers' outbound entrypoint; wrangler.jsonc binds AGENT to `Agent`
 * (production Sandbox) or to `LocalAgent` (local mode, `--env local`).
 */
import type { Env } from './env.ts';
import { runCostGuard } from './cost/cost-guard.ts';
import { buildRouter } from './router.ts';

export { Agent } from './agent/sandbox-agent.ts';
// The container's intercepted outbound requests (the agent's browser, the Sandbox SDK's mounts) land here.
export { ContainerProxy } from './browser/container-proxy.ts';
export { LocalAgent } from './agent/local-agent.ts';

const router = buildRouter();

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runCostGuard(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
