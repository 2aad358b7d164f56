/**
 * A Docker Engine API proxy on a Unix socket, between workerd and the real
 * engine. It passes every request through unchanged (streams, long polls
 * and the hijacked exec/attach connections included) except one: when the
 * app container is created (`POST /containers/create` whose network mode
 * joins the sidecar), it adds what Cloudflare gives a container and
 * `wrangler dev` does not:
 * - the CPU and memory of the configured instance type (NanoCpus, Memory,
 *   no swap), so boots and backups run at the speed the platform allows;
 * - `/dev/fuse` with SYS_ADMIN, so the Sandbox control server's FUSE mounts
 *   (squashfuse + fuse-overlayfs, its backup restores) work as on Cloudflare.
 * and one for the networking sidecar: the twin's directory of stand-ins
 * (`standIns`, read-only at /twin/internet) mounted into it.
 * Each app container created is reported to `onCreate` (its name), so tests
 * can find it; `image` may name another image to create it from (the
 * bench's before/after of the Dockerfile in one twin).
 */
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';

export interface ContainerLimits {
  /** vCPU share, e.g. 0.5 for standard-1. */
  vcpu: number;
  memoryMiB: number;
}

export interface DockerApiProxy {
  /** `unix://` URL for WRANGLER_DOCKER_HOST. */
  url: string;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/**
 * Adds the instance type's limits and FUSE (and `env`, NAME=value entries
 * that win over the image's) to an app container's create request; other
 * bodies are returned unchanged.
 */
export function rewriteCreateBody(body: Record<string, unknown>, limits: ContainerLimits, env: string[] = []): { body: Record<string, unknown>; app: boolean } {
  const host = (body.HostConfig ?? {}) as Record<string, unknown>;
  const app = typeof host.NetworkMode === 'string' && host.NetworkMode.startsWith('container:');
  if (!app) return { body, app };
  const memory = Math.round(limits.memoryMiB * 1024 * 1024);
  const capAdd = new Set([...((host.CapAdd as string[] | undefined) ?? []), 'SYS_ADMIN']);
  const devices = [...((host.Devices as unknown[] | undefined) ?? []), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }];
  return {
    app,
    body: {
      ...body,
      ...(env.length ? { Env: [...((body.Env as string[] | undefined) ?? []), ...env] } : {}),
      HostConfig: {
        ...host,
        NanoCpus: Math.round(limits.vcpu * 1e9),
        Memory: memory,
        MemorySwap: memory,
        CapAdd: [...capAdd],
        Devices: devices,
        SecurityOpt: [...((host.SecurityOpt as string[] | undefined) ?? []), 'apparmor:unconfined'],
      },
    },
  };
}

/** The sidecar's create request (its command names the ingress address) with the stand-ins' directory mounted; others unchanged. */
function withStandIns(body: Record<string, unknown>, dir: string): Buffer {
  const sidecar = Array.isArray(body.Cmd) && (body.Cmd as unknown[]).includes('--http-ingress-address');
  if (!sidecar) return Buffer.from(JSON.stringify(body));
  const host = (body.HostConfig ?? {}) as Record<string, unknown>;
  return Buffer.from(
    JSON.stringify({ ...body, HostConfig: { ...host, Binds: [...((host.Binds as string[] | undefined) ?? []), `${dir}:/twin/internet:ro`] } }),
  );
}

function forwardHeaders(headers: IncomingMessage['headers'], bodyLength?: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  if (bodyLength !== undefined) out['content-length'] = String(bodyLength);
  return out;
}

export async function startDockerApiProxy(options: {
  socketPath: string;
  engineSocket: string;
  limits: ContainerLimits;
  /** NAME=value entries added to the app container's environment (the bench's A/B of image settings). */
  env?: string[];
  /** The image the next app container is created from instead of the one wrangler built (the bench's before/after); undefined: wrangler's. */
  image?: () => string | undefined;
  /** A host directory the networking sidecar reads the twin's stand-ins from (mounted at /twin/internet). */
  standIns?: string;
  /** Each app container created: its name and image. */
  onCreate?: (name: string, image: string) => void;
  log?: (line: string) => void;
}): Promise<DockerApiProxy> {
  const log = options.log ?? (() => {});
  const pass = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const upstream = httpRequest(
      { socketPath: options.engineSocket, method: req.method, path: req.url, headers: forwardHeaders(req.headers, body?.length) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`docker engine: ${error.message}`);
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST' || !/^\/(v[\d.]+\/)?containers\/create(\?|$)/.test(req.url ?? '')) return pass(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      try {
        const parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        const { body, app } = rewriteCreateBody(parsed, options.limits, options.env);
        if (!app) return pass(req, res, options.standIns ? withStandIns(parsed, options.standIns) : raw);
        const image = options.image?.();
        if (image) body.Image = image;
        const name = new URL(req.url ?? '', 'http://docker').searchParams.get('name') ?? '';
        log(`app container ${name}: ${options.limits.vcpu} vCPU, ${options.limits.memoryMiB} MiB, /dev/fuse`);
        options.onCreate?.(name, String(body.Image ?? ''));
        return pass(req, res, Buffer.from(JSON.stringify(body)));
      } catch {
        return pass(req, res, raw);
      }
    });
  });
  // Hijacked connections (exec start, attach): replay the request, then splice the sockets.
  const spliced = new Set<{ destroy(): void }>();
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const upstream = connect(options.engineSocket, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    spliced.add(socket).add(upstream);
    socket.on('close', () => spliced.delete(socket));
    upstream.on('close', () => spliced.delete(upstream));
  });
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  return {
    url: `unix://${options.socketPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of spliced) socket.destroy();
        server.close(() => {
          rmSync(options.socketPath, { force: true });
          resolve();
        });
      }),
  };
}
