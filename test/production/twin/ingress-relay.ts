/**
 * The twin's ingress from a real, non-loopback address: the sidecar (PUT
 * /twin/ingress) sends each tunnel to this relay on the Docker bridge, which
 * connects to the app container's bridge address from a source address the
 * test chooses — so the gateway sees a proxy address as it would in
 * production (where the platform's address is not loopback), inside its
 * trusted range or outside it.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { bridgeGateway } from './twin-shell.ts';

export interface IngressRelay {
  /** `IP:port` for the sidecar's `via`. */
  address: string;
  /** The source address the relay connects from (a local address of this host). */
  readonly source: string;
  /**
   * Connects from `source` from now on, and closes every tunnel open now:
   * workerd keeps its connections to the container and reuses them, so a
   * request after the switch would otherwise still arrive from the old address.
   */
  use(source: string): void;
  close(): Promise<void>;
}

/** The bridge address of a container (the app shares its sidecar's network namespace). */
export function bridgeAddress(container: string): string {
  const r = spawnSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container], { encoding: 'utf8' });
  const ip = r.stdout.trim();
  if (r.status !== 0 || !net.isIPv4(ip)) throw new Error(`no bridge address for ${container}: ${r.stderr.trim()}`);
  return ip;
}

/** Starts the relay on the bridge gateway, towards `containerIp`, from the bridge gateway's own address at first. */
export async function startIngressRelay(containerIp: string): Promise<IngressRelay> {
  const host = bridgeGateway();
  const open = new Set<net.Socket>();
  let source = host;
  const relay: IngressRelay = {
    address: '',
    get source() {
      return source;
    },
    use(next) {
      source = next;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close: async () => undefined,
  };
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\n');
      if (end < 0) return head.length > 16 ? client.destroy() : undefined;
      client.off('data', onData);
      // Hold what follows until the origin is connected (a flowing stream without a reader drops it); pipe() resumes.
      client.pause();
      const port = Number(head.subarray(0, end).toString());
      const origin = net.connect({ host: containerIp, port, localAddress: source, allowHalfOpen: true }, () => {
        if (head.length > end + 1) origin.write(head.subarray(end + 1));
        client.pipe(origin);
        origin.pipe(client);
      });
      open.add(origin);
      origin.on('close', () => open.delete(origin));
      origin.on('error', () => client.destroy());
      client.on('error', () => origin.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  relay.address = `${host}:${(server.address() as net.AddressInfo).port}`;
  relay.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      relay.use(host);
    });
  return relay;
}
