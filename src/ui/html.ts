/** Small helpers for the server-rendered pages. */
import { secure } from '../security-headers.ts';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** True when the request comes from a browser navigating (not an API client or a WebSocket). */
export function wantsHtml(request: Request): boolean {
  if (request.headers.get('upgrade')) return false;
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  return (request.headers.get('accept') ?? '').includes('text/html');
}

export function htmlResponse(body: string, status = 200, headers: HeadersInit = {}): Response {
  const h = secure(new Headers(headers), true);
  h.set('content-type', 'text/html; charset=utf-8');
  h.set('cache-control', 'no-store');
  return new Response(body, { status, headers: h });
}

export const PAGE_STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }
  main { max-width: 34rem; padding: 2rem 1.25rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
  .phase { font-size: 1.1rem; margin: 1rem 0; }
  .muted { opacity: .7; font-size: .9rem; }
  .error { border-left: 4px solid #c33; padding: .5rem .75rem; background: color-mix(in srgb, #c33 12%, Canvas); }
  ol { padding-left: 1.2rem; } li.done { opacity: .6; } li.current { font-weight: 600; }
  button { font: inherit; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid GrayText; cursor: pointer; }
  code { font-size: .9em; }
`;
