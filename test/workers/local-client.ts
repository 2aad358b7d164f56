/** Requests to the Worker under test as the local mode's owner (a loopback client), for the workerd tests. */
import { exports } from 'cloudflare:workers';

const BASE = 'https://poc.example.com';

/** A request from a loopback client (the local mode's only allowed callers); API commands are JSON unless the test sets another type. */
export function callLocal(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('cf-connecting-ip', '127.0.0.1');
  if (init.method && init.method !== 'GET' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return (exports as unknown as { default: Fetcher }).default.fetch(`${BASE}${path}`, { ...init, headers });
}
