// A small stand-in for the OpenClaw gateway: answers /healthz, /startupz and /readyz,
// echoes HTTP requests as JSON and WebSocket messages back, and answers the
// admin RPC the Agent uses as an idle gateway with no scheduled jobs does
// (gateway.suspend.prepare → ready, cron.list → none). The local mode and the
// lifecycle tests run it through the same start script as OpenClaw.
//
// Environment: GATEWAY_PORT (required), ECHO_BOOT_DELAY_MS (wait before
// listening, to make the boot observable; default 0).
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.GATEWAY_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('echo-gateway: GATEWAY_PORT is not set');
  process.exit(2);
}
const bootDelayMs = Number(process.env.ECHO_BOOT_DELAY_MS ?? 0);

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  if (req.url === '/healthz' || req.url === '/startupz' || req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, pid: process.pid }));
    return;
  }
  if (req.method === 'POST' && req.url === '/api/v1/admin/rpc') {
    let call = {};
    try {
      call = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // answered below as an unknown method
    }
    const payloads = {
      'gateway.suspend.prepare': { status: 'ready', suspensionId: `echo-${process.pid}`, expiresAtMs: Date.now() + 120_000, activeCount: 0, blockers: [] },
      'gateway.suspend.resume': { ok: true, status: 'running', resumed: true },
      'cron.list': { jobs: [], total: 0, hasMore: false, nextOffset: null },
      'cron.runs': { entries: [], total: 0, hasMore: false },
      // No model sign-in stored (the shape OpenClaw answers with none).
      'models.authStatus': { ts: Date.now(), providers: [] },
    };
    const payload = payloads[call.method];
    res.writeHead(payload ? 200 : 400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        payload
          ? { id: call.id, ok: true, payload }
          : { id: call.id, ok: false, error: { code: 'INVALID_REQUEST', message: `the echo gateway does not answer ${call.method}` } },
      ),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      gateway: 'echo',
      pid: process.pid,
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    }),
  );
});

const wss = new WebSocketServer({ server });
wss.on('connection', (socket, req) => {
  socket.send(JSON.stringify({ gateway: 'echo', hello: req.url }));
  socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo:${data}`));
});

const shutdown = (signal) => {
  console.log(`echo-gateway: ${signal}, closing`);
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

setTimeout(() => {
  server.listen(port, '127.0.0.1', () => console.log(`echo-gateway: listening on 127.0.0.1:${port}`));
}, bootDelayMs);
