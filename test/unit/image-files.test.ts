/**
 * What the image's scripts import is in the image too: every relative import
 * of a file the Dockerfile copies resolves, at its place in the image, to
 * another file the Dockerfile copies there. (A file of src/ imported by
 * container code that runs in the container must be copied with it.)
 */
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/root.mjs';

/** The Dockerfile's COPY of project files: each source file with the path it gets in the image. */
function copiedFiles(dockerfile: string): Map<string, string> {
  const copied = new Map<string, string>(); // image path → source path
  for (const line of dockerfile.split('\n')) {
    const m = /^COPY (?!--from)(.+)$/.exec(line.trim());
    if (!m) continue;
    const parts = (m[1] as string).split(/\s+/).filter((p) => !p.startsWith('--'));
    const dest = parts.pop() as string;
    for (const source of parts) {
      if (!/\.(ts|mjs|js)$/.test(source)) continue;
      copied.set(dest.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest, source);
    }
  }
  return copied;
}

describe("the image's scripts", () => {
  it('should import only what the image has, where the image has it', () => {
    const copied = copiedFiles(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(copied.get('/container/host/state-archive.ts')).toBe('container/host/state-archive.ts');
    const missing: string[] = [];
    for (const [imagePath, source] of copied) {
      const text = readFileSync(join(ROOT, source), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = posix.normalize(posix.join(dirname(imagePath), m[1] as string));
        if (!copied.has(target)) missing.push(`${source} imports ${m[1]} → ${target}, which the image does not have`);
      }
    }
    expect(missing).toEqual([]);
  });
});
