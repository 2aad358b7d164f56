/**
 * The HTTP API as clawctl speaks it: the same routes as the browser, with an
 * Access service token (CF-Access-Client-Id/-Secret, exchanged by Access at
 * the edge) when one is configured, or the local mode's access token
 * (Authorization: Bearer) for the loopback URL it belongs to. Every failure
 * becomes a CliError with one clear line and an exit code. Every answer is
 * parsed by `parseServerText`, so no text the server (or the container
 * behind it) supplies reaches the terminal with a control character in it.
 */
import type { AgentStatus } from '../src/agent/agent-status.ts';
import { CodedError } from '../src/contract/error-codes.ts';

/** Exit codes: 0 ok, 1 failed, 2 hibernated (refused), 3 target unreachable, 4 not authorized, 5 bad usage. */
export const EXIT = { ok: 0, failed: 1, hibernated: 2, unreachable: 3, unauthorized: 4, usage: 5 } as const;
type ExitName = keyof typeof EXIT;

/** A failure clawctl reports in one line and exits with: its code is the exit's name, `exitCode` its number. */
export class CliError extends CodedError<ExitName> {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super((Object.keys(EXIT) as ExitName[]).find((name) => EXIT[name] === exitCode) ?? 'failed', message, 'CliError');
    this.exitCode = exitCode;
  }
}

export interface Target {
  url: string;
  clientId: string | null;
  clientSecret: string | null;
  /** The local mode's access token for this URL (cli/target.ts: localAccessToken), if any. */
  localToken?: string | null;
}

/** C0 controls, DEL and C1 controls: what a terminal may act on (cursor moves, OSC 52 clipboard writes, …). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** `text` without control characters: tab, CR and LF become a space, every other one U+FFFD. */
export function stripControls(text: string): string {
  return text.replace(CONTROLS, (c) => (c === '\t' || c === '\n' || c === '\r' ? ' ' : '\ufffd'));
}

/**
 * A server's answer as clawctl holds it: JSON parsed with every string and
 * key stripped of control characters (`stripControls`); a body that is not
 * JSON becomes `{ raw }` (its first 200 characters, stripped too); an empty
 * body null.
 */
export function parseServerText(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text, (_key, value: unknown) => {
      if (typeof value === 'string') return stripControls(value);
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).some((k) => CONTROL.test(k))) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripControls(k), v]));
      }
      return value;
    });
  } catch {
    return { raw: stripControls(text.slice(0, 200)) };
  }
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
    if (this.target.localToken) h.authorization = `Bearer ${this.target.localToken}`;
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
    const json = parseServerText(await response.text());
    if (response.status === 302 || response.status === 401 || response.status === 403) {
      const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
      const detail = typeof message === 'string' ? message : '';
      const local = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(this.target.url);
      const hint = local
        ? "local mode: run clawctl as the account that ran npm start, or point LOCAL_STATE_DIR at that run's state directory (its access.json)"
        : 'set CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET to a service token';
      throw new CliError(`not authorized at ${this.target.url} (${response.status}${detail ? `: ${detail}` : ''}); ${hint}`, EXIT.unauthorized);
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
export async function waitForStatus(
  client: ApiClient,
  check: (s: AgentStatus) => boolean,
  timeoutMs: number,
  onStatus?: (s: AgentStatus) => void,
): Promise<AgentStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.status();
    onStatus?.(s);
    if (check(s)) return s;
    if (s.state === 'stopped' && s.lastError && s.lastError.code !== 'container_exited')
      throw new CliError(`boot failed: ${s.lastError.code}: ${s.lastError.message}`);
    if (s.state === 'hibernated') throw new CliError(`hibernated: ${s.hibernation?.reason ?? 'no reason'} (clawctl resume)`, EXIT.hibernated);
    if (Date.now() > deadline) throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s (state ${s.state}${s.phase ? `, ${s.phase}` : ''})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
