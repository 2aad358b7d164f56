// The production twin's networking sidecar: the part of Cloudflare's
// `proxy-everything` contract that workerd needs to reach a container under
// `wrangler dev`. workerd starts it (as MINIFLARE_CONTAINER_EGRESS_IMAGE) with
//   --http-egress-port N --http-ingress-address 0.0.0.0:39001 --docker-gateway-cidr C ...
// publishes the ingress port on the host and runs the app container in this
// container's network namespace. On the ingress address it answers:
//   CONNECT (header X-Dst-Addr: IP:port)  → a TCP tunnel to that address
//                                            (200, or 400 when nothing listens there)
//   GET /ca                                → the PEM of /ca/ca.crt
//   PUT /egress {port?, internet?, dns?}   → 204 (recorded, nothing intercepted)
//   PUT /twin/ingress {via: "IP:port"|null} → 204: the twin's own knob. With `via`, a
//                                            tunnel to any port but the control server's
//                                            (3000) goes through that relay (it reads the
//                                            target port as the first line) instead of
//                                            loopback, so the gateway sees a non-loopback
//                                            source address of the twin's choosing
// Egress is not intercepted: the container reaches the network through
// Docker's bridge as any container does. That leaves out Workers outbound
// handlers for containers, which this project does not use.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const MAX_HEADER_BYTES = 64 * 1024;
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ingress = flag('--http-ingress-address') ?? '0.0.0.0:39001';
const [ingressHost, ingressPort] = [ingress.slice(0, ingress.lastIndexOf(':')), Number(ingress.slice(ingress.lastIndexOf(':') + 1))];
const egress = { port: Number(flag('--http-egress-port') ?? 0) };
/** The twin's ingress relay (PUT /twin/ingress), or null: loopback, as workerd's own sidecar does. */
const ingressRoute = { via: null };
const CONTROL_SERVER_PORT = 3000;

function log(message) {
  console.log(`${new Date().toISOString()} ingress-sidecar: ${message}`);
}

function reply(socket, status, text, body = '', type = 'text/plain') {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Splits `host:port` / `[v6]:port` and checks that the host is an IP address. */
function parseTarget(value) {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value ?? '');
  if (!match || net.isIP(match[1]) === 0) return null;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1], port } : null;
}

function tunnel(client, head, target) {
  const relay = ingressRoute.via && target.port !== CONTROL_SERVER_PORT ? ingressRoute.via : null;
  const origin = net.connect({ host: relay ? relay.host : target.host, port: relay ? relay.port : target.port, allowHalfOpen: true });
  if (relay) origin.write(`${target.port}\n`);
  origin.once('error', () => {
    if (!client.writableEnded && client.bytesWritten === 0) reply(client, 400, 'Bad Request', `nothing listens on ${target.host}:${target.port}\n`);
    else client.destroy();
  });
  origin.once('connect', () => {
    client.write('HTTP/1.1 200 OK\r\n\r\n');
    if (head.length) origin.write(head);
    client.pipe(origin);
    origin.pipe(client);
    client.once('error', () => origin.destroy());
    origin.removeAllListeners('error');
    origin.once('error', () => client.destroy());
  });
}

/** Reads a JSON body of `length` bytes (some already in `rest`) and hands it to `use`; 400 when it is not JSON. */
function readJson(client, rest, length, use) {
  let body = rest;
  const finish = () => {
    let value;
    try {
      value = JSON.parse(body.toString('utf8') || 'null');
    } catch {
      return reply(client, 400, 'Bad Request');
    }
    return use(value);
  };
  if (body.length >= length) return finish();
  client.on('data', (chunk) => {
    body = Buffer.concat([body, chunk]);
    if (body.length >= length) finish();
  });
}

function handle(client, request, rest) {
  const [line, ...headerLines] = request.split('\r\n');
  const [method, path] = line.split(' ');
  const headers = new Map(headerLines.filter(Boolean).map((h) => [h.slice(0, h.indexOf(':')).trim().toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]));
  if (method === 'CONNECT') {
    const target = parseTarget(headers.get('x-dst-addr'));
    if (!target) return reply(client, 400, 'Bad Request', 'X-Dst-Addr must be IP:port\n');
    return tunnel(client, rest, target);
  }
  if (method === 'GET' && path === '/ca') {
    try {
      return reply(client, 200, 'OK', readFileSync('/ca/ca.crt', 'utf8'), 'application/x-pem-file');
    } catch {
      return reply(client, 404, 'Not Found');
    }
  }
  if (method === 'PUT' && (path === '/egress' || path === '/twin/ingress')) {
    return readJson(client, rest, Number(headers.get('content-length') ?? 0), (update) => {
      if (path === '/twin/ingress') {
        ingressRoute.via = update?.via ? parseTarget(update.via) : null;
        log(`ingress ${ingressRoute.via ? `through the relay ${update.via}` : 'on loopback'}`);
        return reply(client, 204, 'No Content');
      }
      if (!update || typeof update !== 'object') return reply(client, 400, 'Bad Request');
      if (update.port !== undefined) egress.port = update.port;
      log(`egress configuration ${JSON.stringify(update)}`);
      return reply(client, 204, 'No Content');
    });
  }
  return reply(client, 405, 'Method Not Allowed');
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  let buffered = Buffer.alloc(0);
  const onData = (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > MAX_HEADER_BYTES) reply(client, 431, 'Request Header Fields Too Large');
      return;
    }
    client.off('data', onData);
    client.pause();
    handle(client, buffered.subarray(0, end).toString('latin1'), buffered.subarray(end + 4));
    client.resume();
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
server.listen(ingressPort, ingressHost, () => log(`listening on ${ingressHost}:${ingressPort} (egress port ${egress.port}, not intercepted)`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
