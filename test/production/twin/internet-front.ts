/**
 * The twin's internet as the Worker (workerd) reaches it: a hostname a test
 * stands in for resolves, in wrangler's own mount namespace, to the Docker
 * bridge's address (a line in the hosts file twin.ts bind-mounts over
 * /etc/hosts), where this front answers HTTPS with a certificate for the
 * name signed by the twin's CA (which workerd trusts: NODE_EXTRA_CA_CERTS)
 * and passes each request on, in plain HTTP, to the stand-in's server — the
 * same registry (a file per hostname holding `IP:port`) the sidecar reads
 * for the container's side.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;

/** A key and certificate for `host`, signed by the CA in `caDir` (ca.crt, ca.key), made under `dir`. */
export function leafCertificate(caDir: string, host: string, dir: string): { key: Buffer; cert: Buffer } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `${host}.key`);
  const cert = join(dir, `${host}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      `/CN=${host}`,
      '-CA',
      join(caDir, 'ca.crt'),
      '-CAkey',
      join(caDir, 'ca.key'),
      '-addext',
      `subjectAltName=DNS:${host}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const pair = { key: readFileSync(key), cert: Buffer.concat([readFileSync(cert), readFileSync(join(caDir, 'ca.crt'))]) };
  rmSync(key);
  return pair;
}

/** Where the twin keeps its stand-ins: the registry directory (both sides) and the hosts file (workerd's side). */
export interface StandInPlaces {
  dir: string;
  hostsFile: string;
  /** The address stood-in names resolve to for workerd (the bridge's, where the front listens). */
  front: string;
}

/** Writes the hosts file wrangler's namespace sees: the machine's, plus a line per stood-in name. Rewritten in place (the bind mount holds the file). */
function writeHosts(places: StandInPlaces, names: string[]): void {
  let base = '127.0.0.1 localhost\n';
  try {
    base = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // keep the minimal one
  }
  writeFileSync(places.hostsFile, `${base.trimEnd()}\n${names.map((n) => `${places.front} ${n}`).join('\n')}\n`);
}

function registered(places: StandInPlaces): string[] {
  try {
    return readFileSync(places.hostsFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${places.front} `))
      .map((l) => l.split(' ')[1] as string);
  } catch {
    return [];
  }
}

/** Makes `hostname` answered by the plain-HTTP server at `address` (`IP:port`), for the container and for workerd. */
export function registerStandIn(places: StandInPlaces, hostname: string, address: string): void {
  const name = hostname.toLowerCase();
  if (!HOSTNAME.test(name)) throw new Error(`not a hostname: ${hostname}`);
  writeFileSync(join(places.dir, name), `${address}\n`);
  writeHosts(places, [...new Set([...registered(places), name])]);
}

export function unregisterStandIn(places: StandInPlaces, hostname: string): void {
  const name = hostname.toLowerCase();
  rmSync(join(places.dir, name), { force: true });
  writeHosts(
    places,
    registered(places).filter((n) => n !== name),
  );
}

/** The `IP:port` the stand-in for `name` listens on, or null. */
function target(places: StandInPlaces, name: string): { host: string; port: number } | null {
  try {
    const value = readFileSync(join(places.dir, name), 'utf8').trim();
    const at = value.lastIndexOf(':');
    return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
  } catch {
    return null;
  }
}

export async function startInternetFront(options: {
  places: StandInPlaces;
  caDir: string;
  workDir: string;
  log: (line: string) => void;
}): Promise<{ close(): Promise<void> }> {
  const { places } = options;
  writeHosts(places, []);
  const contexts = new Map<string, SecureContext>();
  const server = createHttpsServer(
    {
      SNICallback: (servername, done) => {
        const name = servername.toLowerCase();
        if (!HOSTNAME.test(name) || !target(places, name)) return done(new Error(`no stand-in for ${servername}`));
        let context = contexts.get(name);
        if (!context) {
          context = createSecureContext(leafCertificate(options.caDir, name, options.workDir));
          contexts.set(name, context);
        }
        done(null, context);
      },
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const name = String((req.socket as { servername?: string }).servername ?? '').toLowerCase();
      const to = target(places, name);
      if (!to) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        return res.end(`the twin has no stand-in for ${name}\n`);
      }
      const upstream = httpRequest({ host: to.host, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (error) => {
        options.log(`internet front: ${name}: ${error.message}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`the stand-in for ${name}: ${error.message}\n`);
      });
      req.pipe(upstream);
    },
  );
  server.on('tlsClientError', (error) => options.log(`internet front: TLS: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, places.front, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
