// npm run docs: rewrite README.md's generated reference sections from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillReadme, renderSections } from './reference.ts';

const file = join(import.meta.dirname, '..', 'README.md');
const before = readFileSync(file, 'utf8');
const after = fillReadme(before, await renderSections());
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'README.md is up to date\n' : 'README.md updated\n');
