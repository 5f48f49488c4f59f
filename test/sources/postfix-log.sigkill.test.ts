/**
 * Nothing lost, nothing counted twice, from a tailed mail log: `mailscope run`
 * (the real binary, in a child process) follows a Postfix log that is being
 * written; it is killed with SIGKILL mid-read, restarted, the log rotates while
 * it runs, and in the end every delivery line written is counted exactly once
 * (each batch's events and the position after it are one commit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { binary } from '../helpers/cli.ts';
import { waitFor } from '../helpers/probes.ts';
import { tempDir } from '../helpers/temp.ts';

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Syslog's time, in UTC (the source is told so). */
const syslogTime = (at: Date) =>
  `${months[at.getUTCMonth()]} ${String(at.getUTCDate()).padStart(2, ' ')} ${[at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}`;

const statuses = [
  { status: 'sent', dsn: '2.0.0', reply: '250 2.0.0 OK 1733480000 x1si123' },
  { status: 'deferred', dsn: '4.7.28', reply: 'host gmail-smtp-in.l.google.com[192.0.2.99] said: 421-4.7.28 Unusual rate of unsolicited mail (in reply to end of DATA command)' },
  { status: 'bounced', dsn: '5.1.1', reply: 'host gmail-smtp-in.l.google.com[192.0.2.99] said: 550-5.1.1 The email account that you tried to reach does not exist (in reply to RCPT TO command)' },
] as const;

/** Delivery line i: mostly sent, every 7th deferred, every 13th bounced; each its own queue id. */
function line(i: number, at: Date): { text: string; status: (typeof statuses)[number]['status'] } {
  const { status, dsn, reply } = statuses[i % 13 === 0 ? 2 : i % 7 === 0 ? 1 : 0];
  const queueId = (0x100000 + i).toString(16).toUpperCase();
  return {
    text: `${syslogTime(at)} mta postfix/pool-a/smtp[${1000 + (i % 50)}]: ${queueId}: to=<user${i}@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.99]:25, delay=1.2, delays=0.1/0/0.4/0.7, dsn=${dsn}, status=${status} (${reply})\n`,
    status,
  };
}

function start(config: string): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [binary, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited };
}

describe('the Postfix log source under SIGKILL', () => {
  it('counts every line written exactly once across a kill mid-read, a restart and a rotation', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const log = join(dir, 'mail.log');
    writeFileSync(log, '');
    const config = join(dir, 'mailscope.yaml');
    writeFileSync(
      config,
      `dataDir: ./data
http: { listen: "127.0.0.1:0" }
sources:
  - { id: maillog, kind: postfix-log, path: "${log}", timeZone: UTC, startAt: beginning, batchLines: 200, pollInterval: 20ms, services: { "postfix/pool-a": { pool: a, ip: "192.0.2.10" } } }
traffic: { mxLookup: false }
`,
    );
    mkdirSync(join(dir, 'probes'));

    // The writer: 250 lines every 10 ms until told to stop, counting what it wrote per status.
    const written = { sent: 0, deferred: 0, bounced: 0 };
    let next = 0;
    let writing = true;
    onTestFinished(() => {
      writing = false;
    });
    const writer = (async () => {
      while (writing) {
        const now = new Date();
        const chunk = Array.from({ length: 250 }, () => line(next++, now));
        for (const entry of chunk) written[entry.status]++;
        appendFileSync(log, chunk.map((entry) => entry.text).join(''));
        await sleep(10);
      }
    })();

    const counted = () => {
      let db: DatabaseSync | undefined;
      try {
        db = new DatabaseSync(join(dir, 'data', 'mailscope.db'), { readOnly: true });
        const row = db.prepare('SELECT sum(delivered) AS sent, sum(deferred) AS deferred, sum(bounced) AS bounced FROM traffic_minutes').get() as Record<string, number | null>;
        return { sent: Number(row.sent ?? 0), deferred: Number(row.deferred ?? 0), bounced: Number(row.bounced ?? 0) };
      } catch {
        return { sent: 0, deferred: 0, bounced: 0 };
      } finally {
        db?.close();
      }
    };
    const total = (counts: { sent: number; deferred: number; bounced: number }) => counts.sent + counts.deferred + counts.bounced;

    // Killed while it reads: thousands counted, more written than counted.
    const first = start(config);
    await waitFor(() => total(counted()) >= 5_000, '5,000 lines counted', 30_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = total(counted());
    expect(atKill).toBeGreaterThanOrEqual(5_000);
    expect(next).toBeGreaterThan(atKill);

    // Restarted from its checkpoint; the log rotates (renamed, a new one begun) while it runs.
    start(config);
    await sleep(500);
    renameSync(log, `${log}.1`);
    writeFileSync(log, '');
    await sleep(500);
    writing = false;
    await writer;

    await waitFor(() => total(counted()) >= next, `all ${next} lines counted`, 60_000);
    // Nothing more arrives late: a second look after a few polls finds the same.
    await sleep(300);
    expect(counted()).toEqual(written);
    const db = new DatabaseSync(join(dir, 'data', 'mailscope.db'), { readOnly: true });
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const slices = db.prepare('SELECT DISTINCT provider, ip, pool FROM traffic_minutes').all();
    db.close();
    expect(slices).toEqual([{ provider: 'gmail', ip: '192.0.2.10', pool: 'a' }]);
  });
});
