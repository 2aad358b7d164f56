/**
 * The twin's stand-in for the Browser Rendering binding: the same session
 * shape the Agent uses (`acquire`, `connectSession` → a Fetcher whose
 * WebSocket upgrade is the session's CDP, `closeSession`), served by Debian's
 * Chromium that the twin harness launches on this machine (CHROMIUM_URL). A
 * session is a browser context of its own (Target.createBrowserContext),
 * disposed at close, as Browser Rendering ends a session's browser. Used only
 * by the production twin, through its documented override of the `browser`
 * binding (test/production/twin/twin.ts).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';

interface Env {
  CHROMIUM_URL: string;
}

/** One CDP command on the browser's own WebSocket, then closed. */
async function browserCommand(env: Env, method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const version = (await (await fetch(`${env.CHROMIUM_URL}/json/version`)).json()) as { webSocketDebuggerUrl: string };
  const response = await fetch(version.webSocketDebuggerUrl.replace(/^ws:/, 'http:'), { headers: { Upgrade: 'websocket' } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`Chromium refused the DevTools WebSocket: HTTP ${response.status}`);
  socket.accept();
  try {
    return await new Promise((resolve, reject) => {
      socket.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        if (message.id !== 1) return;
        if (message.error) reject(new Error(message.error.message));
        else resolve(message.result ?? {});
      });
      socket.send(JSON.stringify({ id: 1, method, params }));
    });
  } finally {
    socket.close(1000, 'done');
  }
}

/** What `connectSession` hands out: the session's CDP WebSocket, behind a fetch. */
export class SessionSocket extends WorkerEntrypoint<Env, { sessionId: string }> {
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('a CDP session is a WebSocket', { status: 426 });
    const version = (await (await fetch(`${this.env.CHROMIUM_URL}/json/version`)).json()) as { webSocketDebuggerUrl: string };
    const upstream = await fetch(version.webSocketDebuggerUrl.replace(/^ws:/, 'http:'), { headers: { Upgrade: 'websocket' } });
    if (!upstream.webSocket) return new Response('Chromium refused the DevTools WebSocket', { status: 502 });
    return new Response(null, { status: 101, webSocket: upstream.webSocket });
  }
}

export class BrowserStandIn extends WorkerEntrypoint<Env> {
  async acquire(_options?: { keepAlive?: number }): Promise<{ sessionId: string }> {
    const result = await browserCommand(this.env, 'Target.createBrowserContext', { disposeOnDetach: false });
    return { sessionId: String(result.browserContextId) };
  }

  async connectSession(sessionId: string): Promise<{ sessionId: string; webSocket: Fetcher }> {
    const exports = (this.ctx as unknown as { exports: { SessionSocket(options: { props: { sessionId: string } }): Fetcher } }).exports;
    return { sessionId, webSocket: exports.SessionSocket({ props: { sessionId } }) };
  }

  async closeSession(sessionId: string): Promise<void> {
    await browserCommand(this.env, 'Target.disposeBrowserContext', { browserContextId: sessionId }).catch(() => undefined);
  }
}

export default {
  fetch: () => new Response("the twin's Browser Rendering stand-in: reached through the BROWSER binding only", { status: 404 }),
} satisfies ExportedHandler<Env>;
