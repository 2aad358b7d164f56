#!/usr/bin/env node
// OpenClaw's compile cache in the image (README: "Cold start").
//
// OpenClaw's launcher turns Node's compile cache on itself, in
// $TMPDIR/node-compile-cache/openclaw/<version>/<package.json mtime-size>/,
// keyed by each module's path and source, the Node version, V8's cache tag
// (its version, its flags and the CPU features it detected) and the user
// id. A new container's disk is the image, so a cache filled at
// build time — in that place, as the same user, with the same Node, no
// NODE_OPTIONS and no NODE_COMPILE_CACHE (which would make the launcher
// re-execute itself into another directory) — is what a wake reads.
//
//   node compile-cache.mjs warm
//       boots the gateway once (configure, `openclaw gateway run`, ready,
//       SIGTERM), so the launcher writes the cache; run in a layer after
//       everything that changes OpenClaw's files (the install, the patch).
//   node compile-cache.mjs check [--min 0.95]
//       boots it once more with NODE_DEBUG_NATIVE=COMPILE_CACHE and fails
//       (exit 1) unless at least that share of the boot's compile-cache reads
//       were accepted: a build whose cache would miss at every wake fails.
//   node compile-cache.mjs check --log <file> [--min 0.95]
//       the same decision from a recorded NODE_DEBUG_NATIVE=COMPILE_CACHE log
//       (gzipped when its name ends in .gz).
//   node compile-cache.mjs probe [--openclaw <package directory>]
//       without booting: prints (JSON) whether the cache in the image is the
//       one a gateway started here would read — the same Node, user and V8
//       cache tag, which includes the CPU features V8 detected, so a cache
//       built on a host with another CPU misses at every wake; exit 1 if not.
// `--timeout <seconds>` bounds a boot (default 300).
//
// Both boots leave nothing behind but the cache: their OpenClaw home and
// the scratch and log directories OpenClaw made in the temporary directory
// are removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cachedDataVersionTag } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** Below this share of accepted reads the check fails. */
export const MIN_ACCEPTED_SHARE = 0.95;
/** A gateway boot reads thousands of modules; fewer reads than this means the debug output or the cache is missing. */
export const MIN_READS = 1000;
const PORT = '18790';
/** How long a boot may take to get ready (`--timeout <seconds>` changes it). */
const BOOT_TIMEOUT_MS = 300_000;
/** After ready, the gateway goes on importing (plugins, deferred modules); a wake reads those too. */
const SETTLE_MS = 3_000;
const CACHE_DIR_NAME = 'node-compile-cache';

/**
 * Counts a NODE_DEBUG_NATIVE=COMPILE_CACHE log's verdicts, one per module
 * loaded: `accepted` (the cached code was used), `rejected` (present but
 * refused by V8: another Node, other flags, a changed source) and `missing`
 * (no entry: "not initialized"). `cacheDirs` are the directories the
 * processes resolved their cache to; `missed` names the first few misses.
 */
export function compileCacheStats(log) {
  const stats = { accepted: 0, rejected: 0, missing: 0, reads: 0, acceptedShare: 0, cacheDirs: [], missed: [] };
  for (const m of log.matchAll(/^\[compile cache\] V8 code cache for (?:ESM|CommonJS) (.+?) was (accepted|rejected|not initialized)\b/gm)) {
    const verdict = m[2] === 'not initialized' ? 'missing' : m[2];
    stats[verdict] += 1;
    if (verdict !== 'accepted' && stats.missed.length < 5) stats.missed.push(`${m[1]} (${verdict})`);
  }
  stats.reads = stats.accepted + stats.rejected + stats.missing;
  stats.acceptedShare = stats.reads ? stats.accepted / stats.reads : 0;
  stats.cacheDirs = [...new Set([...log.matchAll(/^\[compile cache\] resolved path \S+ \+ \S+ -> (\S+)$/gm)].map((m) => m[1]))];
  return stats;
}

/** The check's verdict on counted reads: ok, and a one-line message saying why. */
export function judgeCompileCache(stats, minShare = MIN_ACCEPTED_SHARE) {
  const share = `${(stats.acceptedShare * 100).toFixed(1)} %`;
  const counts = `${stats.accepted} of ${stats.reads} compile-cache reads accepted (${share}; ${stats.missing} missing, ${stats.rejected} rejected)`;
  if (stats.reads < MIN_READS) {
    return {
      ok: false,
      message: `only ${stats.reads} compile-cache reads seen (expected thousands): NODE_DEBUG_NATIVE=COMPILE_CACHE printed no verdicts, or the launcher did not enable the cache`,
    };
  }
  if (stats.acceptedShare < minShare) {
    return {
      ok: false,
      message: `${counts}, below ${(minShare * 100).toFixed(0)} %: a wake would compile OpenClaw again. First misses: ${stats.missed.join('; ')}. Cache: ${stats.cacheDirs.join(', ') || 'none resolved'}`,
    };
  }
  return { ok: true, message: `${counts}; cache ${stats.cacheDirs.join(', ')}` };
}

/** Refuses what would make the launcher re-execute itself into another cache, or change V8's cache key. */
function assertLauncherEnvironment(env) {
  if (env.NODE_COMPILE_CACHE)
    throw new Error(
      `NODE_COMPILE_CACHE is set (${env.NODE_COMPILE_CACHE}): OpenClaw's launcher would re-execute itself to use ${CACHE_DIR_NAME}/openclaw/… under it; leave it unset so the cache is in the launcher's own place`,
    );
  if (env.NODE_DISABLE_COMPILE_CACHE) throw new Error('NODE_DISABLE_COMPILE_CACHE is set: the launcher would not use the cache');
  if (env.NODE_OPTIONS) throw new Error(`NODE_OPTIONS is set (${env.NODE_OPTIONS}): the runtime's boot must run with the flags the cache was made with`);
}

/**
 * Boots the gateway once (configure, `openclaw gateway run`, ready, settle,
 * SIGTERM) with `extraEnv` added; returns its stderr and when it was ready.
 * @throws when the environment would defeat the cache, or the gateway does not get ready.
 */
export async function bootGatewayOnce(extraEnv = {}, timeoutMs = BOOT_TIMEOUT_MS) {
  const here = dirname(fileURLToPath(import.meta.url));
  const tmp = tmpdir();
  // OpenClaw writes its logs to /tmp/openclaw whatever TMPDIR says, and scratch directories to both.
  const scratch = [...new Set([tmp, '/tmp'])];
  const before = new Set(scratch.flatMap((dir) => readdirSync(dir).map((entry) => join(dir, entry))));
  const home = mkdtempSync(join(tmp, 'openclaw-cache-boot-'));
  const env = {
    ...process.env,
    OPENCLAW_HOME: home,
    OPENCLAW_STATE_DIR: join(home, '.openclaw'),
    GATEWAY_PORT: PORT,
    BOOT_STATUS_FILE: join(home, 'boot', 'status.json'),
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    OPENAI_MODEL: 'compile-cache',
    OPENCLAW_SUPERVISOR_MODE: 'external',
    ...extraEnv,
  };
  delete env.OPENCLAW_CONFIG_PATH;
  assertLauncherEnvironment(env);
  try {
    const configured = spawnSync(process.execPath, [join(here, 'configure-openclaw.mjs')], { env, encoding: 'utf8' });
    if (configured.status !== 0) throw new Error(`configure-openclaw.mjs failed: ${configured.stderr.trim().slice(-500)}`);
    // `openclaw` from PATH, as start.sh runs it.
    const gateway = spawn('openclaw', ['gateway', 'run', '--port', PORT], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const chunks = [];
    gateway.stderr.on('data', (c) => chunks.push(c));
    const exited = new Promise((resolve) => gateway.once('exit', (code, signal) => resolve({ code, signal })));
    let exit = null;
    void exited.then((e) => (exit = e));
    const started = Date.now();
    for (;;) {
      if (exit)
        throw new Error(
          `the gateway exited before it was ready (${exit.code ?? exit.signal}): ${Buffer.concat(chunks)
            .toString('utf8')
            .split('\n')
            .filter((l) => !l.startsWith('[compile cache]'))
            .slice(-10)
            .join('\n')}`,
        );
      try {
        if ((await fetch(`http://127.0.0.1:${PORT}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > timeoutMs) {
        gateway.kill('SIGKILL');
        throw new Error(`the gateway was not ready within ${timeoutMs / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const readyMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // A clean exit: Node writes the compile cache when the process ends.
    gateway.kill('SIGTERM');
    const timer = setTimeout(() => gateway.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    return { log: Buffer.concat(chunks).toString('utf8'), readyMs };
  } finally {
    for (const dir of scratch) {
      for (const entry of readdirSync(dir)) {
        if (/^\.?openclaw/.test(entry) && !before.has(join(dir, entry))) rmSync(join(dir, entry), { recursive: true, force: true });
      }
    }
    rmSync(home, { recursive: true, force: true });
  }
}

const sanitizeSegment = (value) => value.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'unknown';

/**
 * Whether a gateway started now, as this user with this Node on this CPU,
 * would read the cache in the image, without booting it: the launcher's
 * directory for the OpenClaw at `openclawRoot` (its version and its
 * package.json's mtime and size, as the launcher names it) and, in it, the
 * one Node names by its version, the architecture, V8's cache tag (V8's
 * version, its flags and the CPU features it detected) and the user id. A
 * cache made on a CPU with other features — another build host — carries
 * another tag, and then every module misses: `hit` false, `present` names
 * what is there instead.
 */
export function probeCompileCache(openclawRoot, tmp = tmpdir()) {
  const pkg = join(openclawRoot, 'package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8'));
  const stat = statSync(pkg);
  const base = join(tmp, CACHE_DIR_NAME, 'openclaw', sanitizeSegment(String(version)), sanitizeSegment(`${Math.trunc(stat.mtimeMs)}-${stat.size}`));
  const tag = cachedDataVersionTag();
  const uid = process.getuid?.() ?? 0;
  const present = existsSync(base) ? readdirSync(base) : [];
  const own = present.find((name) => {
    const m = /^v?([\d.]+)-([a-z0-9]+)-([0-9a-f]+)-(\d+)$/.exec(name);
    return m !== null && m[1] === process.versions.node && m[2] === process.arch && parseInt(m[3] ?? '', 16) === tag && Number(m[4]) === uid;
  });
  const dir = own ? join(base, own) : null;
  return { hit: dir !== null && readdirSync(dir).length > 0, dir, entries: dir ? readdirSync(dir).length : 0, tag: tag.toString(16), uid, base, present };
}

/** The package directory of the `openclaw` on PATH (its launcher is at the package's root). */
function installedOpenClaw() {
  const bin = spawnSync('sh', ['-c', 'command -v openclaw'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('no openclaw on PATH (pass --openclaw <package directory>)');
  return dirname(realpathSync(bin));
}

function option(args, name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args) {
  const [command] = args;
  const min = Number(option(args, '--min') ?? MIN_ACCEPTED_SHARE);
  if (!(min > 0 && min <= 1)) throw new Error('--min takes a share between 0 and 1, e.g. 0.95');
  const timeoutMs = Number(option(args, '--timeout') ?? BOOT_TIMEOUT_MS / 1000) * 1000;
  if (!(timeoutMs > 0)) throw new Error('--timeout takes seconds, e.g. 600');
  if (command === 'probe') {
    const probe = probeCompileCache(option(args, '--openclaw') ?? installedOpenClaw());
    console.log(JSON.stringify(probe));
    return probe.hit ? 0 : 1;
  }
  if (command === 'warm') {
    const { readyMs } = await bootGatewayOnce({}, timeoutMs);
    console.error(`compile-cache: warmed by one gateway boot (ready after ${(readyMs / 1000).toFixed(1)} s); cache under ${join(tmpdir(), CACHE_DIR_NAME)}`);
    return 0;
  }
  if (command === 'check') {
    const file = option(args, '--log');
    const log = file
      ? (file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString('utf8')
      : (await bootGatewayOnce({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }, timeoutMs)).log;
    const verdict = judgeCompileCache(compileCacheStats(log), min);
    console.error(`compile-cache: ${verdict.ok ? 'ok' : 'FAILED'}: ${verdict.message}`);
    return verdict.ok ? 0 : 1;
  }
  throw new Error('usage: compile-cache.mjs warm | check [--min 0.95] [--log <file>] [--timeout <s>] | probe [--openclaw <dir>]');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(`compile-cache: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
