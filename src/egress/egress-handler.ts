/**
 * One of the container's outbound requests to a host the Worker holds a
 * credential for (src/egress/credentials.ts), as the Worker handles it:
 *
 * - GitHub: the scope first (writes only to GITHUB_PUSH_REPOS), refused in
 *   words `git` and `gh` print;
 * - a model provider: the model budget lines first (the Agent's meter:
 *   go, wait, or refuse with a 402 whose message says why), then the call,
 *   whose usage the Worker reads from the provider's answer on its way
 *   back and records with the Agent;
 * - both: every credential the container sent is removed and the real one
 *   added; the answer is the provider's own.
 *
 * The production `Agent`'s outbound handler (the Worker's `ContainerProxy`)
 * and the local mode's egress route call this same function.
 */
import type { Env } from '../env.ts';
import { errorMessage } from '../errors.ts';
import { setting } from '../settings.ts';
import type { ModelCall, ModelGate } from '../cost/model-meter.ts';
import { parseModelPrices, priceCall } from '../cost/model-prices.ts';
import { BOT_PATH, type EgressHost, withRealCredential } from './credentials.ts';
import { githubRefusal } from './github-scope.ts';
import { readUsage } from './model-usage.ts';
import { boundedText } from '../contract/untrusted-input.ts';
import { boundLog } from '../log.ts';

const logError = boundLog({}, [], undefined, 'error');

/** What the handler asks of the Agent that owns the container. */
export interface EgressAgent {
  modelGate(): Promise<ModelGate>;
  recordModelCall(call: ModelCall): Promise<void>;
}

export interface EgressDeps {
  env: Partial<Env>;
  agent: EgressAgent;
  /** Keeps the meter's reading of the answer alive after the answer is returned. */
  waitUntil: (work: Promise<unknown>) => void;
  fetch?: (request: Request) => Promise<Response>;
  sleep?: (ms: number) => Promise<void>;
}

const PRODUCT = 'openclaw-ondemand';
/** The largest chat request the Worker reads to ask for usage in its stream (a larger one goes as it is, its usage unseen if the stream lacks it). */
const MAX_USAGE_REQUEST_BYTES = 32 * 1024 * 1024;

/**
 * A streamed Chat Completions request asks the provider for its usage
 * (`stream_options.include_usage`): OpenClaw asks only OpenAI itself for it,
 * and an OpenAI-compatible endpoint sends none unless asked, so the meter
 * would see no tokens. The answer gains one last chunk with empty `choices`
 * and the usage, which OpenAI's clients expect when they ask for it.
 */
async function askingForUsage(request: Request): Promise<Request> {
  if (!new URL(request.url).pathname.endsWith('/chat/completions') || !/json/i.test(request.headers.get('content-type') ?? '')) return request;
  let text: string;
  try {
    text = await boundedText(request.body, MAX_USAGE_REQUEST_BYTES);
  } catch {
    return request;
  }
  let body: string = text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const options = parsed.stream_options;
    if (parsed.stream === true && !(typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true)) {
      parsed.stream_options = { ...(typeof options === 'object' && options !== null ? options : {}), include_usage: true };
      body = JSON.stringify(parsed);
    }
  } catch {
    // not JSON: as it was
  }
  const headers = new Headers(request.headers);
  headers.delete('content-length');
  return new Request(request.url, { method: request.method, headers, body, redirect: 'manual' });
}

function githubRefused(host: string, reason: string): Response {
  const message = `${PRODUCT}: refused at egress: ${reason}`;
  // git prints a text/plain body of a refused request as the remote's words; gh prints an API error's `message`.
  if (host === 'github.com') return new Response(`${message}\n`, { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  return Response.json({ message, documentation_url: 'https://github.com/openclaw-ondemand#credentials-at-egress' }, { status: 403 });
}

function modelRefused(reason: string): Response {
  const message = `${PRODUCT}: ${reason}`;
  // The shape both Anthropic's and OpenAI's clients read an error from; 402: OpenClaw files it as billing, not a fault to retry at once.
  return Response.json({ type: 'error', error: { type: 'budget_exceeded', code: 'budget_exceeded', message } }, { status: 402 });
}

/** The Bot API methods the Worker answers itself: the webhook is the Worker's (its route, its secret), never the container's to move. */
const WORKER_KEPT_METHODS = new Set(['setwebhook', 'deletewebhook']);

/**
 * The container's Bot API call: the token added in the path; a call that
 * would move or drop the bot's webhook (and with it every message to the
 * assistant) is answered by the Worker without reaching Telegram.
 */
function telegramEgress(request: Request, host: EgressHost, env: Partial<Env>, send: (r: Request) => Promise<Response>): Promise<Response> {
  const m = BOT_PATH.exec(new URL(request.url).pathname);
  const json = (status: number, body: Record<string, unknown>) => Response.json(body, { status });
  if (!m) return Promise.resolve(json(403, { ok: false, error_code: 403, description: 'openclaw-ondemand: refused at egress: not a Bot API path' }));
  const method = (m[3] ?? '').split('/')[1]?.toLowerCase() ?? '';
  if (m[1] === '/bot' && WORKER_KEPT_METHODS.has(method)) {
    return Promise.resolve(json(200, { ok: true, result: true, description: 'openclaw-ondemand: the webhook is kept by the Worker; not changed' }));
  }
  return send(withRealCredential(request, host, env));
}

/** Discord's gateway lookups (`GET /api/v<n>/gateway[/bot]`): answered by the Worker, whose relay is the bot's one receiver. */
const DISCORD_GATEWAY_LOOKUP = /^\/api(?:\/v\d+)?\/gateway(?:\/bot)?\/?$/;

/**
 * The container's Discord REST call: the bot's token added. Its gateway
 * lookup is refused, so OpenClaw's Discord channel sends answers but never
 * opens a second gateway session: the Worker's relay receives every
 * message, awake or asleep, and hands it to the gateway through the inbox.
 */
function discordEgress(request: Request, host: EgressHost, env: Partial<Env>, send: (r: Request) => Promise<Response>): Promise<Response> {
  if (DISCORD_GATEWAY_LOOKUP.test(new URL(request.url).pathname)) {
    const message = "openclaw-ondemand: refused at egress: the Worker's relay holds the bot's gateway session (messages arrive through the inbox)";
    return Promise.resolve(Response.json({ message, code: 0 }, { status: 403 }));
  }
  return send(withRealCredential(request, host, env));
}

export async function egressFetch(request: Request, host: EgressHost, deps: EgressDeps): Promise<Response> {
  const send = deps.fetch ?? ((r: Request) => fetch(r));
  if (host.kind === 'telegram') return telegramEgress(request, host, deps.env, send);
  if (host.kind === 'discord') return discordEgress(request, host, deps.env, send);
  if (host.kind === 'github') {
    const refusal = await githubRefusal(request.clone(), { pushRepos: setting(deps.env, 'GITHUB_PUSH_REPOS') });
    if (refusal) return githubRefused(host.host, refusal);
    return send(withRealCredential(request, host, deps.env));
  }
  // Model calls are POSTs; the rest (a model list) carries no usage and costs nothing: credentialed, not metered or gated.
  if (request.method !== 'POST') return send(withRealCredential(request, host, deps.env));
  const gate = await deps.agent.modelGate();
  if (!gate.go) return modelRefused(gate.reason);
  if (gate.delayMs > 0) await (deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(gate.delayMs);
  const answer = await send(withRealCredential(await askingForUsage(request), host, deps.env));
  if (!answer.body) return answer;
  const [toContainer, toMeter] = answer.body.tee();
  const prices = parseModelPrices(setting(deps.env, 'MODEL_PRICES'));
  deps.waitUntil(
    readUsage(toMeter, answer.headers.get('content-type') ?? '')
      .then(({ usage, truncated }) =>
        deps.agent.recordModelCall({ provider: host.provider, usage, ...priceCall(usage, prices), status: answer.status, truncated }),
      )
      .catch((error: unknown) => logError('egress:meter-failed', { host: host.host, error: errorMessage(error) })),
  );
  return new Response(toContainer, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}
