/**
 * Where the agent's browser comes from in production: Cloudflare Browser
 * Rendering through the Worker's `BROWSER` binding (raw CDP: a session is
 * acquired once, joined over a WebSocket as often as needed, and closed).
 * Narrowed to what the passthrough uses, so a test can stand a local
 * Chromium in for it.
 */

/** What the CDP passthrough needs from a browser provider. */
export interface BrowserSessions {
  /** Starts a browser session that lives `keepAliveMs` without a connection; its id. */
  acquire(keepAliveMs: number): Promise<string>;
  /** A CDP WebSocket to the session's browser (already accepted), or null when the session is gone. */
  connect(sessionId: string): Promise<WebSocket | null>;
  /** Ends the session (nothing happens when it is gone already). */
  close(sessionId: string): Promise<void>;
}

/** The Browser Rendering binding, as far as this project uses it (workers-types: BrowserRun). */
export interface BrowserRunBinding {
  acquire(options?: { keepAlive?: number }): Promise<{ sessionId: string }>;
  connectSession(sessionId: string): Promise<{ sessionId: string; webSocket: Fetcher }>;
  closeSession(sessionId: string): Promise<unknown>;
}

/** Browser Rendering sessions through the binding. */
export class BrowserRunSessions implements BrowserSessions {
  readonly #binding: BrowserRunBinding;

  constructor(binding: BrowserRunBinding) {
    this.#binding = binding;
  }

  async acquire(keepAliveMs: number): Promise<string> {
    return (await this.#binding.acquire({ keepAlive: keepAliveMs })).sessionId;
  }

  async connect(sessionId: string): Promise<WebSocket | null> {
    const connection = await this.#binding.connectSession(sessionId).catch(() => null);
    if (!connection) return null;
    const response = await connection.webSocket.fetch('https://browser.run/', { headers: { Upgrade: 'websocket' } });
    const socket = response.webSocket;
    if (!socket) return null;
    socket.accept();
    return socket;
  }

  async close(sessionId: string): Promise<void> {
    await this.#binding.closeSession(sessionId).catch(() => undefined);
  }
}
