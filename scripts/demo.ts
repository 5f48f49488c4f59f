// npm run demo: the lab up, Mailscope running on demo/mailscope.yaml (probes/demo/)
// until Ctrl-C, then the lab down again if the demo started it (MAILSCOPE_LAB_KEEP=1
// leaves it running).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sendAggregateReports } from '../test/lab/dmarc-reporter.ts';
import { labKeys } from '../test/lab/keys.ts';
import { labDown, labUp } from '../test/lab/lab.ts';
import { lab } from '../test/lab/plan.ts';

const root = join(import.meta.dirname, '..');

let started: boolean;
try {
  ({ started } = await labUp());
} catch (error) {
  process.stderr.write(`demo: the lab did not come up: ${(error as Error).message}\n`);
  process.exit(1);
}

process.stderr.write(
  [
    '',
    'demo: the console: http://127.0.0.1:8025/  sign in with demo-operator-token-0001 (or demo-viewer-token-0001: no buttons)',
    'demo:   then try: list an IP on the lab DNSBL and watch it turn red, pause and resume it from the page:',
    'demo:     npm exec -- node test/lab/lab.ts list 127.0.0.10      (delist: the same with delist)',
    'demo:   break a record: npm exec -- node test/lab/lab.ts break-dmarc   (fix-dmarc puts it back)',
    'demo: Mailscope on http://127.0.0.1:8025  (API docs: http://127.0.0.1:8025/docs)',
    "demo:   curl -H 'Authorization: Bearer demo-viewer-token-0001' http://127.0.0.1:8025/v1/probes",
    "demo:   curl -H 'Authorization: Bearer demo-viewer-token-0001' 'http://127.0.0.1:8025/v1/dmarc/sources?domain=sender.test'",
    "demo: the lab's providers send DMARC aggregate reports about what they received every 2 minutes (to dmarc@sender.test).",
    started ? 'demo: Ctrl-C stops Mailscope and the lab.' : 'demo: Ctrl-C stops Mailscope (the lab was already up and stays up).',
    '',
  ].join('\n'),
);

const mailscope = spawn(process.execPath, [join(root, 'bin', 'mailscope.js'), '--config', join(root, 'demo', 'mailscope.yaml'), 'run'], {
  stdio: 'inherit',
  env: { ...process.env, MAILSCOPE_LAB_CA: labKeys().caCert, MAILSCOPE_LAB_MAILLOG: join(lab.stateDir, 'log', 'postfix.log') },
});
// The lab's providers report what they received, as real ones do daily: every 2 minutes here.
const reporting = setInterval(() => {
  sendAggregateReports().catch((error: Error) => process.stderr.write(`demo: DMARC reports not sent: ${error.message}\n`));
}, 120_000);
mailscope.on('close', () => clearInterval(reporting));
// Ctrl-C reaches Mailscope directly (same process group); this script waits for it to finish.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signal === 'SIGTERM') mailscope.kill('SIGTERM');
  });
}
const code = await new Promise<number>((resolve) => mailscope.on('close', (exitCode) => resolve(exitCode ?? 1)));
if (started && process.env.MAILSCOPE_LAB_KEEP !== '1') await labDown();
process.exit(code);
