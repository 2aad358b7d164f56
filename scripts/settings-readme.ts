// `npm run settings:readme`: writes the README's configuration table from the
// settings table (src/settings.ts), between its two marker comments. The test
// in test/e2e/project-config.test.ts fails when the README and the table differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settingsTable } from '../src/settings.ts';

export const BEGIN = '<!-- settings:begin (written by `npm run settings:readme` from src/settings.ts) -->';
export const END = '<!-- settings:end -->';

const readme = join(fileURLToPath(new URL('..', import.meta.url).href), 'README.md');
const text = readFileSync(readme, 'utf8');
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${BEGIN} … ${END} block`);
  process.exit(1);
}
const next = `${text.slice(0, start + BEGIN.length)}\n${settingsTable()}\n${text.slice(end)}`;
if (next === text) console.log('README.md: the configuration table is up to date');
else {
  writeFileSync(readme, next);
  console.log('README.md: configuration table written from src/settings.ts');
}
