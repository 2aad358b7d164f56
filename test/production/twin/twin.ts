/**
 * The production twin: what `wrangler deploy` ships — the production
 * wrangler.jsonc, the Worker, the `Agent` class (a Sandbox) and a container
 * built from the project's Dockerfile — run under `wrangler dev` with a local
 * Docker engine. Substitutes, each for something this machine cannot reach:
 * - the Sandbox base image: pulled when possible, else a stand-in (images.ts);
 * - wrangler's Docker CLI calls: the classic builder instead of buildx (docker-cli.mjs);
 * - workerd's networking sidecar: a minimal one of our own (sidecar/): ingress,
 *   and egress for the hosts the Worker's outbound handlers answer (DNS, HTTP,
 *   and HTTPS terminated with the CA workerd installs in the container);
 * - the internet the container would reach: only the stand-ins tests declare
 *   for a hostname (`standIn` in ../twin-client.ts; the sidecar reads them
 *   from the registry directory), over HTTP or HTTPS with that same CA;
 * - Cloudflare's instance limits and FUSE device: added by a Docker API proxy (docker-api-proxy.ts);
 * - the model provider: the bundled mock model, stood in at AI Gateway's host
 *   as the OpenAI-compatible endpoint (the container's calls pass the
 *   Worker's egress, which adds the real key);
 * - Browser Rendering: the `browser` binding becomes a service binding to a
 *   stand-in over Debian's Chromium (browser-standin/), the one override of
 *   the production wrangler.jsonc (written to .twin.wrangler.json);
 * - Access: `AUTH_MODE=local` (Access itself is tested in workerd);
 * - the internet the Worker reaches: the same stand-ins, for workerd through
 *   a hosts file bind-mounted over /etc/hosts in wrangler's own mount
 *   namespace (`unshare -m`, root) and a front on the bridge's port 443 with
 *   the twin's CA, which workerd trusts (internet-front.ts);
 * - R2's S3 endpoint for the presigned backup transfers (the production
 *   default): r2-endpoint.ts, over the same local bucket the BACKUP_BUCKET
 *   binding reads, checking SigV4, a stand-in for
 *   `<account>.r2.cloudflarestorage.com`; the app container's Bun is given
 *   the twin's CA at start (NODE_EXTRA_CA_CERTS), which real R2's public
 *   certificate would not need;
 * - the operator's webhook: NOTIFY_WEBHOOK_URL is `https://hooks.twin.example/hook`, a stand-in (twin.global.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { experimental_readRawConfig } from 'wrangler';
import { launchChromium } from '../../support/chromium.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { INSTANCE_SIZES } from '../../../src/cost/instance-types.ts';
import type { InstanceType } from '../../../src/config.ts';
import { freePort } from '../../../container/host/agent-supervisor.ts';
import { MOCK_MODEL_ID, startMockLlm } from '../../../container/mock-llm/server.mjs';
import { startDockerApiProxy } from './docker-api-proxy.ts';
import { SIDECAR_IMAGE, ensureTwinImages } from './images.ts';
import { registerStandIn, startInternetFront, type StandInPlaces } from './internet-front.ts';
import { startR2Endpoint } from './r2-endpoint.ts';
import { ROOT, TWIN_DIR, TOOLS_DIR, bridgeGateway, docker, ensureDockerEngine, progress } from './twin-shell.ts';
import { TWIN_EGRESS_SECRETS, TWIN_MODEL_HOST, TWIN_PUSH_REPO } from '../twin-vars.ts';

export interface TwinOptions {
  /** Worker vars on top of the production wrangler.jsonc (e.g. SLEEP_AFTER). */
  vars?: Record<string, string>;
  /** Instance type whose CPU and memory the container gets. Default: INSTANCE_TYPE of vars, else the one wrangler.jsonc deploys. */
  instanceType?: InstanceType;
  /** How long the first start (image builds included) may take. Default 20 minutes. */
  readyTimeoutMs?: number;
  /** Environment added to the app container, over the image's (the bench's A/B of image settings). */
  containerEnv?: Record<string, string>;
  /** Hostnames stood in for from the start: hostname → `IP:port` of a plain-HTTP server on the bridge. */
  standIns?: Record<string, string>;
}

export interface Twin {
  url: string;
  instanceType: InstanceType;
  /** How the Sandbox base image was obtained (`pulled`, `present`, `stand-in (built)`, ...). */
  base: string;
  /** Output of wrangler dev (the Worker's and the Agent's log lines included). */
  output(): string;
  /** Name of the newest app container workerd created (empty before the first wake). */
  containerName(): string;
  /** Every app container created, oldest first. */
  containers(): string[];
  /** The mock model's log: one JSON line per request it received (what the gateway sent with each turn). */
  modelLog: string;
  /** Where the twin's internet stand-ins are registered (registerStandIn in internet-front.ts). */
  standIns: StandInPlaces;
  /** The control server of the twin's R2 endpoint (r2-endpoint.ts: its log and knobs). */
  r2Control: string;
  /** App containers created from now on run `image` (a local tag) instead of the one wrangler built; null: wrangler's again. */
  useImage(image: string | null): void;
  stop(): Promise<void>;
}

/**
 * Every build of the Dockerfile leaves an image (~1.5 GB) tagged by its
 * inputs; keeps the one the last app container ran, removes older ones.
 */
function removeStaleProjectImages(current: string): void {
  if (!current.includes(':')) return;
  const images = spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', current.split(':')[0] as string], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  for (const image of images) if (image !== current) spawnSync('docker', ['rmi', image], { stdio: 'ignore' });
}

/** Where the twin writes the production configuration with its one override (beside wrangler.jsonc, so its relative paths hold). */
const TWIN_CONFIG = join(ROOT, '.twin.wrangler.json');

/** The account id the twin's Worker signs R2 URLs for (its R2 host is `<id>.r2.cloudflarestorage.com`). */
export const TWIN_ACCOUNT_ID = '7e57ed0c1a0d0d0ed0c7e57ed0c1a0d0';
/** The R2 key pair of the twin's Worker (its R2 endpoint checks signatures against it): it must never reach the container. */
export const TWIN_R2_KEYS = { R2_ACCESS_KEY_ID: 'twin-r2-key-id-must-stay-in-the-worker', R2_SECRET_ACCESS_KEY: 'twin-r2-secret-must-stay-in-the-worker' };

/** The production config's backup bucket (its BACKUP_BUCKET binding's). */
function productionBucket(): string {
  const { rawConfig } = experimental_readRawConfig({ config: join(ROOT, 'wrangler.jsonc') }) as {
    rawConfig: { r2_buckets?: Array<{ binding: string; bucket_name: string }> };
  };
  const bucket = rawConfig.r2_buckets?.find((b) => b.binding === 'BACKUP_BUCKET')?.bucket_name;
  if (!bucket) throw new Error('wrangler.jsonc has no r2_buckets entry for BACKUP_BUCKET');
  return bucket;
}

/**
 * The twin's documented override of the production configuration: the
 * `browser` binding becomes a service binding to the Browser Rendering
 * stand-in (browser-standin/worker.ts, the same session methods over
 * Debian's Chromium at `chromiumUrl`), which runs in the same `wrangler dev`.
 * Returns the configurations to run, the production one (overridden) first.
 */
function browserStandInConfigs(chromiumUrl: string): string[] {
  const { rawConfig } = experimental_readRawConfig({ config: join(ROOT, 'wrangler.jsonc') }) as {
    rawConfig: Record<string, unknown> & { services?: unknown[] };
  };
  const { browser: _browser, ...production } = rawConfig;
  writeFileSync(
    TWIN_CONFIG,
    JSON.stringify(
      { ...production, services: [...(rawConfig.services ?? []), { binding: 'BROWSER', service: 'twin-browser-standin', entrypoint: 'BrowserStandIn' }] },
      null,
      2,
    ),
  );
  const dir = join(TWIN_DIR, 'browser-standin');
  const standIn = join(TOOLS_DIR, 'browser-standin.wrangler.json');
  const base = experimental_readRawConfig({ config: join(dir, 'wrangler.jsonc') }).rawConfig as Record<string, unknown>;
  writeFileSync(standIn, JSON.stringify({ ...base, main: join(dir, 'worker.ts'), vars: { CHROMIUM_URL: chromiumUrl } }, null, 2));
  return [TWIN_CONFIG, standIn];
}

/** The instance type the production wrangler.jsonc deploys (its INSTANCE_TYPE var). */
export function configuredInstanceType(): InstanceType {
  const text = readFileSync(join(ROOT, 'wrangler.jsonc'), 'utf8');
  return (/"INSTANCE_TYPE":\s*"([a-z0-9-]+)"/.exec(text)?.[1] ?? 'standard-1') as InstanceType;
}

/** Why the twin cannot run on this machine, or null. */
export async function twinUnavailable(): Promise<string | null> {
  if (process.arch !== 'x64') return `the container image is linux/amd64; this machine is ${process.arch}`;
  return ensureDockerEngine();
}

export async function startTwin(options: TwinOptions = {}): Promise<Twin> {
  const unavailable = await twinUnavailable();
  if (unavailable) throw new Error(`the production twin cannot run here: ${unavailable}`);
  const { base, caDir } = await ensureTwinImages();
  const instanceType = options.instanceType ?? (options.vars?.INSTANCE_TYPE as InstanceType | undefined) ?? configuredInstanceType();
  const size = INSTANCE_SIZES[instanceType];
  mkdirSync(TOOLS_DIR, { recursive: true });
  const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-ondemand-twin-'));
  const standInsDir = join(stateDir, 'internet');
  mkdirSync(standInsDir);
  const gateway = bridgeGateway();
  const places: StandInPlaces = { dir: standInsDir, hostsFile: join(stateDir, 'hosts'), front: gateway };
  const containers: string[] = [];
  let projectImage = '';
  let imageOverride: string | null = null;
  let output = '';
  const proxy = await startDockerApiProxy({
    socketPath: join(stateDir, 'docker.sock'),
    engineSocket: '/var/run/docker.sock',
    limits: { vcpu: size.vcpu, memoryMiB: size.memoryMiB },
    env: Object.entries({ NODE_EXTRA_CA_CERTS: '/etc/cloudflare/certs/cloudflare-containers-ca.crt', ...options.containerEnv }).map(([k, v]) => `${k}=${v}`),
    image: () => imageOverride ?? undefined,
    standIns: standInsDir,
    onCreate: (name, image) => {
      containers.push(name);
      if (image && image !== imageOverride) projectImage = image;
    },
    log: (line) => (output += `[twin] ${line}\n`),
  });
  const modelLog = join(stateDir, 'mock-llm.jsonl');
  const mock = await startMockLlm({ host: gateway, log: modelLog });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const vars: Record<string, string> = {
    AUTH_MODE: 'local',
    PUBLIC_ORIGINS: `${url},http://localhost:${port}`,
    BACKUP_TRANSFER: 'presigned',
    CLOUDFLARE_ACCOUNT_ID: TWIN_ACCOUNT_ID,
    ...TWIN_R2_KEYS,
    ...TWIN_EGRESS_SECRETS,
    GITHUB_PUSH_REPOS: TWIN_PUSH_REPO,
    // The mock model behind an AI Gateway compat URL (the OpenAI-compatible route's usual endpoint): the container's
    // calls pass the Worker's egress, which adds the real key.
    OPENAI_BASE_URL: `https://${TWIN_MODEL_HOST}/v1/${TWIN_ACCOUNT_ID}/twin/compat`,
    OPENAI_MODEL: MOCK_MODEL_ID,
    WAKE_LIMIT_PER_MINUTE: '1000',
    INSTANCE_TYPE: instanceType,
    ...options.vars,
  };
  // Browser Rendering: wrangler dev has no session behind the binding; the twin stands Debian's Chromium in (browser-standin/).
  const chromium = await launchChromium();
  const configs = chromium ? browserStandInConfigs(chromium.url) : [join(ROOT, 'wrangler.jsonc')];
  // The internet, for workerd: the stand-ins' names in the hosts file of wrangler's own mount namespace, and their front.
  const front = await startInternetFront({ places, caDir, workDir: stateDir, log: (line) => (output += `[twin] ${line}\n`) });
  // R2's S3 endpoint: a stand-in for the account's R2 host.
  const r2Host = `${vars.CLOUDFLARE_ACCOUNT_ID}.r2.cloudflarestorage.com`;
  const bucket = productionBucket();
  const r2 = await startR2Endpoint({
    host: r2Host,
    bucket,
    accessKeyId: vars.R2_ACCESS_KEY_ID ?? '',
    secretAccessKey: vars.R2_SECRET_ACCESS_KEY ?? '',
    bridge: gateway,
    objectsApi: () => `${url}/cdn-cgi/local/explorer/api/r2/buckets/${bucket}/objects`,
    log: (line) => (output += `[twin] ${line}\n`),
  });
  for (const [host, address] of Object.entries({ [r2Host]: r2.standInAddress, [TWIN_MODEL_HOST]: `${gateway}:${mock.port}`, ...options.standIns }))
    registerStandIn(places, host, address);
  const args = [
    '-m',
    'sh',
    '-c',
    'mount --bind "$0" /etc/hosts && exec "$@"',
    places.hostsFile,
    process.execPath,
    join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
    'dev',
    ...configs.flatMap((c) => ['-c', c]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    '0',
    '--persist-to',
    join(stateDir, 'wrangler'),
    '--show-interactive-dev-session=false',
    '--test-scheduled',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  progress(`twin: wrangler dev (production config, ${instanceType}: ${size.vcpu} vCPU, ${size.memoryMiB} MiB; base image ${base}) on ${url}`);
  const child: ChildProcess = spawn('unshare', args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: join(stateDir, 'wrangler-logs'),
      // A registry of its own: the twin's workerd sees no other wrangler dev on the machine (the local mode's, another job's).
      WRANGLER_REGISTRY_PATH: join(stateDir, 'wrangler-registry'),
      WRANGLER_DOCKER_BIN: join(TWIN_DIR, 'docker-cli.mjs'),
      WRANGLER_DOCKER_HOST: proxy.url,
      MINIFLARE_CONTAINER_EGRESS_IMAGE: SIDECAR_IMAGE,
      // workerd trusts the twin's CA (the R2 endpoint's certificate).
      NODE_EXTRA_CA_CERTS: join(caDir, 'ca.crt'),
      CI: 'true',
    },
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // The engine's own account of the twin's containers (a start, a kill with its signal, an exit with its code, an
  // OOM), in the log beside the Agent's: a container that goes away unasked shows here first.
  const events = spawn(
    'docker',
    [
      'events',
      '--filter',
      'type=container',
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}} exitCode={{.Actor.Attributes.exitCode}} signal={{.Actor.Attributes.signal}}',
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let pending = '';
  events.stdout?.on('data', (d: Buffer) => {
    const lines = (pending + d.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [action = '', name = ''] = line.split(' ');
      if (!/^(start|die|oom|kill|stop)$/.test(action) || !containers.some((c) => name.startsWith(c))) continue;
      output += `[twin] docker ${new Date().toISOString()} ${line}\n`;
      // What the container printed last (the control server's own error, if it was the one that ended).
      if (action === 'die') {
        const tail = spawnSync('docker', ['logs', '--tail', '400', name], { encoding: 'utf8' });
        const said = `${tail.stdout ?? ''}${tail.stderr ?? ''}`.split('\n').filter((l) => l !== '' && !/"level":"(info|debug)"/.test(l));
        for (const l of said.slice(-30)) output += `[twin] docker ${name}: ${l.slice(0, 300)}\n`;
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    events.kill();
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    for (const name of containers) {
      try {
        docker(['rm', '-f', name, `${name}-proxy`]);
      } catch {
        // removed by workerd already
      }
    }
    await proxy.close();
    await r2.close();
    await front.close();
    await mock.close();
    await chromium?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    removeStaleProjectImages(projectImage);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20 * 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited (${child.exitCode}):\n${output.slice(-4000)}`);
    }
    try {
      const r = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      // not up yet (the image may still be building)
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the twin did not answer within ${options.readyTimeoutMs ?? 20 * 60_000} ms:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  progress(`twin: ready on ${url}`);
  return {
    url,
    instanceType,
    base,
    output: () => output,
    containerName: () => containers.at(-1) ?? '',
    containers: () => [...containers],
    modelLog,
    standIns: places,
    r2Control: r2.controlUrl,
    useImage: (image) => {
      imageOverride = image;
    },
    stop,
  };
}
