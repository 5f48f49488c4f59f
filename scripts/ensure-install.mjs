// Runs on whatever Node the machine has (a fresh one ships Node 20): installs the
// project's packages, Node 24 among them, when they are missing or out of date.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installed = join(root, 'node_modules', '.package-lock.json');
const wanted = join(root, 'package-lock.json');

function upToDate() {
  if (!existsSync(installed) || !existsSync(join(root, 'node_modules', '.bin', 'node'))) return false;
  const a = JSON.parse(readFileSync(installed, 'utf8')).packages ?? {};
  const b = JSON.parse(readFileSync(wanted, 'utf8')).packages ?? {};
  return Object.entries(b).every(([path, entry]) => path === '' || entry.optional || a[path]?.version === entry.version);
}

if (!upToDate()) {
  process.stderr.write('mailscope: installing npm packages (npm ci)...\n');
  execFileSync('npm', ['ci', '--no-fund', '--no-audit'], { cwd: root, stdio: 'inherit' });
}
