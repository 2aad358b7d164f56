/**
 * The Worker's routes: the lifecycle API under /api, everything else
 * proxied to the assistant's gateway through its Durable Object.
 */
import { Router, type IRequestStrict } from 'itty-router';
import type { LifecycleCommand } from './agent/lifecycle-actor.ts';
import type { CommandResult } from './agent/durable-object/agent-requests.ts';
import type { DoctorResult, SignInResult } from './contract/agent-rpc.ts';
import { LOGIN_PROVIDERS } from './agent/model-sign-in.ts';
import { parseConfig } from './config.ts';
import { oncePerEnv, setting } from './settings.ts';
import { parseCostConfig } from './cost/cost-config.ts';
import { currentEvaluation } from './cost/cost-guard.ts';
import type { Env } from './env.ts';
import { AppError, errorResponse, fromErrorBody, parseJsonObject, type ErrorBody } from './errors.ts';
import { boundLog } from './log.ts';

const logError = boundLog({}, [], undefined, 'error');
import { secure } from './security-headers.ts';
import { wantsHtml } from './ui/html.ts';
import { authenticate, GATEWAY_ROUTE, identityName, mayUse, parseAccessConfig, type Identity } from './auth/access.ts';
import { guardRequest, parsePublicOrigins, readCommandBody } from './auth/request-guard.ts';
import { messagePage } from './ui/progress-page.ts';
import { STATUS_PAGE_PATH, statusPage } from './ui/status-page.ts';
import { CDP_PATH_PREFIX } from './browser/cdp-passthrough.ts';
import { assertGatewayPath, overEncoded, pathOwner } from './runtime/gateway-path.ts';
import { parsePreferWait, WAIT_HEADER } from './agent/ready-wait.ts';
import { LOCAL_EGRESS_PREFIX, localEgress } from './egress/local-egress.ts';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhook } from './inbox/telegram-webhook.ts';
import { IDENTITY_HEADER } from './contract/identity.ts';
import { discordRelayStatus } from './inbox/discord-relay.ts';

/** Largest body an API command accepts. */
const MAX_COMMAND_BODY_BYTES = 16 * 1024;
const MAX_REASON_CHARS = 500;

/** Commands, and whether they answer 202 (work continues after the answer). */
const COMMANDS: Record<LifecycleCommand, { accepted: boolean }> = {
  wake: { accepted: true },
  sleep: { accepted: true },
  stop: { accepted: true },
  hibernate: { accepted: true },
  resume: { accepted: false },
};

function agentStub(env: Env) {
  const config = parseConfig(env);
  return env.AGENT.get(env.AGENT.idFromName(config.agentName));
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: secure(new Headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })),
  });
}

/** Reads `{ "reason": "…", "override": true }` from a command body; an empty body is fine. */
async function readBody(request: Request): Promise<{ reason?: string; override?: boolean }> {
  const text = await readCommandBody(request, MAX_COMMAND_BODY_BYTES);
  if (text.trim() === '') return {};
  const { reason, override } = parseJsonObject(text, 'bad_request', {
    notJson: 'body must be JSON, e.g. {"reason":"…"}, or empty',
    notObject: 'body must be a JSON object',
  });
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON_CHARS)) {
    throw new AppError('bad_request', `"reason" must be a string of at most ${MAX_REASON_CHARS} characters`);
  }
  if (override !== undefined && typeof override !== 'boolean') throw new AppError('bad_request', '"override" must be true or false');
  return { ...(reason !== undefined ? { reason: reason as string } : {}), ...(override !== undefined ? { override: override as boolean } : {}) };
}

/** A routed request: itty-router's, with the identity `authenticateRequest` found (set before any route runs). */
type RoutedRequest = IRequestStrict & { identity?: Identity };
/** The body of POST /api/login: `{provider?: "codex", cancel?: boolean}`. */
async function readLoginBody(request: RoutedRequest): Promise<{ cancel: boolean }> {
  const text = await readCommandBody(request, MAX_COMMAND_BODY_BYTES);
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new AppError('bad_request', 'body must be JSON: {"provider":"codex"} (or {"cancel":true})');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('bad_request', 'body must be a JSON object');
  const { provider, cancel } = body as { provider?: unknown; cancel?: unknown };
  if (provider !== undefined && !(LOGIN_PROVIDERS as readonly unknown[]).includes(provider))
    throw new AppError('bad_request', `"provider" must be one of: ${LOGIN_PROVIDERS.join(', ')}`);
  if (cancel !== undefined && typeof cancel !== 'boolean') throw new AppError('bad_request', '"cancel" must be true or false');
  return { cancel: cancel === true };
}

function commandAnswer(result: CommandResult, accepted: boolean): Response {
  if (!result.ok) return errorResponse(fromErrorBody(result));
  return json(result.status, accepted ? 202 : 200);
}

export { IDENTITY_HEADER };

/** Refuses what a hostile page could send (a rebound Host, cross-site commands) before anything else. */
const publicOrigins = oncePerEnv((env: Env) => parsePublicOrigins(setting(env, 'PUBLIC_ORIGINS')));

function guard(request: RoutedRequest, env: Env): undefined {
  guardRequest(request, publicOrigins(env));
  return undefined;
}

/**
 * Authenticates every request, and decides whose its path is on the
 * gateway's own reading of it (every decoded, lowercased, dot-resolved
 * candidate, src/runtime/gateway-path.ts): a path any candidate of which
 * falls into the Worker's namespaces (`/api`, `/_ondemand`, the browser
 * passthrough) is the Worker's, served only in its literal form and never
 * proxied (the catch-all below refuses it); everything else is the
 * gateway's, which service tokens reach only with the route `gateway`. API
 * routes are checked against what service tokens may use.
 */
async function authenticateRequest(request: RoutedRequest, env: Env): Promise<Response | undefined> {
  // Telegram's webhook is authenticated by the secret Telegram sends back, not by Access (its route checks it).
  if (new URL(request.url).pathname === TELEGRAM_WEBHOOK_PATH) return undefined;
  const access = parseAccessConfig(env);
  const identity = await authenticate(request, access);
  const url = new URL(request.url);
  const owner = pathOwner(url.pathname);
  if (owner === 'refused') throw overEncoded();
  const route = /^\/api\/([a-z]+)/.exec(url.pathname)?.[1];
  if (route && !mayUse(identity, route, access)) throw new AppError('forbidden', `service tokens may not use /api/${route} (SERVICE_TOKEN_ROUTES)`);
  if (owner === 'gateway' && !mayUse(identity, GATEWAY_ROUTE, access)) {
    throw new AppError('forbidden', `service tokens may not reach the assistant's gateway unless SERVICE_TOKEN_ROUTES includes "${GATEWAY_ROUTE}"`);
  }
  request.identity = identity;
  return undefined;
}

function identityOf(request: RoutedRequest): string {
  return identityName(request.identity!);
}

function loginRedirect(request: RoutedRequest, env: Env): Response | null {
  const access = parseAccessConfig(env);
  if (access.mode !== 'access' || !access.teamDomain || !access.audience) return null;
  const url = new URL(request.url);
  const login = `${access.teamDomain}/cdn-cgi/access/login/${url.hostname}?kid=${encodeURIComponent(access.audience)}&redirect_url=${encodeURIComponent(url.pathname + url.search)}`;
  return new Response(null, { status: 302, headers: { location: login, 'cache-control': 'no-store' } });
}

export function buildRouter() {
  const router = Router<RoutedRequest, [Env, ExecutionContext]>({
    before: [guard, authenticateRequest],
    catch: (error, request, env) => {
      if (error instanceof AppError && error.code === 'not_configured' && wantsHtml(request)) {
        return messagePage('Configuration error', error.message, error.status);
      }
      if (error instanceof AppError && error.code === 'unauthorized' && wantsHtml(request)) {
        const redirect = loginRedirect(request, env);
        if (redirect) return redirect;
      }
      if (!(error instanceof AppError)) logError('worker:error', { message: String(error), path: new URL(request.url).pathname });
      return errorResponse(error);
    },
  });

  router.get('/api/status', async (_request, env) => {
    const [result, relay] = await Promise.all([agentStub(env).lifecycleStatus(), discordRelayStatus(env)]);
    return commandAnswer(result.ok && relay ? { ...result, status: { ...result.status, discordRelay: relay } } : result, false);
  });

  for (const [name, { accepted }] of Object.entries(COMMANDS) as Array<[LifecycleCommand, { accepted: boolean }]>) {
    router.post(`/api/${name}`, async (request, env) => {
      const { reason, override } = await readBody(request);
      const options = {
        ...(reason ? { reason } : {}),
        ...(name === 'hibernate' ? { by: identityOf(request) } : {}),
        ...(name === 'resume' && override ? { override } : {}),
        identity: identityOf(request),
      };
      return commandAnswer(await agentStub(env).lifecycleCommand(name, options), accepted);
    });
  }

  router.post('/api/backup', async (request, env) => {
    const reason = (await readBody(request)).reason ?? 'requested';
    const result = (await agentStub(env).lifecycleBackup(reason)) as { ok: true; backup: unknown } | ({ ok: false } & ErrorBody);
    return result.ok ? json(result.backup) : errorResponse(fromErrorBody(result));
  });

  // The model sign-in (a ChatGPT/Codex subscription): POST {provider: "codex"} starts it, {cancel: true} ends it, GET says how it goes.
  router.post('/api/login', async (request, env) => {
    const body = await readLoginBody(request);
    const result = (await agentStub(env).modelLogin(body.cancel ? 'cancel' : 'start')) as SignInResult;
    return result.ok ? json(result.signIn, body.cancel ? 200 : 202) : errorResponse(fromErrorBody(result));
  });
  router.get('/api/login', async (_request, env) => {
    const result = (await agentStub(env).modelLogin('read')) as SignInResult;
    return result.ok ? json(result.signIn) : errorResponse(fromErrorBody(result));
  });

  router.get('/api/doctor', async (_request, env) => {
    const result = (await agentStub(env).lifecycleDoctor()) as DoctorResult;
    return result.ok ? json(result.doctor) : errorResponse(fromErrorBody(result));
  });

  router.get('/api/cost', async (_request, env) => {
    const result = (await agentStub(env).costSummary()) as { ok: true; cost: { last: unknown } } | ({ ok: false } & ErrorBody);
    if (!result.ok) return errorResponse(fromErrorBody(result));
    const cost = parseCostConfig(env);
    // The month's figure now (computed on request, reused for a minute), beside the cron's last decision.
    const current = { ...(await currentEvaluation(env, Date.now())), cronDecision: false };
    return json({
      ...result.cost,
      current,
      thresholds: {
        softUsd: cost.budget.softUsd,
        hardUsd: cost.budget.hardUsd,
        stepUsd: cost.budget.stepUsd,
        stepMs: cost.budget.stepMs,
        floorMs: cost.budget.floorMs,
      },
    });
  });

  router.all('/api/status', () => methodNotAllowed('GET'));
  router.all('/api/cost', () => methodNotAllowed('GET'));
  router.all('/api/doctor', () => methodNotAllowed('GET'));
  router.all('/api/backup', () => methodNotAllowed('POST'));
  router.all('/api/login', () => methodNotAllowed('GET, POST'));
  for (const name of Object.keys(COMMANDS)) router.all(`/api/${name}`, () => methodNotAllowed('POST'));
  router.all('/api', () => notFound());
  router.all('/api/*', () => notFound());

  router.get('/_ondemand', () => statusPage());
  router.get(STATUS_PAGE_PATH, () => statusPage());
  router.all('/_ondemand', () => methodNotAllowed('GET'));
  // The local mode's egress (its gateway's HTTPS proxy hands each credentialed request here); production's is the container's outbound handler.
  router.all(`${LOCAL_EGRESS_PREFIX}*`, (request, env, ctx) => localEgress(request, env, ctx, agentStub(env)));
  router.post(TELEGRAM_WEBHOOK_PATH, (request, env) => telegramWebhook(request, env, agentStub(env)));
  router.all(TELEGRAM_WEBHOOK_PATH, () => methodNotAllowed('POST'));
  router.all('/_ondemand/*', () => errorResponse(new AppError('not_found', `no such page; the status page is ${STATUS_PAGE_PATH}`)));

  // The agent's browser passthrough is the container's own (through its outbound handler), never a route from outside.
  router.all(`${CDP_PATH_PREFIX}*`, () => errorResponse(new AppError('forbidden', "the agent's browser is reached from its container only")));

  // Everything else belongs to the gateway (HTTP and WebSocket), unless the gateway would read it as one of the Worker's paths.
  // A client that asks with `Prefer: wait=N` is granted up to REQUEST_WAIT_MAX of waiting for a boot (src/agent/ready-wait.ts).
  router.all('*', (request, env) => {
    assertGatewayPath(new URL(request.url));
    const headers = new Headers(request.headers);
    headers.set(IDENTITY_HEADER, identityOf(request));
    headers.delete(WAIT_HEADER);
    const wait = parsePreferWait(headers.get('prefer'));
    const waitMs = wait === null ? 0 : Math.min(wait * 1000, setting(env, 'REQUEST_WAIT_MAX'));
    if (waitMs > 0) headers.set(WAIT_HEADER, String(waitMs));
    return agentStub(env).fetch(new Request(request, { headers }));
  });
  return router;
}

function methodNotAllowed(allow: string): Response {
  return errorResponse(new AppError('method_not_allowed', `use ${allow}`), { allow });
}

function notFound(): Response {
  return errorResponse(new AppError('not_found', 'no such API route; see GET /api/status'));
}
