#!/usr/bin/env node
// A build-time patch to the pinned OpenClaw (README: "Patch to OpenClaw:
// the ESM resolve fast path").
//
// OpenClaw's entry installs a resolve hook (dist/entry.esm-resolve-fast-path-*.mjs)
// that answers dist-internal relative imports by a URL join instead of Node's
// resolver, which re-reads the package's exports map for every import. The
// hook accepts only specifiers ending in ".js", but the built chunks import
// one another as ".mjs", so almost none of a gateway boot's ~15,000 imports
// take it. The patch makes it accept ".mjs" too (every file under dist/ is
// ESM, so the format it answers, "module", stays right).
//
// It fails (exit 1, saying why) unless it changed exactly one file — the
// expected one, in the expected place — and the patched hook then
// short-circuits a ".mjs" import while still passing a bare specifier on. So
// a new OpenClaw that fixed, moved or rewrote the hook stops the build
// instead of being skipped silently.
//
// Usage: node patch-openclaw-fast-path.mjs [openclaw package directory]
//   (default: the globally installed openclaw, `npm root -g`/openclaw)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The condition as OpenClaw ships it: only ".js" specifiers qualify. */
export const FAST_PATH_NEEDLE = '!specifier.endsWith(".js")';
/** The patched condition: ".js" and ".mjs" specifiers qualify. */
export const FAST_PATH_FIX = '!(specifier.endsWith(".js") || specifier.endsWith(".mjs"))';
const FILE_PATTERN = /^entry\.esm-resolve-fast-path-[A-Za-z0-9_-]+\.mjs$/;

const fail = (message) => {
  throw Object.assign(new Error(`patch-openclaw-fast-path: ${message}`), { patchFailed: true });
};

/** SHA-256 of every file under `dir` (symbolic links by their target name), keyed by path relative to `dir`. */
function fingerprint(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
      else out.set(relative(dir, path), `link or special: ${entry.name}`);
    }
  };
  walk(dir);
  return out;
}

/** Loads the patched module and checks what its hook answers for a ".mjs", a ".js" and a bare specifier. */
async function verifyHook(root, file) {
  const mod = await import(`${pathToFileURL(join(root, 'dist', file)).href}?verify=${Date.now()}`);
  const install = Object.values(mod).find((value) => typeof value === 'function');
  if (!install) fail(`dist/${file} exports no function after the patch`);
  const hooks = [];
  const distRoot = `${pathToFileURL(join(root, 'dist')).href}/`;
  const installed = install(new URL('entry.js', distRoot).href, { registerHooks: (h) => hooks.push(h), execArgv: [], nodeOptions: '' });
  if (installed !== true || hooks.length !== 1) fail(`the patched hook did not install (returned ${installed}, ${hooks.length} hooks)`);
  const context = { parentURL: new URL('gateway-run.mjs', distRoot).href, conditions: ['node', 'import'] };
  const next = () => ({ passedOn: true });
  for (const specifier of ['./chunk-Ab1_c.mjs', './chunk-Ab1_c.js']) {
    const answer = hooks[0].resolve(specifier, context, next);
    if (answer?.url !== new URL(specifier, distRoot).href || answer.format !== 'module' || answer.shortCircuit !== true) {
      fail(`the patched hook does not short-circuit ${specifier}: ${JSON.stringify(answer)}`);
    }
  }
  if (hooks[0].resolve('zod', context, next)?.passedOn !== true) fail('the patched hook no longer passes a bare specifier on to Node');
}

/**
 * Applies the fast-path fix to the OpenClaw package at `root`.
 * Returns the patched file (relative to `root`) and the package's version.
 * @throws an Error (`patchFailed`) when the hook is not found exactly once, when
 *   any other file changed, or when the patched hook does not behave as expected.
 */
export async function patchFastPath(root) {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const dist = join(root, 'dist');
  const candidates = readdirSync(dist)
    .filter((name) => FILE_PATTERN.test(name))
    .map((name) => ({ name, text: readFileSync(join(dist, name), 'utf8') }))
    .filter((c) => c.text.includes(FAST_PATH_NEEDLE));
  if (candidates.length !== 1) {
    fail(
      `openclaw ${version}: expected exactly one dist/entry.esm-resolve-fast-path-*.mjs holding ${FAST_PATH_NEEDLE}, found ${candidates.length}` +
        (candidates.length ? ` (${candidates.map((c) => c.name).join(', ')})` : '') +
        '. If this OpenClaw accepts ".mjs" specifiers itself, drop the patch (README: "Patch to OpenClaw"); otherwise update it.',
    );
  }
  const [{ name, text }] = candidates;
  if (text.split(FAST_PATH_NEEDLE).length !== 2) fail(`dist/${name} holds ${FAST_PATH_NEEDLE} more than once`);
  const before = fingerprint(root);
  writeFileSync(join(dist, name), text.replace(FAST_PATH_NEEDLE, FAST_PATH_FIX));
  const after = fingerprint(root);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((path) => before.get(path) !== after.get(path));
  const expected = join('dist', name);
  if (changed.length !== 1 || changed[0] !== expected) fail(`expected to change only ${expected}, changed: ${changed.join(', ') || 'nothing'}`);
  await verifyHook(root, name);
  return { file: expected, version };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = process.argv[2] ?? join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'openclaw');
  try {
    const { file, version } = await patchFastPath(root);
    console.error(`patch-openclaw-fast-path: openclaw ${version}: patched ${file} (relative ".mjs" imports inside dist/ take the resolve fast path)`);
  } catch (error) {
    console.error(error.patchFailed ? error.message : `patch-openclaw-fast-path: ${error.stack ?? error}`);
    process.exit(1);
  }
}
