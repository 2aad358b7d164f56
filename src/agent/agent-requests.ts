/**
 * What both Durable Object classes do with a request or a command: the same
 * answers whether the container is a Sandbox or the local runtime.
 */
import { AppError, errorBody, errorResponse, type ErrorBody } from '../errors.ts';
import { messagePage, progressPage } from '../ui/progress-page.ts';
import { wantsHtml } from '../ui/html.ts';
import type { AgentController } from './agent-controller.ts';
import type { LifecycleCommand } from './lifecycle-actor.ts';
import type { AgentStatus } from './agent-status.ts';
import { CdpPassthrough } from '../browser/cdp-passthrough.ts';
import { assertGatewayPath } from '../runtime/gateway-path.ts';

/** The answer of an RPC command: plain data, since class instances do not cross RPC. */
export type CommandResult = { ok: true; status: AgentStatus } | ({ ok: false } & ErrorBody);

export const LIFECYCLE_COMMANDS: readonly LifecycleCommand[] = ['wake', 'sleep', 'stop', 'hibernate', 'resume'];

export async function runCommand(
  controller: AgentController,
  name: LifecycleCommand,
  options: { reason?: string; by?: string; override?: boolean; identity?: string },
): Promise<CommandResult> {
  try {
    return { ok: true, status: await controller.command(name, options) };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, ...errorBody(error) };
    throw error;
  }
}

/** A request for the gateway: wake if needed, wait page/503 while booting, proxy once ready. */
export async function handleAgentRequest(controller: AgentController, request: Request): Promise<Response> {
  // The container's browser tool, through the outbound handler (the Worker refuses this path from outside).
  if (CdpPassthrough.matches(new URL(request.url))) return controller.browserConnect(request);
  const html = wantsHtml(request);
  // Never the gateway's: what it would read as the Worker's own paths (its admin RPC among them). Refused before it wakes anything.
  try {
    assertGatewayPath(new URL(request.url));
  } catch (error) {
    return refuse(error, html);
  }
  if (controller.state === 'hibernated') return refuse(controller.hibernatedError(), html);
  if (controller.bootFailed) {
    if (html) return progressPage(controller.status());
    const error = controller.status().lastError;
    return errorResponse(new AppError('boot_failed', `the last boot failed: ${error?.message}. Retry with POST /api/wake.`, { lastError: error }));
  }
  const identity = request.headers.get('x-ondemand-identity') || null;
  try {
    await controller.recordRequest(identity ?? 'unknown');
  } catch (error) {
    return refuse(error, html);
  }
  const status = controller.status();
  if ((status.state === 'ready' || status.state === 'idle') && status.stopping === null) {
    try {
      return await controller.forward(request, identity);
    } catch (error) {
      return refuse(error, html);
    }
  }
  if (html) return progressPage(status);
  return errorResponse(
    new AppError('booting', `the assistant is starting (${status.phase ?? status.state}); retry shortly`, { state: status.state, phase: status.phase }),
  );
}

function refuse(error: unknown, html: boolean): Response {
  if (html && error instanceof AppError) {
    const title = error.code === 'hibernated' ? 'Assistant hibernated' : 'Assistant unavailable';
    return messagePage(title, error.message, error.status);
  }
  return errorResponse(error);
}
