/**
 * container/slim-discord-plugin.sh on a plugin tree laid out as
 * @openclaw/discord is published: what is never loaded goes (declarations,
 * source maps, other platforms' native builds), every package stays (OpenClaw
 * refuses a plugin whose dependency tree lacks a declared one), and a second
 * run changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/root.mjs';

const HERE = `${process.platform}-${process.arch}`;
const OTHER = process.platform === 'darwin' ? 'linux-x64-gnu' : 'darwin-arm64';

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function plugin(): string {
  dir = mkdtempSync(join(tmpdir(), 'slim-discord-'));
  const tree = [
    'package.json',
    'dist/index.js',
    'dist/index.d.ts',
    'node_modules/zod/package.json',
    'node_modules/zod/index.js',
    'node_modules/zod/index.d.cts',
    'node_modules/zod/index.js.map',
    'node_modules/typebox/build/index.mjs',
    'node_modules/typebox/build/index.d.mts',
    'node_modules/@types/lodash.transform/package.json',
    'node_modules/@types/lodash.transform/index.d.ts',
    'node_modules/@snazzah/davey/package.json',
    `node_modules/@snazzah/davey-${HERE}-gnu/davey.node`,
    `node_modules/@snazzah/davey-${OTHER}/davey.node`,
    'node_modules/@snazzah/davey-win32-x64-msvc/davey.node',
  ];
  for (const file of tree) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), file);
  }
  return dir;
}

const slim = (target: string) => execFileSync('sh', [join(ROOT, 'container', 'slim-discord-plugin.sh'), target], { encoding: 'utf8' });

describe('slim-discord-plugin.sh', () => {
  it("should drop the dependencies' declarations, source maps and other platforms' native builds, and keep every package", () => {
    const root = plugin();
    slim(root);
    expect(files(root)).toEqual(
      [
        'package.json',
        'dist/index.js',
        // The plugin's own files are left as published.
        'dist/index.d.ts',
        'node_modules/zod/package.json',
        'node_modules/zod/index.js',
        'node_modules/typebox/build/index.mjs',
        'node_modules/@types/lodash.transform/package.json',
        'node_modules/@snazzah/davey/package.json',
        `node_modules/@snazzah/davey-${HERE}-gnu/davey.node`,
      ].sort(),
    );
    const once = files(root);
    slim(root);
    expect(files(root)).toEqual(once);
  });

  it('should leave a directory without dependencies alone', () => {
    dir = mkdtempSync(join(tmpdir(), 'slim-discord-'));
    writeFileSync(join(dir, 'index.d.ts'), '');
    slim(dir);
    expect(existsSync(join(dir, 'index.d.ts'))).toBe(true);
  });
});
