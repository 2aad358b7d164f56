/**
 * The HTTP API as clawctl speaks it: the same routes as the browser, with an
 * Access service token (CF-Access-Client-Id/-Secret, exchanged by Access at
 * the edge) when one is configured. Every failure becomes a CliError with
 * one clear line and an exit code.
 */
import type { AgentStatus } from '../src/agent/agent-status.ts';

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Exit codes: 0 ok, 1 failed, 2 hibernated (refused), 3 target unreachable, 4 not authorized, 5 bad usage. */
export const EXIT = { ok: 0, failed: 1, hibernated: 2, unreachable: 3, unauthorized: 4, usage: 5 } as const;

export interface Target {
  url: string;
  clientId: string | null;
  clientSecret: string | null;
}

export class ApiClient {
  readonly target: Target;
  constructor(target: Target) {
    this.target = target;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.target.clientId && this.target.clientSecret) {
      h['cf-access-client-id'] = this.target.clientId;
      h['cf-access-client-secret'] = this.target.clientSecret;
    }
    return h;
  }

  async request(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; json: unknown; headers: Headers }> {
    let response: Response;
    try {
      // Commands are JSON, even without arguments (the Worker refuses other content types).
      const payload = body === undefined && method !== 'GET' ? {} : body;
      response = await fetch(`${this.target.url}${path}`, {
        method,
        headers: this.headers(payload === undefined ? {} : { 'content-type': 'application/json' }),
        body: payload === undefined ? null : JSON.stringify(payload),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliError(`cannot reach ${this.target.url}: ${cause} (is the target right? local mode: \`npm start\`)`, EXIT.unreachable);
    }
    if (response.status === 302 || response.status === 401 || response.status === 403) {
      const detail = await response.text().then((t) => {
        try {
          return (JSON.parse(t) as { error?: { message?: string } }).error?.message ?? '';
        } catch {
          return '';
        }
      });
      throw new CliError(`not authorized at ${this.target.url} (${response.status}${detail ? `: ${detail}` : ''}); set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET to a service token`, EXIT.unauthorized);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = { raw: text.slice(0, 200) };
    }
    return { status: response.status, json, headers: response.headers };
  }

  /** Calls an API route; a JSON error answer becomes a CliError with its message. */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status >= 400) {
      const error = (r.json as { error?: { code?: string; message?: string } })?.error;
      const code = error?.code ?? String(r.status);
      throw new CliError(`${method} ${path}: ${code}: ${error?.message ?? 'failed'}`, code === 'hibernated' ? EXIT.hibernated : EXIT.failed);
    }
    return r.json as T;
  }

  status(): Promise<AgentStatus> {
    return this.api<AgentStatus>('GET', '/api/status');
  }

  /** Sends a chat turn through the gateway's OpenAI-compatible endpoint. */
  async chat(content: string, user = 'clawctl'): Promise<string> {
    const r = await this.request('POST', '/v1/chat/completions', { model: 'openclaw', user, messages: [{ role: 'user', content }] }, 180_000);
    if (r.status >= 400) throw new CliError(`chat failed: ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    return (r.json as { choices?: Array<{ message?: { content?: string } }> }).choices?.[0]?.message?.content ?? '';
  }
}

/** Waits until `check` says yes, polling the status. */
export async function waitForStatus(client: ApiClient, check: (s: AgentStatus) => boolean, timeoutMs: number, onStatus?: (s: AgentStatus) => void): Promise<AgentStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.status();
    onStatus?.(s);
    if (check(s)) return s;
    if (s.state === 'stopped' && s.lastError && s.lastError.code !== 'container_exited') throw new CliError(`boot failed: ${s.lastError.code}: ${s.lastError.message}`);
    if (s.state === 'hibernated') throw new CliError(`hibernated: ${s.hibernation?.reason ?? 'no reason'} (clawctl resume)`, EXIT.hibernated);
    if (Date.now() > deadline) throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s (state ${s.state}${s.phase ? `, ${s.phase}` : ''})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
