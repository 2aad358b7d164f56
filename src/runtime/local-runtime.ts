/**
 * Runtime of the local mode: the local dev host (container/host) runs the
 * container start script on this machine, on loopback. This class speaks its
 * small control API and reaches the gateway directly on the port it reports.
 */
import { boundedText } from '../contract/untrusted-input.ts';
import { MAX_LOGIN_LOG_BYTES } from '../contract/model-login.ts';
import { errorMessage } from '../errors.ts';
import { proxyHeaderName } from '../contract/local-host.ts';
import {
  RuntimeError,
  type RestoreSource,
  type Runtime,
  type RuntimeArchive,
  type RuntimeProbe,
  type RuntimeStartOptions,
  type RuntimeStopReport,
} from './runtime.ts';
import { isRuntimeErrorCode, type RuntimeErrorCode } from '../contract/error-codes.ts';

type Fetcher = (input: Request | string, init?: RequestInit) => Promise<Response>;

/** The local host's answer about one agent (see container/host/agent-supervisor.ts). */
export interface LocalAgentReport {
  probe: RuntimeProbe;
  port: number | null;
  /** The gateway's Telegram listener's port (when a bot is connected). */
  listenerPort?: number | null;
}

export class LocalRuntime implements Runtime {
  readonly #hostUrl: string;
  readonly #agentId: string;
  readonly #token: string;
  readonly #fetch: Fetcher;
  readonly #proxyHeader: Promise<string>;
  #port: number | null = null;
  #listenerPort: number | null = null;

  /** `token`: the run's secret for the local host (LOCAL_HOST_TOKEN), which also names the gateway's proxy header. */
  constructor(hostUrl: string, agentId: string, token: string, fetcher: Fetcher = (input, init) => fetch(input, init)) {
    this.#hostUrl = hostUrl.replace(/\/+$/, '');
    this.#agentId = agentId;
    this.#token = token;
    this.#fetch = fetcher;
    this.#proxyHeader = proxyHeaderName(token);
  }

  /** A call to the local host, with the run's bearer token (never sent to the gateway). */
  #hostFetch(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.#token}`);
    return this.#fetch(url, { ...init, headers });
  }

  /** The local host runs the start script on this machine: nothing to start first. */
  async provision(): Promise<void> {}

  async start(options: RuntimeStartOptions): Promise<void> {
    const report = await this.#call('POST', 'start', { attempt: options.attempt, env: options.env });
    this.#port = report.port;
  }

  async probe(): Promise<RuntimeProbe> {
    let report: LocalAgentReport;
    try {
      report = await this.#call('GET', '');
    } catch (error) {
      return { status: 'stopped', exitCode: null, reason: errorMessage(error, 'local host unreachable') };
    }
    this.#port = report.port;
    this.#listenerPort = report.listenerPort ?? null;
    return report.probe;
  }

  async fetch(request: Request): Promise<Response> {
    if (this.#port === null) await this.probe();
    if (this.#port === null) throw new RuntimeError('runtime_unreachable', 'the local runtime has no gateway port');
    const url = new URL(request.url);
    const target = `http://127.0.0.1:${this.#port}${url.pathname}${url.search}`;
    const headers = new Headers(request.headers);
    headers.set(await this.#proxyHeader, '1');
    try {
      return await this.#fetch(new Request(target, new Request(request, { headers })));
    } catch (error) {
      throw new RuntimeError('runtime_unreachable', `gateway did not answer: ${errorMessage(error)}`);
    }
  }

  /** The gateway's Telegram listener, on the port the local host gave it (with the proxy header, as every request from the Worker). */
  async fetchListener(_channel: 'telegram', request: Request): Promise<Response> {
    if (this.#listenerPort === null) await this.probe();
    if (this.#listenerPort === null) throw new RuntimeError('runtime_unreachable', 'the local gateway has no Telegram listener');
    const url = new URL(request.url);
    try {
      return await this.#fetch(new Request(`http://127.0.0.1:${this.#listenerPort}${url.pathname}${url.search}`, request));
    } catch (error) {
      throw new RuntimeError('runtime_unreachable', `the Telegram listener did not answer: ${errorMessage(error)}`);
    }
  }

  /** The local host stops the runtime (SIGTERM to the gateway, SIGKILL to its process group after its grace time); the home stays for the backup. */
  async drain(): Promise<RuntimeStopReport | null> {
    const started = Date.now();
    const report = await this.#call('POST', 'stop', { reason: 'drain before a stop' });
    this.#port = null;
    const exitCode = report.probe.status === 'stopped' ? report.probe.exitCode : null;
    return { drained: exitCode === 0, gatewayExitCode: exitCode, drainMs: Date.now() - started };
  }

  async stop(reason: string): Promise<void> {
    await this.#call('POST', 'stop', { reason });
    this.#port = null;
  }

  async backup(previousFingerprint: string | null): Promise<RuntimeArchive | null> {
    return this.#archive('backup', previousFingerprint);
  }

  /** The local host keeps the home until the next prepare: what it holds beyond the newest backup is saved first. */
  async recover(newest: { fingerprint: string; atMs: number } | null): Promise<RuntimeArchive | null> {
    return this.#archive(`backup?newerThan=${newest?.atMs ?? 0}`, newest?.fingerprint ?? null);
  }

  async changeStamp(): Promise<string | null> {
    const response = await this.#send('stamp', { method: 'GET' });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    return ((await response.json()) as { stamp: string }).stamp;
  }

  async modelLogin(action: 'start' | 'cancel' | 'read'): Promise<string | null> {
    const response = await this.#send(
      'login',
      action === 'read' ? { method: 'GET' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action }) },
    );
    if (response.status === 204) return null;
    const body = await boundedText(response.body, MAX_LOGIN_LOG_BYTES + 1024).catch(() => '');
    if (!response.ok) throw new RuntimeError('host_error', `local host answered ${response.status} to the sign-in: ${body.slice(0, 300)}`);
    return body;
  }

  async #archive(action: string, previousFingerprint: string | null): Promise<RuntimeArchive | null> {
    const response = await this.#send(action, { method: 'POST', headers: previousFingerprint ? { 'if-none-match': `"${previousFingerprint}"` } : {} });
    if (response.status === 304 || response.status === 204) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw new RuntimeError('backup_failed', `local host answered ${response.status} to backup: ${(await response.text()).slice(0, 300)}`);
    const header = (name: string) => response.headers.get(name) ?? '';
    return {
      fingerprint: header('x-backup-fingerprint'),
      sha256: header('x-backup-sha256'),
      size: Number(header('content-length')),
      files: Number(header('x-backup-files')),
      body: response.body,
    };
  }

  async prepare(source: RestoreSource | null): Promise<void> {
    const response = await this.#send('prepare', {
      method: 'POST',
      headers: source ? { 'x-backup-sha256': source.sha256, 'content-type': 'application/gzip' } : {},
      body: source?.body ?? null,
    });
    const text = await response.text();
    if (response.ok) return;
    let code: RuntimeErrorCode = 'restore_failed';
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (isRuntimeErrorCode(parsed.error?.code)) code = parsed.error.code;
      message = parsed.error?.message ?? message;
    } catch {
      // not JSON
    }
    throw new RuntimeError(code, message);
  }

  async #send(action: string, init: RequestInit): Promise<Response> {
    const url = `${this.#hostUrl}/agents/${encodeURIComponent(this.#agentId)}/${action}`;
    try {
      return await this.#hostFetch(url, init);
    } catch (error) {
      throw new RuntimeError('host_unreachable', `local host at ${this.#hostUrl} is unreachable: ${errorMessage(error)}`);
    }
  }

  async #call(method: 'GET' | 'POST', action: string, body?: unknown): Promise<LocalAgentReport> {
    const url = `${this.#hostUrl}/agents/${encodeURIComponent(this.#agentId)}${action ? `/${action}` : ''}`;
    let response: Response;
    try {
      response = await this.#hostFetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (error) {
      throw new RuntimeError('host_unreachable', `local host at ${this.#hostUrl} is unreachable (is \`npm start\` running?): ${errorMessage(error)}`);
    }
    const text = await response.text();
    if (!response.ok) throw new RuntimeError('host_error', `local host answered ${response.status} to ${method} ${action || 'status'}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as LocalAgentReport;
  }
}
