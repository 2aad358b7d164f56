/**
 * What both Durable Object classes do with a request or a command: the same
 * answers whether the container is a Sandbox or the local runtime.
 */
import { AppError, errorBody, errorResponse, type ErrorBody } from '../../errors.ts';
import { messagePage, progressPage } from '../../ui/progress-page.ts';
import { wantsHtml } from '../../ui/html.ts';
import type { AgentController } from '../agent-controller.ts';
import type { LifecycleCommand } from '../lifecycle-actor.ts';
import type { AgentStatus } from '../agent-status.ts';
import { CdpPassthrough } from '../../browser/cdp-passthrough.ts';
import { assertGatewayPath } from '../../runtime/gateway-path.ts';
import { grantedWaitMs, streamRequested, waitingEventStream } from '../ready-wait.ts';
import { IDENTITY_HEADER } from '../../contract/identity.ts';

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

/**
 * A request for the gateway: wake if needed; while booting, the progress
 * page for a browser, 503 + Retry-After for an API client — or, when it
 * asked to wait (`Prefer: wait=N`), the gateway's answer once ready; proxy
 * once ready.
 */
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
  const admission = await controller.admit(request.headers.get(IDENTITY_HEADER) || 'unknown');
  const identity = request.headers.get(IDENTITY_HEADER) || null;
  if (admission.kind === 'serve') return forward(controller, request, identity, html);
  // A browser sees a failed boot on the progress page, with what to do.
  if (admission.kind === 'refuse') return html && isBootFailure(admission.error) ? progressPage(controller.status()) : refuse(admission.error, html);
  // Waiting for the boot: the operator's status is built only now, to say how far it is.
  if (html) return progressPage(controller.status());
  const waitMs = grantedWaitMs(request);
  if (waitMs > 0) return waitForGateway(controller, request, identity, waitMs);
  return bootingError(controller.status());
}

const isBootFailure = (error: unknown) => error instanceof AppError && error.code === 'boot_failed';

async function forward(controller: AgentController, request: Request, identity: string | null, html: boolean): Promise<Response> {
  try {
    return await controller.forward(request, identity);
  } catch (error) {
    return refuse(error, html);
  }
}

function bootingError(status: AgentStatus, waitedMs = 0): Response {
  const waited = waitedMs > 0 ? ` is not ready after waiting ${Math.round(waitedMs / 1000)} s` : ' is starting';
  return errorResponse(
    new AppError('booting', `the assistant${waited} (${status.phase ?? status.state}); retry shortly`, {
      state: status.state,
      phase: status.phase,
      ...(status.bootEstimate?.remainingMs != null ? { expectedRemainingMs: status.bootEstimate.remainingMs } : {}),
    }),
  );
}

/**
 * A client that asked to wait (`Prefer: wait=N`, granted by the Worker):
 * held until the gateway serves, the boot fails or the assistant is
 * hibernated, at most `waitMs`; then the gateway's answer, or the reason it
 * cannot have one. A streaming client is kept alive meanwhile (ready-wait.ts).
 */
async function waitForGateway(controller: AgentController, request: Request, identity: string | null, waitMs: number): Promise<Response> {
  const { stream, request: forwarded } = await streamRequested(request);
  const started = Date.now();
  const answer = async (): Promise<Response> => {
    const now = controller.standing();
    if (now.kind === 'serve') return forward(controller, forwarded, identity, false);
    if (now.kind === 'refuse') return refuse(now.error, false);
    return bootingError(controller.status(), Math.max(1, Date.now() - started));
  };
  const wait = { settled: (ms: number) => controller.answerable(ms), phase: () => controller.status().phase ?? controller.state, answer };
  if (stream) return waitingEventStream(wait, waitMs);
  await wait.settled(waitMs);
  return answer();
}

function refuse(error: unknown, html: boolean): Response {
  if (html && error instanceof AppError) {
    const title = error.code === 'hibernated' ? 'Assistant hibernated' : 'Assistant unavailable';
    return messagePage(title, error.message, error.status);
  }
  return errorResponse(error);
}
