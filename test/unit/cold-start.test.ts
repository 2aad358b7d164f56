/**
 * What makes a wake fast and says how long it takes: the image's compile
 * cache check (fed recorded boots of the built image: one from a container
 * whose cache missed, one whose cache was hit), the build-time patch to
 * OpenClaw's resolve fast path (run on a copy of the pinned OpenClaw's
 * files), the Dockerfile's order of those steps, and the expected wake time
 * the status and the progress page show.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { createContext, runInContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCacheStats, judgeCompileCache, probeCompileCache } from '../../container/compile-cache.mjs';
import { FAST_PATH_FIX, FAST_PATH_NEEDLE } from '../../container/patch-openclaw-fast-path.mjs';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { BootTimeline } from '../../src/agent/records/boot-timeline.ts';
import { progressPage } from '../../src/ui/progress-page.ts';
import { ROOT } from '../../scripts/lib/root.mjs';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'compile-cache');
/** The first 2,000 compile-cache verdicts of a gateway boot in the built image: its cache removed (every wake then compiles), and as built. */
const COLD = join(FIXTURES, 'cold-container-boot.log.gz');
const WARM = join(FIXTURES, 'warm-container-boot.log.gz');
const OPENCLAW = join(ROOT, 'node_modules', 'openclaw');
const node = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8' });
const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('compile cache check (container/compile-cache.mjs)', () => {
  it('should count a recorded boot of a container whose cache missed, and fail it', () => {
    const stats = compileCacheStats(gunzipSync(readFileSync(COLD)).toString('utf8'));
    expect(stats.reads).toBe(2000);
    expect(stats.missing).toBeGreaterThan(1900);
    expect(stats.missed[0]).toContain('/usr/local/lib/node_modules/openclaw/dist/');
    const verdict = judgeCompileCache(stats);
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toMatch(/below 95 %: a wake would compile OpenClaw again/);
  });

  it("should pass a recorded boot of the image as built, its cache in the launcher's own place", () => {
    const stats = compileCacheStats(gunzipSync(readFileSync(WARM)).toString('utf8'));
    expect(stats.acceptedShare).toBeGreaterThanOrEqual(0.95);
    expect(stats.cacheDirs).toEqual([expect.stringMatching(/^\/tmp\/node-compile-cache\/openclaw\/2026\.9\.6\/[\d-]+\/v24\.[\d.]+-x64-[0-9a-f]+-0$/)]);
    expect(judgeCompileCache(stats).ok).toBe(true);
  });

  it('should fail the build from the command line on the miss-heavy log, and pass the hit one', () => {
    const cold = node([join(ROOT, 'container', 'compile-cache.mjs'), 'check', '--log', COLD]);
    expect(cold.status).toBe(1);
    expect(cold.stderr).toContain('compile-cache: FAILED: 7 of 2000 compile-cache reads accepted');
    const warm = node([join(ROOT, 'container', 'compile-cache.mjs'), 'check', '--log', WARM, '--min', '0.95']);
    expect(warm.status).toBe(0);
    expect(warm.stderr).toContain('compile-cache: ok: 2000 of 2000');
  });

  it("should tell without a boot whether the cache is the one this Node, user and CPU would read (V8's cache tag)", () => {
    const root = mkdtempSync(join(tmpdir(), 'openclaw-probe-test-'));
    temps.push(root);
    mkdirSync(join(root, 'openclaw'));
    writeFileSync(join(root, 'openclaw', 'package.json'), JSON.stringify({ version: '2026.9.6' }));
    const { mtimeMs, size } = statSync(join(root, 'openclaw', 'package.json'));
    const base = join(root, 'tmp', 'node-compile-cache', 'openclaw', '2026.9.6', `${Math.trunc(mtimeMs)}-${size}`);
    const other = `v${process.versions.node}-${process.arch}-${((cachedDataVersionTag() ^ 1) >>> 0).toString(16)}-${process.getuid?.() ?? 0}`;
    mkdirSync(join(base, other), { recursive: true });
    writeFileSync(join(base, other, 'entry'), 'x');
    const miss = probeCompileCache(join(root, 'openclaw'), join(root, 'tmp'));
    expect(miss).toMatchObject({ hit: false, dir: null, present: [other] });
    const own = `v${process.versions.node}-${process.arch}-${cachedDataVersionTag().toString(16)}-${process.getuid?.() ?? 0}`;
    mkdirSync(join(base, own));
    writeFileSync(join(base, own, 'entry'), 'x');
    expect(probeCompileCache(join(root, 'openclaw'), join(root, 'tmp'))).toMatchObject({ hit: true, dir: join(base, own), entries: 1 });
  });

  it('should fail when the log holds no verdicts (no debug output, or the cache never enabled)', () => {
    const verdict = judgeCompileCache(compileCacheStats('[gateway] ready\n'));
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toContain('only 0 compile-cache reads seen');
  });
});

/** A copy of the pinned OpenClaw's package.json and the dist files the fast path needs. */
function fakeOpenClaw(): { root: string; file: string } {
  const root = mkdtempSync(join(tmpdir(), 'openclaw-patch-test-'));
  temps.push(root);
  mkdirSync(join(root, 'dist'));
  cpSync(join(OPENCLAW, 'package.json'), join(root, 'package.json'));
  const dist = readdirSync(join(OPENCLAW, 'dist'));
  const fastPath = dist.filter((f) => /^entry\.esm-resolve-fast-path-.*\.mjs$/.test(f));
  for (const f of fastPath) cpSync(join(OPENCLAW, 'dist', f), join(root, 'dist', f));
  const file = fastPath.find((f) => readFileSync(join(OPENCLAW, 'dist', f), 'utf8').includes(FAST_PATH_NEEDLE)) as string;
  for (const [, dep] of readFileSync(join(OPENCLAW, 'dist', file), 'utf8').matchAll(/from "\.\/([^"]+)"/g))
    cpSync(join(OPENCLAW, 'dist', dep as string), join(root, 'dist', dep as string));
  writeFileSync(join(root, 'dist', 'unrelated-chunk.mjs'), 'export const x = 1;\n');
  return { root, file };
}

describe('OpenClaw resolve fast-path patch (container/patch-openclaw-fast-path.mjs)', () => {
  const patch = (root: string) => node([join(ROOT, 'container', 'patch-openclaw-fast-path.mjs'), root]);

  it('should make the pinned OpenClaw\'s hook accept ".mjs" specifiers, changing only that file', () => {
    const { root, file } = fakeOpenClaw();
    const before = Object.fromEntries(readdirSync(join(root, 'dist')).map((f) => [f, readFileSync(join(root, 'dist', f), 'utf8')]));
    const result = patch(root);
    expect(result.stderr).toContain(`patched dist/${file}`);
    expect(result.status).toBe(0);
    for (const [f, text] of Object.entries(before)) {
      const now = readFileSync(join(root, 'dist', f), 'utf8');
      expect(now, f).toBe(f === file ? text.replace(FAST_PATH_NEEDLE, FAST_PATH_FIX) : text);
    }
  });

  it('should fail the build when the hook is not there as expected (fixed or rewritten upstream), saying how to drop the patch', () => {
    const { root } = fakeOpenClaw();
    expect(patch(root).status).toBe(0);
    const again = patch(root);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('found 0');
    expect(again.stderr).toContain('drop the patch');
  });

  it('should fail the build when more than one file holds the hook', () => {
    const { root, file } = fakeOpenClaw();
    cpSync(join(root, 'dist', file), join(root, 'dist', 'entry.esm-resolve-fast-path-Zz9.mjs'));
    const result = patch(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('found 2');
  });
});

describe('Dockerfile: the boot-time steps', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const at = (text: string) => {
    const i = dockerfile.indexOf(text);
    expect(i, text).toBeGreaterThan(-1);
    return i;
  };

  it('should patch OpenClaw after installing it, warm the cache after the patch, and check it after warming', () => {
    const install = at('npm install -g --no-fund --no-audit "openclaw@${OPENCLAW_VERSION}"');
    const patched = at('RUN node /container/patch-openclaw-fast-path.mjs');
    const warm = at('RUN node /container/compile-cache.mjs warm');
    const check = at('RUN node /container/compile-cache.mjs check --min 0.95');
    expect(install).toBeLessThan(patched);
    expect(patched).toBeLessThan(warm);
    expect(warm).toBeLessThan(check);
  });

  it("should still be what the cold-start bench turns into the image as it was ('before') and one without its cache ('cold')", async () => {
    const bench = '../../scripts/bench-cold-start.mjs';
    const { beforeDockerfile, coldDockerfile } = (await import(bench)) as { beforeDockerfile(text: string): string; coldDockerfile(text: string): string };
    const before = beforeDockerfile(dockerfile);
    expect(before).toContain('ENV NODE_COMPILE_CACHE=/opt/openclaw/compile-cache\nRUN set -e; export OPENCLAW_HOME=/tmp/openclaw-warmup');
    expect(before).not.toMatch(/^RUN node \/container\/(patch-openclaw-fast-path\.mjs|compile-cache\.mjs)/m);
    const cold = coldDockerfile(dockerfile);
    expect(cold).toContain('RUN node /container/patch-openclaw-fast-path.mjs');
    expect(cold).not.toMatch(/^RUN node \/container\/compile-cache\.mjs/m);
    // Importing the bench script (and what it imports) takes seconds on a busy machine.
  }, 60_000);

  it('should set neither NODE_COMPILE_CACHE (the launcher would re-execute itself) nor NODE_OPTIONS (another cache key)', () => {
    const env = dockerfile
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    expect(env).not.toMatch(/NODE_COMPILE_CACHE=/);
    expect(env).not.toMatch(/NODE_OPTIONS=/);
  });
});

describe('expected wake time', () => {
  it('should be the median wake → ready of the last five boots, kept through a round trip', () => {
    const timeline = new BootTimeline();
    expect(timeline.expected).toBeNull();
    for (const [i, ms] of [60_000, 13_000, 12_000, 14_000, 11_000, 12_500].entries()) {
      timeline.begin(1, i * 100_000);
      timeline.finish(i * 100_000 + ms);
    }
    expect(timeline.expected).toEqual({ ms: 12_500, boots: 5 });
    expect(new BootTimeline(JSON.parse(JSON.stringify(timeline.toJSON()))).expected).toEqual({ ms: 12_500, boots: 5 });
    // A record from before the history was kept: its last boot counts.
    expect(new BootTimeline({ current: null, last: timeline.last }).expected).toEqual({ ms: 12_500, boots: 1 });
  });

  it('should show on the progress page what is left of it, counting down from the status', async () => {
    const status = {
      state: 'booting',
      phase: 'starting-gateway',
      bootAttempt: 1,
      maxBootAttempts: 3,
      since: new Date().toISOString(),
      lastError: null,
      bootEstimate: { expectedMs: 13_000, boots: 5, remainingMs: 9_000 },
    };
    const html = await progressPage(status as unknown as AgentStatus).text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    const elements = new Map<string, { textContent: string; hidden: boolean; className: string; addEventListener(): void }>();
    const el = (id: string) => elements.get(id) ?? elements.set(id, { textContent: '', hidden: false, className: '', addEventListener() {} }).get(id)!;
    const clock = { now: 0 };
    const page = createContext({
      document: { getElementById: el, querySelectorAll: () => [], body: { dataset: {} } },
      performance: { now: () => clock.now },
      setTimeout: () => 0,
      fetch: () => new Promise(() => {}),
      location: { reload() {} },
    });
    runInContext(script, page);
    expect(el('eta').textContent).toBe('About 9 s left: the last 5 boots took 13 s (median).');
    clock.now = 4_000;
    runInContext('render(status)', page);
    expect(el('eta').textContent).toBe('About 5 s left: the last 5 boots took 13 s (median).');
    clock.now = 9_500;
    runInContext('render(status)', page);
    expect(el('eta').textContent).toBe('Any moment now: the last 5 boots took 13 s (median).');
    clock.now = 30_000;
    runInContext('render(status)', page);
    expect(el('eta').textContent).toBe('Taking longer than usual: the last 5 boots took 13 s (median).');
    runInContext("status = { ...status, state: 'ready', bootEstimate: { expectedMs: 13000, boots: 5, remainingMs: null } }; render(status)", page);
    expect(el('eta').textContent).toBe('');
  });
});
