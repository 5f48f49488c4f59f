// npm run docs: rewrite the generated reference sections of docs/reference.md from the code.
// The README has none: it links to the reference instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillReadme, renderSections } from './reference.ts';

const name = 'docs/reference.md';
const file = join(import.meta.dirname, '..', name);
const before = readFileSync(file, 'utf8');
const after = fillReadme(before, await renderSections());
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? `${name} is up to date\n` : `${name} updated\n`);
