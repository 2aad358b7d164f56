// What another Unix account on the machine can get from a running local mode.
// Run as that account (test/support/other-account.ts: setpriv), it reads a
// JSON list of probes on stdin and prints one JSON result per probe:
//
//   { op: 'fetch', url, method?, headers?, body? }   → { status, headers, setCookie, body } | { error }
//   { op: 'websocket', url }                          → { opened, message?, error? }
//   { op: 'inspector', ports, expression }           → [{ port, targets, value? }] for every port that
//                                                       answers as a V8 inspector (and what it evaluated)
//   { op: 'read', paths }                             → { readable: [...], listable: [...] }
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';

/** One HTTP request (node:http, so that any Host header goes as given). */
function probeFetch({ url, method = 'GET', headers = {}, body, limit = 4000 }) {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method, headers, timeout: 8000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c.toString()));
      res.on('end', () => {
        const { 'set-cookie': setCookie = [], ...rest } = res.headers;
        resolve({ status: res.statusCode, headers: rest, setCookie, body: text.slice(0, limit) });
      });
      res.on('error', (error) => resolve({ error: String(error.code ?? error.message) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ error: String(error.code ?? error.message) }));
    req.end(body);
  });
}

function probeWebSocket({ url }) {
  return new Promise((resolve) => {
    let ws;
    const done = (result) => {
      clearTimeout(timer);
      try {
        ws?.close();
      } catch {}
      resolve(result);
    };
    const timer = setTimeout(() => done({ opened: false, error: 'timeout' }), 8000);
    try {
      ws = new WebSocket(url);
    } catch (error) {
      return done({ opened: false, error: String(error.message) });
    }
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      setTimeout(() => done({ opened: true }), 1000);
    });
    ws.addEventListener('message', (event) => done({ opened: true, message: String(event.data).slice(0, 500) }));
    ws.addEventListener('error', () => {
      if (!opened) done({ opened: false, error: 'refused' });
    });
    ws.addEventListener('close', (event) => {
      if (!opened) done({ opened: false, error: `closed ${event.code}` });
    });
  });
}

/**
 * Evaluates `expression` in an inspector target (the Chrome DevTools protocol over WebSocket, with
 * an Origin that wrangler's devtools proxy accepts): Runtime.enable, then Runtime.evaluate in the
 * first execution context it reports.
 */
async function evaluate(wsUrl, expression) {
  return new Promise((resolve) => {
    let ws;
    const done = (result) => {
      clearTimeout(timer);
      try {
        ws?.close();
      } catch {}
      resolve(result);
    };
    const timer = setTimeout(() => done({ error: 'timeout' }), 15_000);
    try {
      ws = new WebSocket(wsUrl, { headers: { origin: 'http://localhost' } });
    } catch (error) {
      return done({ error: String(error.message) });
    }
    let asked = false;
    const ask = (contextId) => {
      if (asked) return;
      asked = true;
      ws.send(JSON.stringify({ id: 2, method: 'Runtime.evaluate', params: { expression, returnByValue: true, ...(contextId ? { contextId } : {}) } }));
    };
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ id: 1, method: 'Runtime.enable' }));
      setTimeout(() => ask(null), 2000);
    });
    ws.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.method === 'Runtime.executionContextCreated') ask(message.params?.context?.id);
      if (message.id === 2) done({ value: message.result?.result?.value ?? null, error: message.error?.message ?? null });
    });
    ws.addEventListener('error', () => done({ error: 'websocket error' }));
  });
}

async function probeInspector({ ports, expression }) {
  const found = [];
  for (const port of ports) {
    for (const path of ['/json/list', '/json']) {
      const r = await probeFetch({ url: `http://127.0.0.1:${port}${path}`, limit: 1_000_000 });
      let targets;
      try {
        targets = JSON.parse(r.body ?? '');
      } catch {
        continue;
      }
      if (!Array.isArray(targets)) continue;
      const entry = { port, targets: targets.length, values: [] };
      // The Worker's own isolate where the port lists it (workerd's `core:user:<name>`), else every target.
      const users = targets.filter((t) => String(t.id ?? '').startsWith('core:user:') && !String(t.id).includes('miniflare'));
      for (const target of users.length ? users : targets) {
        const wsUrl = target.webSocketDebuggerUrl ?? (target.id ? `ws://127.0.0.1:${port}/${target.id}` : null);
        if (wsUrl) entry.values.push(await evaluate(wsUrl, expression));
      }
      found.push(entry);
      break;
    }
  }
  return found;
}

function probeRead({ paths }) {
  const readable = [];
  const listable = [];
  for (const path of paths) {
    try {
      readdirSync(path);
      listable.push(path);
      continue;
    } catch (error) {
      if (error.code !== 'ENOTDIR') continue;
    }
    try {
      readFileSync(path);
      readable.push(path);
    } catch {
      // refused: what we want
    }
  }
  return { readable, listable };
}

const probes = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const probe of probes) {
  if (probe.op === 'fetch') results.push(await probeFetch(probe));
  else if (probe.op === 'websocket') results.push(await probeWebSocket(probe));
  else if (probe.op === 'inspector') results.push(await probeInspector(probe));
  else if (probe.op === 'read') results.push(probeRead(probe));
  else results.push({ error: `unknown probe ${probe.op}` });
}
process.stdout.write(JSON.stringify({ uid: process.getuid(), results }), () => process.exit(0));
