// The production twin's networking sidecar: the part of Cloudflare's
// `proxy-everything` contract that workerd needs to reach a container under
// `wrangler dev`. workerd starts it (as MINIFLARE_CONTAINER_EGRESS_IMAGE) with
//   --http-egress-port N --http-ingress-address 0.0.0.0:39001 --docker-gateway-cidr C ...
// publishes the ingress port on the host and runs the app container in this
// container's network namespace. On the ingress address it answers:
//   CONNECT (header X-Dst-Addr: IP:port)  → a TCP tunnel to that address
//                                            (200, or 400 when nothing listens there)
//   GET /ca                                → the PEM of /ca/ca.crt
//   PUT /egress {port?, internet?, dns?}   → 204 (workerd's egress port and the names it intercepts)
//   PUT /twin/ingress {via: "IP:port"|null} → 204: the twin's own knob (it closes the open gateway tunnels). With `via`, a
//                                            tunnel to any port but the control server's
//                                            (3000) goes through that relay (it reads the
//                                            target port as the first line) instead of
//                                            loopback, so the gateway sees a non-loopback
//                                            source address of the twin's choosing
// Egress, the half of the contract the Workers outbound handlers
// (`outboundByHost`, `interceptHttps`) need: the names workerd lists in
// `dns.allowHostnames` resolve to this sidecar, which hands each connection
// to workerd's egress listener (`CONNECT` to the Docker gateway's address on
// the egress port, with `X-Hostname` for HTTP, `X-Tls-Sni` for HTTPS), so the
// Worker answers it:
// - DNS: the shared /etc/resolv.conf (the app container has this one) points
//   at 127.0.0.11, where a small resolver answers an allowed name with this
//   sidecar's bridge address and every other name NXDOMAIN at once (this
//   machine has no upstream resolver to ask);
// - HTTP: port 80 on every address; the request's Host header names the host;
// - HTTPS: port 443; the TLS is terminated here with a certificate for the
//   client's SNI name signed by this sidecar's CA (the one GET /ca serves,
//   which workerd writes into the app container when an HTTPS mapping exists)
//   and the plaintext goes through the tunnel, as workerd expects.
// The twin's internet: with internet enabled (PUT /egress), a name that no
// handler answers but that a test stands in for (a file /twin/internet/<name>
// holding `IP:port` of a plain-HTTP server) resolves here too, and its HTTP
// and HTTPS (terminated the same way) go to that server: the recorded
// provider, sign-in or chat API behind its real hostname.
// Connections to addresses no name resolved to are not intercepted: the
// container reaches them through Docker's bridge as any container does.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';

const forge = createRequire(import.meta.url)('node-forge');

const MAX_HEADER_BYTES = 64 * 1024;
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ingress = flag('--http-ingress-address') ?? '0.0.0.0:39001';
const [ingressHost, ingressPort] = [ingress.slice(0, ingress.lastIndexOf(':')), Number(ingress.slice(ingress.lastIndexOf(':') + 1))];
const egress = { port: Number(flag('--http-egress-port') ?? 0), allowHostnames: [], internet: true };
/** The Docker gateway (the first address of --docker-gateway-cidr), where workerd's egress listener is. */
const gatewayCidr = flag('--docker-gateway-cidr') ?? '172.17.0.0/16';
const dockerGateway = gatewayCidr.split('/')[0].replace(/\.0$/, '.1');
/** This sidecar's (and so the app container's) bridge address: what an allowed name resolves to. */
const ownAddress =
  Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
/**
 * Where a stood-in or intercepted name resolves: a public unicast address on
 * this network namespace's loopback (the app container shares it), as a real
 * provider's name resolves to its public address and the platform intercepts
 * the connection by name. Clients that refuse private addresses (OpenClaw's
 * SSRF guard, for its sign-in requests and its model calls) then connect as
 * they would on the internet; the egress listeners route by name either way. 192.52.193.0/24 is AMT's anycast block, which
 * nothing here serves. Needs NET_ADMIN (workerd gives its sidecar that) and
 * the image's static busybox; without them every name resolves to ownAddress.
 */
const STANDIN_ADDRESS = '192.52.193.7';
const standInAddress = (() => {
  try {
    execFileSync('/sidecar/busybox', ['ip', 'addr', 'add', `${STANDIN_ADDRESS}/32`, 'dev', 'lo'], { stdio: 'pipe' });
    return STANDIN_ADDRESS;
  } catch (error) {
    if (/File exists/.test(String(error.stderr ?? ''))) return STANDIN_ADDRESS;
    console.log(`ingress-sidecar: names resolve to ${ownAddress}: cannot add ${STANDIN_ADDRESS} (${String(error.stderr ?? error.message).trim()})`);
    return ownAddress;
  }
})();
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

/** Open ingress tunnels to ports other than the control server's: a change of route (PUT /twin/ingress) closes them. */
const routedTunnels = new Set();

function tunnel(client, head, target) {
  const relay = ingressRoute.via && target.port !== CONTROL_SERVER_PORT ? ingressRoute.via : null;
  const origin = net.connect({ host: relay ? relay.host : target.host, port: relay ? relay.port : target.port, allowHalfOpen: true });
  if (relay) origin.write(`${target.port}\n`);
  if (target.port !== CONTROL_SERVER_PORT) {
    const pair = { client, origin };
    routedTunnels.add(pair);
    client.once('close', () => routedTunnels.delete(pair));
  }
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
  client.resume();
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
        // workerd keeps its connections to the container and reuses them: close the open ones, so that
        // every later request to the gateway takes the new route.
        for (const { client: c, origin: o } of routedTunnels) {
          c.destroy();
          o.destroy();
        }
        log(`ingress ${ingressRoute.via ? `through the relay ${update.via}` : 'on loopback'} (${routedTunnels.size} open tunnels closed)`);
        routedTunnels.clear();
        return reply(client, 204, 'No Content');
      }
      if (!update || typeof update !== 'object') return reply(client, 400, 'Bad Request');
      if (update.port !== undefined) egress.port = update.port;
      if (Array.isArray(update.dns?.allowHostnames)) egress.allowHostnames = update.dns.allowHostnames.map(String);
      if (typeof update.internet?.enabled === 'boolean') egress.internet = update.internet.enabled;
      log(`egress configuration ${JSON.stringify(update)}`);
      return reply(client, 204, 'No Content');
    });
  }
  return reply(client, 405, 'Method Not Allowed');
}

/** Whether workerd intercepts `host` (its allowHostnames entries are names or `*.suffix` patterns). */
function allowed(host) {
  const name = host.toLowerCase().replace(/\.$/, '');
  return egress.allowHostnames.some((pattern) => {
    const p = pattern.toLowerCase();
    return p === name || (p.startsWith('*.') && name.endsWith(p.slice(1)));
  });
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;
const STAND_INS = '/twin/internet';

/** The `IP:port` of the server a test stands in for `host` with (only while the container has internet), or null. */
function standIn(host) {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!egress.internet || !HOSTNAME.test(name)) return null;
  try {
    return parseTarget(readFileSync(`${STAND_INS}/${name}`, 'utf8').trim());
  } catch {
    return null;
  }
}

// ---- DNS: intercepted and stood-in names → this sidecar (stood-in ones at standInAddress); everything else NXDOMAIN ----

/** The question of a DNS query: its id, name and type, or null when it is not one. */
function parseQuery(packet) {
  if (packet.length < 12 || (packet[2] & 0x80) !== 0 || packet.readUInt16BE(4) !== 1) return null;
  const labels = [];
  let at = 12;
  while (at < packet.length && packet[at] !== 0) {
    const length = packet[at];
    if (length > 63 || at + 1 + length > packet.length) return null;
    labels.push(packet.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  if (at + 5 > packet.length) return null;
  return { id: packet.readUInt16BE(0), name: labels.join('.'), type: packet.readUInt16BE(at + 1), questionEnd: at + 5 };
}

function answerQuery(packet) {
  const q = parseQuery(packet);
  if (!q) return null;
  const intercepted = allowed(q.name);
  const known = intercepted || standIn(q.name) !== null;
  const withAddress = known && q.type === 1;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // a response, recursion available; NXDOMAIN for unknown names
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(withAddress ? 1 : 0, 6);
  const question = packet.subarray(12, q.questionEnd);
  if (!withAddress) return Buffer.concat([header, question]);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(1, 2); // A
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(5, 6); // TTL 5 s
  answer.writeUInt16BE(4, 10);
  for (const [i, octet] of standInAddress.split('.').entries()) answer.writeUInt8(Number(octet), 12 + i);
  return Buffer.concat([header, question, answer]);
}

const RESOLVER = '127.0.0.11';
const dns = dgram.createSocket('udp4');
dns.on('message', (packet, peer) => {
  const reply = answerQuery(packet);
  if (reply) dns.send(reply, peer.port, peer.address);
});
dns.bind(53, RESOLVER, () => {
  try {
    // In place (the same file, bind-mounted into the app container too).
    writeFileSync('/etc/resolv.conf', `nameserver ${RESOLVER}\noptions ndots:0 timeout:1 attempts:1\n`);
    log(`DNS on ${RESOLVER}: intercepted and stood-in names resolve to ${standInAddress}`);
  } catch (error) {
    log(`cannot point /etc/resolv.conf at ${RESOLVER}: ${error.message}`);
  }
});

// ---- HTTP and HTTPS egress: to workerd's egress listener, or to a stand-in ----

/**
 * Hands `client` (its first bytes `head` already read) to workerd's egress
 * listener as a connection to `host` (`header`: X-Hostname for HTTP,
 * X-Tls-Sni for HTTPS, whose plaintext `client` then carries); a refusal
 * resets the client.
 */
function toWorkerd(client, head, host, header, port) {
  const upstream = net.connect({ host: dockerGateway, port: egress.port, allowHalfOpen: true }, () => {
    upstream.write(
      `CONNECT ${ownAddress}:${port} HTTP/1.1\r\nHost: ${ownAddress}:${port}\r\n${header}: ${host}\r\nX-Proto: tcp\r\nX-Forwarded-For: ${client.remoteAddress}\r\n\r\n`,
    );
  });
  let answer = Buffer.alloc(0);
  const onAnswer = (chunk) => {
    answer = Buffer.concat([answer, chunk]);
    const done = answer.indexOf('\r\n\r\n');
    if (done < 0) return;
    upstream.off('data', onAnswer);
    const status = Number(answer.subarray(0, done).toString('latin1').split(' ')[1]);
    if (status !== 200 && status !== 202) {
      log(`egress ${host}:${port}: workerd answered ${status}`);
      client.destroy();
      upstream.destroy();
      return;
    }
    splice(client, upstream, head, answer.subarray(done + 4));
  };
  upstream.on('data', onAnswer);
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}

/** Hands `client` to the stand-in server at `target` (plain HTTP, whatever `client` came in as). */
function toStandIn(client, head, host, target) {
  const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true }, () => splice(client, upstream, head, Buffer.alloc(0)));
  upstream.on('error', (error) => {
    log(`stand-in for ${host} at ${target.host}:${target.port}: ${error.message}`);
    client.destroy();
  });
  client.on('error', () => upstream.destroy());
}

function splice(client, upstream, head, early) {
  if (head.length) upstream.write(head);
  if (early.length) client.write(early);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}

/** Where a connection for `host` goes: workerd when a handler intercepts it, else its stand-in; false: nowhere. */
function route(client, head, host, header, port) {
  if (allowed(host)) return toWorkerd(client, head, host, header, port);
  const target = standIn(host);
  if (target) return toStandIn(client, head, host, target);
  log(`egress ${host}:${port}: no handler and no stand-in`);
  client.destroy();
}

const egressServer = net.createServer({ allowHalfOpen: true }, (client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEADER_BYTES) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const host = /\r\nhost:\s*([^\r\n:]+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1]?.trim() ?? '';
    route(client, head, host, 'X-Hostname', 80);
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
egressServer.listen(80, '0.0.0.0', () => log(`HTTP egress on :80 → workerd at ${dockerGateway}:${egress.port}`));

// HTTPS: one key for every leaf certificate, a certificate per SNI name (signed by the CA GET /ca serves).
const caPem = readFileSync('/ca/ca.crt', 'utf8');
const ca = { cert: forge.pki.certificateFromPem(caPem), key: forge.pki.privateKeyFromPem(readFileSync('/ca/ca.key', 'utf8')) };
const leafKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const contexts = new Map();
const MAX_CONTEXTS = 256;

function certificateFor(name) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(leafKey.publicKey);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: name }]);
  cert.setIssuer(ca.cert.subject.attributes);
  const caKeyId = ca.cert.getExtension('subjectKeyIdentifier')?.subjectKeyIdentifier;
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
    ...(caKeyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(caKeyId) }] : []),
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return `${forge.pki.certificateToPem(cert)}${caPem}`;
}

function contextFor(servername) {
  const name = String(servername ?? '').toLowerCase();
  if (!HOSTNAME.test(name)) return null;
  let context = contexts.get(name);
  if (!context) {
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value);
    context = tls.createSecureContext({ key: leafKey.privateKey, cert: certificateFor(name) });
    contexts.set(name, context);
  }
  return context;
}

const httpsServer = tls.createServer(
  {
    allowHalfOpen: true,
    SNICallback: (servername, done) => {
      const context = contextFor(servername);
      if (context) done(null, context);
      else done(new Error(`no certificate for ${servername}`));
    },
  },
  (client) => {
    client.pause();
    route(client, Buffer.alloc(0), client.servername ?? '', 'X-Tls-Sni', 443);
  },
);
httpsServer.on('tlsClientError', (error) => log(`TLS from the container: ${error.message}`));
httpsServer.listen(443, '0.0.0.0', () => log('HTTPS egress on :443 (TLS terminated with the CA GET /ca serves)'));

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
    // Paused until whoever reads on takes it (a tunnel's pipe once its origin connects, readJson's listener):
    // a flowing socket without a reader would drop what arrives meanwhile.
    client.pause();
    handle(client, buffered.subarray(0, end).toString('latin1'), buffered.subarray(end + 4));
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
server.listen(ingressPort, ingressHost, () => log(`listening on ${ingressHost}:${ingressPort} (egress port ${egress.port}, not intercepted)`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
