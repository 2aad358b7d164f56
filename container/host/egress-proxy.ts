/**
 * The local mode's outbound handler: the HTTP(S) proxy the local gateway and
 * everything it runs (`gh`, `git`, curl) use (HTTPS_PROXY; not OpenClaw's
 * OPENCLAW_PROXY_URL, whose SIGTERM handler exits 143 before the gateway's
 * own clean stop), on loopback. For the hosts the Worker holds credentials for (EGRESS_HOSTS)
 * it terminates TLS with a CA made for this run (which the gateway's
 * environment trusts: NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, GIT_SSL_CAINFO,
 * CURL_CA_BUNDLE), as the Containers platform does in production, and hands
 * each request to the Worker's egress route (EGRESS_URL), where the same
 * code as production's adds the real credential, scopes GitHub and meters
 * model calls. Every other host gets a plain tunnel: nothing is read there.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import forge from 'node-forge';

/** The system's CA bundle (Debian's path), which the run's bundle extends. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
/** Hop-by-hop headers, never forwarded. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const MAX_CONTEXTS = 64;

export interface EgressProxy {
  url: string;
  /** The environment the gateway gets: the proxy and the run CA's trust. */
  env: Record<string, string>;
  /** Requests handed to the Worker (host and path), newest last: for the log and the tests. */
  handed: Array<{ host: string; method: string; path: string; status: number }>;
  close(): Promise<void>;
}

interface RunCa {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  pem: string;
}

function makeCa(): RunCa {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const subject = [{ name: 'commonName', value: 'openclaw-ondemand local egress CA' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const key = forge.pki.privateKeyFromPem(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  cert.sign(key, forge.md.sha256.create());
  return { cert, key, pem: forge.pki.certificateToPem(cert) };
}

function leafFor(ca: RunCa, leafKey: { publicPem: string; privatePem: string }, name: string): SecureContext {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(leafKey.publicPem);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: name }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return createSecureContext({ key: leafKey.privatePem, cert: `${forge.pki.certificateToPem(cert)}${ca.pem}` });
}

/**
 * Starts the proxy for one assistant. `dir` keeps the run's CA certificate
 * and the bundle (the system's CAs and it); its key stays in this process.
 */
export async function startEgressProxy(options: { dir: string; egressUrl: string; hosts: string[]; log?: (line: string) => void }): Promise<EgressProxy> {
  const log = options.log ?? (() => {});
  const intercepted = new Set(options.hosts.map((h) => h.toLowerCase()));
  const ca = makeCa();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leafKey = {
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const contexts = new Map<string, SecureContext>();
  const contextFor = (name: string) => {
    let context = contexts.get(name);
    if (!context) {
      if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
      context = leafFor(ca, leafKey, name);
      contexts.set(name, context);
    }
    return context;
  };
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const caFile = join(options.dir, 'egress-ca.crt');
  const bundleFile = join(options.dir, 'egress-ca-bundle.crt');
  writeFileSync(caFile, ca.pem, { mode: 0o644 });
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  writeFileSync(bundleFile, `${system ? readFileSync(system, 'utf8') : ''}\n${ca.pem}`, { mode: 0o644 });

  const handed: EgressProxy['handed'] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };

  /** One decrypted (or plain-HTTP) request to an intercepted host, handed to the Worker; its answer streamed back. */
  const handToWorker = (host: string, req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? '/';
    const path = raw.startsWith('/') ? raw : `${new URL(raw).pathname}${new URL(raw).search}`;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP.has(name) && value !== undefined) headers[name] = value;
    if (req.headers['transfer-encoding']) headers['transfer-encoding'] = 'chunked';
    const worker = new URL(`${options.egressUrl}/${host}${path}`);
    const upstream = httpRequest(worker.href, { method: req.method ?? 'GET', headers }, (answer) => {
      handed.push({ host, method: req.method ?? 'GET', path: path.split('?')[0] ?? path, status: answer.statusCode ?? 0 });
      if (handed.length > 200) handed.shift();
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP.has(name) && value !== undefined) out[name] = value;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      log(`egress ${host}${path}: ${error.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`openclaw-ondemand: the Worker's egress could not be reached: ${error.message}\n`);
    });
    req.pipe(upstream);
  };

  // The host each decrypted connection was opened for (its CONNECT's, not the client's SNI, which it may leave out).
  const connectHost = new WeakMap<object, string>();
  const inner = createServer((req, res) => handToWorker(connectHost.get(req.socket) ?? '', req, res));

  const server: Server = createServer((req, res) => {
    // A plain-HTTP proxy request (absolute URL).
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400);
      res.end('not a proxy request');
      return;
    }
    if (intercepted.has(target.hostname.toLowerCase())) {
      handToWorker(target.hostname.toLowerCase(), req, res);
      return;
    }
    const upstream = httpRequest(target.href, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const [rawHost, rawPort] = (req.url ?? '').split(':');
    const host = (rawHost ?? '').toLowerCase();
    const port = Number(rawPort ?? 443);
    if (intercepted.has(host) && port === 443) {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) client.unshift(head);
      const tls = new TLSSocket(client, { isServer: true, secureContext: contextFor(host) });
      connectHost.set(tls, host);
      tls.on('error', (error) => log(`egress TLS for ${host}: ${error.message}`));
      inner.emit('connection', tls);
      return;
    }
    // Not the Worker's: a plain tunnel, as the platform leaves such hosts alone.
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log(`egress proxy on ${url}: ${[...intercepted].join(', ')} through the Worker (${options.egressUrl})`);
  return {
    url,
    env: {
      HTTPS_PROXY: url,
      https_proxy: url,
      HTTP_PROXY: url,
      http_proxy: url,
      NO_PROXY: '127.0.0.1,localhost,::1',
      no_proxy: '127.0.0.1,localhost,::1',
      NODE_EXTRA_CA_CERTS: caFile,
      SSL_CERT_FILE: bundleFile,
      CURL_CA_BUNDLE: bundleFile,
      GIT_SSL_CAINFO: bundleFile,
    },
    handed,
    async close() {
      for (const socket of sockets) socket.destroy();
      inner.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
