/**
 * The gateway inside the fake container, as the Agent reaches it over HTTP:
 * its admin RPC (admin-http-rpc: suspension, cron, the model's sign-in), the
 * agent hook (Discord's messages), the Telegram listener, and everything else
 * answered with an echo of the request. Its answers follow OpenClaw
 * 2026.9.6's shapes; a test makes it hostile through the container's state.
 */
import type { FakeContainer } from './fake-container.ts';

export class FakeGateway {
  readonly #container: () => FakeContainer;

  constructor(container: () => FakeContainer) {
    this.#container = container;
  }

  get container(): FakeContainer {
    return this.#container();
  }

  /** The gateway's Telegram webhook listener (OpenClaw's webhook mode): takes an update, says whether it adopted it durably. */
  async listener(_channel: 'telegram', request: Request): Promise<Response> {
    const c = this.container;
    if (!c.running || c.drained || c.probesLeft > 0) throw new Error('connection refused');
    if (c.telegramAnswer === 'error') return new Response('', { status: 500 });
    c.telegram.push({ secret: request.headers.get('x-telegram-bot-api-secret-token'), update: await request.text() });
    return new Response('', { status: 200, headers: c.telegramAnswer === 'durable' ? { 'x-openclaw-delivery-accepted': 'durable' } : {} });
  }

  async fetch(request: Request): Promise<Response> {
    const c = this.container;
    if (!c.running || c.drained || c.probesLeft > 0) throw new Error('connection refused');
    const url = new URL(request.url);
    if (url.pathname === '/api/v1/admin/rpc') return this.#adminRpc(await request.json());
    if (url.pathname === '/hooks/agent' && request.method === 'POST') return this.#agentHook(request);
    c.requests.push(`${request.method} ${url.pathname}${url.search}`);
    const body = await request.text();
    return new Response(
      JSON.stringify({
        gateway: 'fake',
        method: request.method,
        path: url.pathname + url.search,
        body,
        cookie: request.headers.get('cookie'),
        user: request.headers.get('x-openclaw-user'),
      }),
      {
        headers: { 'content-type': 'application/json' },
      },
    );
  }

  /** The agent hook (`hooks.enabled`), waiting for the turn as the inbox asks (`waitForCompletion`). */
  async #agentHook(request: Request): Promise<Response> {
    const c = this.container;
    const body = (await request.json()) as Record<string, unknown>;
    c.hooks.push({ authorization: request.headers.get('authorization'), idempotencyKey: request.headers.get('idempotency-key'), body });
    if (c.hooksAnswer === 'refused') return Response.json({ ok: false, error: 'channel must be last' }, { status: 400 });
    const completion =
      c.hooksAnswer === 'ran'
        ? { status: 'ok', replyDisposition: 'visible', delivered: true, deliveryAttempted: true }
        : { status: 'error', replyDisposition: 'empty' };
    return Response.json({ ok: true, runId: crypto.randomUUID(), completion });
  }

  /** The admin-http-rpc plugin's answers, in the shapes OpenClaw 2026.9.6 gives them. */
  #adminRpc(call: { id?: string; method?: string; params?: Record<string, unknown> }): Response {
    const c = this.container;
    c.rpc.push(call.method ?? '');
    const ok = (payload: unknown) => Response.json({ id: call.id, ok: true, payload });
    const hostile = c.hostileRpc[call.method ?? ''];
    if (hostile) {
      const answer = hostile(call.params ?? {});
      return answer instanceof Response ? answer : ok(answer);
    }
    if (c.suspended && !String(call.method).startsWith('gateway.suspend.')) {
      return Response.json(
        { id: call.id, ok: false, error: { code: 'UNAVAILABLE', message: 'gateway suspension admission is closed', retryAfterMs: 5_000 } },
        { status: 503 },
      );
    }
    switch (call.method) {
      case 'gateway.suspend.prepare':
        c.suspended = c.work.length === 0;
        return ok(
          c.work.length
            ? {
                status: 'busy',
                reason: 'active-work',
                retryAfterMs: 20_000,
                activeCount: c.work.reduce((n, w) => n + w.count, 0),
                blockers: c.work,
                writeCustody: [],
              }
            : { status: 'ready', suspensionId: 'fake-suspension', expiresAtMs: Date.now() + 120_000, activeCount: 0, blockers: [], writeCustody: [] },
        );
      case 'gateway.suspend.resume':
        c.suspended = false;
        return ok({ ok: true, status: 'running', resumed: true });
      case 'cron.list': {
        // Paged as the gateway pages it: `limit` rows from `offset`.
        const offset = Number(call.params?.offset ?? 0);
        const limit = Number(call.params?.limit ?? 200);
        const jobs = c.cronJobs.slice(offset, offset + limit);
        const hasMore = offset + limit < c.cronJobs.length;
        return ok({ jobs, total: c.cronJobs.length, offset, hasMore, nextOffset: hasMore ? offset + limit : null });
      }
      case 'models.authStatus': {
        const p = c.oauthProfile;
        const profiles = p
          ? [
              {
                profileId: p.profileId,
                type: 'oauth',
                status: p.status,
                source: 'saved',
                expiry: { at: p.expiresAtMs, remainingMs: p.expiresAtMs - Date.now(), label: 'soon' },
              },
            ]
          : [];
        return ok({
          ts: Date.now(),
          providers: [{ provider: 'openai', authProvider: 'openai', displayName: 'OpenAI', status: p ? p.status : 'missing', profiles }],
          providerCapabilities: {},
        });
      }
      case 'cron.runs':
        return ok({ entries: c.cronRuns[String(call.params?.id)] ?? [], total: 0, hasMore: false });
      default:
        return Response.json({ id: call.id, ok: false, error: { code: 'INVALID_REQUEST', message: `unknown method ${call.method}` } }, { status: 400 });
    }
  }
}
