/**
 * A local Chromium standing in for the Browser Rendering binding in workerd
 * tests: a session is a browser context of its own (Target.createBrowserContext),
 * joined over the browser's DevTools WebSocket as often as asked, and
 * disposed at close (its pages go with it), as Browser Rendering ends a
 * session's browser. Counts what it was asked, for the tests.
 */
import type { BrowserSessions } from '../../src/browser/browser-sessions.ts';

/** Opens the browser's DevTools WebSocket (accepted). */
export async function chromiumSocket(httpUrl: string): Promise<WebSocket> {
  const version = (await (await fetch(`${httpUrl}/json/version`)).json()) as { webSocketDebuggerUrl: string };
  const response = await fetch(version.webSocketDebuggerUrl.replace(/^ws:/, 'http:'), { headers: { Upgrade: 'websocket' } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`Chromium refused the DevTools WebSocket: HTTP ${response.status}`);
  socket.accept();
  return socket;
}

/** A CDP client over one WebSocket: commands with their replies, and the events seen. */
export class CdpClient {
  readonly events: Array<{ method: string; params: Record<string, unknown> }> = [];
  readonly frames: string[] = [];
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const text = typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      this.frames.push(text);
      const message = JSON.parse(text) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      if (message.id !== undefined) {
        const waiter = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result ?? {});
      } else if (message.method) this.events.push({ method: message.method, params: message.params ?? {} });
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener('close', (event) => {
        for (const waiter of this.#waiting.values()) waiter.reject(new Error(`closed: ${event.code} ${event.reason}`));
        resolve({ code: event.code, reason: event.reason });
      });
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close(1000, 'done');
  }
}

/** What the stand-in was asked. */
export interface ChromiumSessionStats {
  acquired: number;
  connected: number;
  closed: string[];
  keepAliveMs: number[];
}

export class LocalChromiumSessions implements BrowserSessions {
  readonly #live = new Map<string, WebSocket[]>();

  constructor(
    readonly httpUrl: string,
    readonly stats: ChromiumSessionStats = { acquired: 0, connected: 0, closed: [], keepAliveMs: [] },
  ) {}

  async #once<T>(work: (client: CdpClient) => Promise<T>): Promise<T> {
    const client = new CdpClient(await chromiumSocket(this.httpUrl));
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }

  async acquire(keepAliveMs: number): Promise<string> {
    const { browserContextId } = await this.#once((c) => c.send('Target.createBrowserContext', { disposeOnDetach: false }));
    this.stats.acquired += 1;
    this.stats.keepAliveMs.push(keepAliveMs);
    this.#live.set(String(browserContextId), []);
    return String(browserContextId);
  }

  async connect(sessionId: string): Promise<WebSocket | null> {
    const sockets = this.#live.get(sessionId);
    if (!sockets) return null;
    const socket = await chromiumSocket(this.httpUrl);
    sockets.push(socket);
    this.stats.connected += 1;
    return socket;
  }

  async close(sessionId: string): Promise<void> {
    const sockets = this.#live.get(sessionId);
    if (!sockets) return;
    this.#live.delete(sessionId);
    this.stats.closed.push(sessionId);
    await this.#once((c) => c.send('Target.disposeBrowserContext', { browserContextId: sessionId }));
    for (const socket of sockets) {
      try {
        socket.close(1000, 'session closed');
      } catch {
        // already closed
      }
    }
  }
}
