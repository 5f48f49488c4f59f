#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say which one is needed.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `mailscope needs Node.js 24 or newer; this is ${process.version}.\nInside the project, run it through npm, which uses the Node 24 installed with it: npm run mailscope -- <command>\n`,
  );
  process.exit(1);
}
await import('../src/main.ts');
