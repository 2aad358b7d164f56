/**
 * The agent's browser in production: a CDP WebSocket passthrough kept by the
 * Agent Durable Object. OpenClaw's browser tool connects (from inside the
 * container, through the Container's outbound handler for BROWSER_CDP_HOST)
 * to `ws://<BROWSER_CDP_HOST>/devtools/browser/<secret>`; the DO checks the
 * per-boot secret, joins its one Browser Rendering session (acquired at the
 * first connection, kept across reconnects, closed when the assistant
 * sleeps, hibernates or stops) and pipes every frame unchanged both ways.
 * Concurrent connections share that session: one acquisition is in flight
 * at a time, every session acquired is recorded, metered (browser-hours, for
 * the cost guard) and closed, and at most `MAX_PIPES` connections are open
 * at once.
 */
import { errorMessage } from '../errors.ts';
import { UsageMeter, type MeterRecord } from '../cost/usage-meter.ts';
import type { BrowserSessions } from './browser-sessions.ts';

/** The host name OpenClaw's browser tool is given; only the container's outbound handler answers it. */
export const BROWSER_CDP_HOST = 'browser.ondemand.internal';
/** Where the outbound handler hands a connection to the Agent (the Worker refuses this path from outside). */
export const CDP_PATH_PREFIX = '/__ondemand-cdp/';
/** A session without a connection lives this long (Browser Rendering's maximum keep_alive is 10 minutes). */
export const SESSION_KEEP_ALIVE_MS = 10 * 60_000;
/** CDP connections open (or being opened) at once in a boot; one more is refused with 429. */
export const MAX_PIPES = 8;

export interface CdpRecord {
  /** SHA-256 (hex) of this boot's secret; null: no boot may connect. */
  secretHash: string | null;
  sessionId: string | null;
  openedAt: number | null;
  lastUsedAt: number | null;
  meter?: MeterRecord<'browser'>;
  /** Sessions opened and closed so far (for the status). */
  sessions: number;
}

export interface CdpStatus {
  mode: 'browser-rendering';
  session: { id: string; openedAt: string; lastUsedAt: string | null; connections: number } | null;
  sessionsOpened: number;
  /** Browser-hours this month (open session time, the open session included). */
  hoursThisMonth: number;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A secret from 32 random bytes, URL-safe. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Closes a WebSocket that may be closed already. */
function closeQuietly(socket: WebSocket | null, code: number, reason: string): void {
  try {
    socket?.close(code, reason);
  } catch {
    // already closed
  }
}

/** Constant-time comparison of two hex strings of the same length. */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export class CdpPassthrough {
  readonly #sessions: BrowserSessions;
  readonly #now: () => number;
  readonly #log: (event: string, fields: Record<string, unknown>) => void;
  readonly #onChange: () => void;
  readonly #record: CdpRecord;
  readonly #meter: UsageMeter<'browser'>;
  /** Open pipes (memory only: a restart of the DO ends them, as it ends their WebSockets). */
  readonly #pipes = new Set<{ close(reason: string): void }>();
  /** Connections accepted but not piped yet (they count against `MAX_PIPES`). */
  #connecting = 0;
  /** The session acquisition in flight (and the boot it began in), shared by every connection that waits for it. */
  #acquiring: { epoch: number; done: Promise<string | null> } | null = null;
  /** Bumped when a boot ends: work that began before finds it changed and undoes itself. */
  #epoch = 0;

  constructor(options: {
    sessions: BrowserSessions;
    now: () => number;
    log: (event: string, fields: Record<string, unknown>) => void;
    onChange: () => void;
    record?: CdpRecord;
  }) {
    this.#sessions = options.sessions;
    this.#now = options.now;
    this.#log = options.log;
    this.#onChange = options.onChange;
    this.#record = options.record ? structuredClone(options.record) : { secretHash: null, sessionId: null, openedAt: null, lastUsedAt: null, sessions: 0 };
    this.#meter = new UsageMeter<'browser'>(this.#record.meter);
  }

  /** A new boot's secret (only its hash is kept), and the CDP URL to give OpenClaw. */
  async newBootSecret(): Promise<{ secret: string; url: string }> {
    const secret = newSecret();
    this.#record.secretHash = await sha256(secret);
    this.#onChange();
    return { secret, url: `ws://${BROWSER_CDP_HOST}/devtools/browser/${secret}` };
  }

  /** Whether a request is a connection to the passthrough (by its path). */
  static matches(url: URL): boolean {
    return url.pathname.startsWith(CDP_PATH_PREFIX);
  }

  /**
   * Accepts one CDP WebSocket from the container. 401 without this boot's
   * secret, 426 without an upgrade, 429 when `MAX_PIPES` connections are
   * open or opening already, 409 when the boot ended while it connected,
   * 502 when no browser session can be had.
   */
  async accept(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('a CDP connection is a WebSocket upgrade', { status: 426 });
    const secret = new URL(request.url).pathname.slice(CDP_PATH_PREFIX.length).split('/')[0] ?? '';
    if (!this.#record.secretHash || !sameHex(await sha256(secret), this.#record.secretHash)) {
      this.#log('browser:refused', { reason: "not this boot's secret" });
      return new Response("not this boot's browser", { status: 401 });
    }
    if (this.#pipes.size + this.#connecting >= MAX_PIPES) {
      this.#log('browser:refused', { reason: 'too many connections', max: MAX_PIPES });
      return new Response(`too many browser connections: at most ${MAX_PIPES} at once`, { status: 429 });
    }
    const epoch = this.#epoch;
    this.#connecting += 1;
    let upstream: WebSocket | null;
    try {
      upstream = await this.#upstream(epoch);
    } finally {
      this.#connecting -= 1;
    }
    if (epoch !== this.#epoch) {
      closeQuietly(upstream, 1001, 'the boot ended');
      return new Response('the assistant stopped while the browser connected', { status: 409 });
    }
    if (!upstream) return new Response('no browser session could be opened', { status: 502 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.accept();
    this.#pipe(server, upstream);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A connection to the session's browser; the session is opened when there is none, replaced (once) when it is gone. */
  async #upstream(epoch: number): Promise<WebSocket | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = await this.#session(epoch);
      if (!id) return null;
      const socket = await this.#sessions.connect(id);
      if (socket) {
        this.#record.lastUsedAt = this.#now();
        this.#onChange();
        return socket;
      }
      // Gone (expired, ended by the provider) or unreachable: it ends here, metered and told to close, whichever connection saw it first.
      if (this.#record.sessionId === id) {
        this.#log('browser:session-gone', { session: id });
        await this.#retire(id, 'gone');
      }
    }
    return null;
  }

  /** This boot's session: the recorded one, or the one being acquired (one acquisition at a time, whoever asks); null when none can be had or the boot ended. */
  async #session(epoch: number): Promise<string | null> {
    for (;;) {
      if (epoch !== this.#epoch) return null;
      if (this.#record.sessionId) return this.#record.sessionId;
      if (!this.#acquiring) {
        const done = this.#acquire().finally(() => {
          this.#acquiring = null;
        });
        this.#acquiring = { epoch: this.#epoch, done };
      }
      const { epoch: startedIn, done } = this.#acquiring;
      const id = await done;
      // One acquired for a boot that has ended was closed on arrival: this boot's own comes next.
      if (id || startedIn === epoch) return id;
    }
  }

  /** Acquires a session and records it at once (metered from the request on); one that arrives after its boot ended is closed at once. */
  async #acquire(): Promise<string | null> {
    const epoch = this.#epoch;
    const now = this.#now();
    let id: string;
    try {
      id = await this.#sessions.acquire(SESSION_KEEP_ALIVE_MS);
    } catch (error) {
      this.#log('browser:session-failed', { message: errorMessage(error) });
      return null;
    }
    Object.assign(this.#record, { sessionId: id, openedAt: now, lastUsedAt: now, sessions: this.#record.sessions + 1 });
    this.#meter.start(now, 'browser');
    this.#onChange();
    this.#log('browser:session-opened', { session: id });
    if (epoch === this.#epoch) return id;
    await this.#retire(id, 'the boot ended while it opened');
    return null;
  }

  /** Ends a session: when it is the recorded one, the record says so at once (the status, the meter); the provider is told after. */
  async #retire(id: string, reason: string): Promise<void> {
    if (this.#record.sessionId === id) {
      this.#meter.stop(this.#now());
      Object.assign(this.#record, { sessionId: null, openedAt: null, lastUsedAt: null });
      this.#onChange();
    }
    try {
      await this.#sessions.close(id);
      this.#log('browser:session-closed', { session: id, reason });
    } catch (error) {
      this.#log('browser:close-failed', { session: id, reason, message: errorMessage(error) });
    }
  }

  /** Pipes frames unchanged both ways; either side closing closes the other. */
  #pipe(client: WebSocket, upstream: WebSocket): void {
    let open = true;
    const close = (code: number, reason: string) => {
      if (!open) return;
      open = false;
      this.#pipes.delete(handle);
      for (const socket of [client, upstream]) closeQuietly(socket, code, reason);
    };
    const handle = { close: (reason: string) => close(1001, reason) };
    this.#pipes.add(handle);
    const safeCode = (code: number) => (code === 1005 || code === 1006 || code < 1000 ? 1000 : code);
    client.addEventListener('message', (event) => {
      if (open) upstream.send(event.data as string | ArrayBuffer);
      this.#record.lastUsedAt = this.#now();
    });
    upstream.addEventListener('message', (event) => {
      if (open) client.send(event.data as string | ArrayBuffer);
    });
    client.addEventListener('close', (event) => close(safeCode(event.code), event.reason));
    upstream.addEventListener('close', (event) => close(safeCode(event.code), event.reason));
    client.addEventListener('error', () => close(1011, 'client error'));
    upstream.addEventListener('error', () => close(1011, 'browser error'));
  }

  /** Closes every pipe and the session (one being acquired too, once it arrives), and revokes the boot's secret (a sleep, a hibernation, a stop). */
  async close(reason: string): Promise<void> {
    this.#epoch += 1;
    for (const pipe of [...this.#pipes]) pipe.close(reason);
    this.#record.secretHash = null;
    if (this.#record.sessionId) await this.#retire(this.#record.sessionId, reason);
    else this.#onChange();
  }

  /** Browser-hours this month and in the last `hours`, for the cost guard. */
  meterReport(hours: number): { monthHours: number; recentHours: number } {
    const now = this.#now();
    return { monthHours: (this.#meter.totals(now).seconds.browser ?? 0) / 3600, recentHours: (this.#meter.recentSeconds(now, hours).browser ?? 0) / 3600 };
  }

  status(): CdpStatus {
    const r = this.#record;
    return {
      mode: 'browser-rendering',
      session:
        r.sessionId && r.openedAt !== null
          ? {
              id: r.sessionId,
              openedAt: new Date(r.openedAt).toISOString(),
              lastUsedAt: r.lastUsedAt === null ? null : new Date(r.lastUsedAt).toISOString(),
              connections: this.#pipes.size,
            }
          : null,
      sessionsOpened: r.sessions,
      hoursThisMonth: Math.round(((this.#meter.totals(this.#now()).seconds.browser ?? 0) / 3600) * 1000) / 1000,
    };
  }

  toJSON(): CdpRecord {
    return { ...structuredClone(this.#record), meter: this.#meter.toJSON() };
  }
}
