/**
 * The Worker's `ContainerProxy` entrypoint (the Containers platform sends the
 * container's intercepted outbound requests here):
 * - the agent's browser host goes to the Agent Durable Object that owns the
 *   container, where the CDP passthrough checks this boot's secret;
 * - a model provider's or GitHub's host goes out with the real credential
 *   the Worker holds (src/egress), metered and scoped, the Agent asked
 *   before and told after each model call;
 * - everything else is the Sandbox SDK's (its R2 and credential mounts) or
 *   the Container library's.
 * Only the container reaches this: it is not a route of the Worker.
 */
import { ContainerProxy as SandboxContainerProxy } from '@cloudflare/sandbox';
import type { Env } from '../env.ts';
import { egressHosts } from '../egress/credentials.ts';
import { egressFetch } from '../egress/egress-handler.ts';
import { BROWSER_CDP_HOST, CDP_PATH_PREFIX } from './cdp-passthrough.ts';

export class ContainerProxy extends SandboxContainerProxy {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const env: Env = this.env;
    const egress = egressHosts(env).get(url.hostname.toLowerCase());
    if (url.hostname !== BROWSER_CDP_HOST && !egress) return super.fetch(request);
    const props = this.ctx.props as { containerId?: string };
    if (!props.containerId) return new Response('no container id', { status: 500 });
    if (egress) {
      const agent = env.AGENT.get(env.AGENT.idFromString(props.containerId));
      return egressFetch(request, egress, { env, agent, waitUntil: (work) => this.ctx.waitUntil(work) });
    }
    const secret = /^\/devtools\/browser\/([A-Za-z0-9_-]+)$/.exec(url.pathname)?.[1] ?? '';
    const agent = env.AGENT.get(env.AGENT.idFromString(props.containerId));
    return agent.fetch(new Request(`https://agent.internal${CDP_PATH_PREFIX}${secret}`, { headers: request.headers }));
  }
}
