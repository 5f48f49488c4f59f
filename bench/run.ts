// npm run bench -- <name>: run one benchmark (bench/<name>.ts). Each prints ratios
// against references measured in the same run: machines here are noisy.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const available = readdirSync(import.meta.dirname)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}>\n`);
  process.exit(2);
}
await import(join(import.meta.dirname, `${name}.ts`));
