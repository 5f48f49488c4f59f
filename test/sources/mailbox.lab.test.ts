/**
 * The report mailbox against the lab's real servers.
 * - Real reports: the lab's providers send DMARC aggregate reports (Mail::DMARC)
 *   about mail they received, and the lab's Postfix returns a DSN for a
 *   recipient that does not exist; Mailscope reads them over IMAP (Dovecot),
 *   records them, names the sources by their reverse DNS, counts the bounce, and
 *   moves each message out once recorded.
 * - SIGKILL between the commit and the move: `mailscope run` (the real binary)
 *   is killed while its MOVE is held at a proxy in front of Dovecot, after the
 *   report it read was committed; restarted, it reads the message again, finds
 *   the report recorded, and moves it: no report lost, none recorded twice.
 * Each test works in folders of its own (copies of what arrived), so the other
 * lab tests that read dmarc@sender.test's INBOX see it as it was.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import nodemailer from 'nodemailer';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sendAggregateReports } from '../lab/dmarc-reporter.ts';
import { imapClient, submit } from '../lab/mail.ts';
import { lab, labPassword, sender } from '../lab/plan.ts';
import { binary } from '../helpers/cli.ts';
import { runningObservatory } from '../helpers/observatory.ts';
import { aggregateXml, dsnMail, gzipped } from '../helpers/reports.ts';
import { tempDir } from '../helpers/temp.ts';

const rua = `dmarc@${sender.domain}`;

/** Until the condition holds (asked again every 200 ms), or fail naming what was awaited. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
const token = 'mailbox-lab-viewer-token-01';

/** Messages in a folder of the rua mailbox (0 when it does not exist). */
async function count(folder: string): Promise<number> {
  const client = imapClient(rua);
  await client.connect();
  try {
    const status = await client.status(folder, { messages: true }).catch(() => undefined);
    return status ? (status.messages ?? 0) : 0;
  } finally {
    await client.logout();
  }
}

/** Copy the INBOX messages whose source matches into a folder of their own; returns how many. */
async function copyMatching(folder: string, matches: (source: string) => boolean): Promise<number> {
  const client = imapClient(rua);
  await client.connect();
  try {
    await client.mailboxCreate(folder).catch(() => {});
    const lock = await client.getMailboxLock('INBOX');
    try {
      const uids: number[] = [];
      for await (const message of client.fetch('1:*', { uid: true, source: true })) if (message.source && matches(message.source.toString('utf8'))) uids.push(message.uid);
      if (uids.length > 0) await client.messageCopy(uids.join(','), folder, { uid: true });
      return uids.length;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

function mailboxConfig(dir: string, options: { port: number; folder: string; interval: string; batch?: number; dns: boolean }): void {
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      `tokens: [{ name: grafana, role: viewer, token: "${token}" }]`,
      `dns: { resolvers: ["127.0.0.1:${lab.resolver.port}"] }`,
      'sources:',
      `  - { id: rua, kind: mailbox, host: 127.0.0.1, port: ${options.port}, security: none, user: "${rua}", password: "${labPassword}", mailbox: "${options.folder}", processed: "${options.folder}-done", quarantine: "${options.folder}-refused", interval: ${options.interval}, batch: ${options.batch ?? 200} }`,
      `reports: { nameSources: ${options.dns} }`,
      'traffic: { mxLookup: false }',
      `controls: { providers: { gmail: [gmail.test], outlook: [outlook.test], yahoo: [yahoo.test] } }`,
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'), { recursive: true });
}

describe('lab: the report mailbox', () => {
  it("records the lab's real DMARC aggregate reports and DSNs read over IMAP, names the sources, counts the bounce, and moves each message", async () => {
    const label = `rua-${randomBytes(4).toString('hex')}`;
    const headerFrom = `${label}.${sender.domain}`;
    const from = `Lab News <news@${headerFrom}>`;
    await submit('clean', { to: 'seed1@gmail.test', subject: `${label} aligned`, text: 'aligned', from });
    await submit('unsigned', { to: 'seed1@gmail.test', subject: `${label} unaligned`, text: 'unaligned', from });
    // A recipient the provider's mailbox server does not know: its MX accepted, delivery refused, a DSN returns to the envelope sender.
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sender.pools.clean.submission, secure: false, ignoreTLS: true });
    await transport.sendMail({ from, envelope: { from: rua, to: `${label}@gmail.test` }, to: `${label}@gmail.test`, subject: `${label} bounce`, text: 'nobody here' });
    transport.close();

    const folder = `Test-${label}`;
    let reports = 0;
    let bounces = 0;
    await waitFor(
      async () => {
        await sendAggregateReports();
        const client = imapClient(rua);
        await client.connect();
        try {
          const lock = await client.getMailboxLock('INBOX');
          try {
            reports = 0;
            bounces = 0;
            for await (const message of client.fetch('1:*', { source: true })) {
              const text = message.source?.toString('utf8') ?? '';
              if (/Report Domain: sender\.test/i.test(text) && text.includes('gmail.test')) reports++;
              if (text.includes(`${label}@gmail.test`) && /delivery-status/i.test(text)) bounces++;
            }
          } finally {
            lock.release();
          }
        } finally {
          await client.logout();
        }
        return reports > 0 && bounces > 0;
      },
      'a report from gmail.test and the DSN in the rua mailbox',
      30_000,
    );
    // The reports of gmail.test (this test's messages among them) and this test's DSN, in a folder of their own.
    const copied = await copyMatching(
      folder,
      (text) => (/Report Domain: sender\.test/i.test(text) && /Submitter: gmail\.test/i.test(text)) || (text.includes(`${label}@gmail.test`) && /delivery-status/i.test(text)),
    );
    expect(copied).toBeGreaterThanOrEqual(2);

    const dir = tempDir();
    mailboxConfig(dir, { port: lab.imap.port, folder, interval: '200ms', dns: true });
    const running = await runningObservatory(dir, { token, dnsServers: [lab.resolver], logLevel: 'warn' });
    await waitFor(async () => (await count(folder)) === 0, 'the folder emptied', 30_000);
    expect(await count(`${folder}-done`)).toBe(copied);
    expect(await count(`${folder}-refused`)).toBe(0);

    const list = await running.api('/v1/reports?limit=1000');
    const aggregates = list.body.reports.filter((report: any) => report.kind === 'dmarc-aggregate');
    expect(aggregates.length).toBeGreaterThan(0);
    expect(new Set(aggregates.map((report: any) => `${report.org} ${report.domain} ${report.source}`))).toEqual(new Set(['gmail.test sender.test rua']));
    expect(list.body.reports.filter((report: any) => report.kind === 'dsn')).toHaveLength(1);

    // This test's two messages, as the receiver saw them: 127.0.0.10 aligned, 127.0.0.12 neither.
    const rows = (await Promise.all(aggregates.map((report: any) => running.api(`/v1/reports/${report.id}?rows=1000`)))).flatMap((answer) => answer.body.rows);
    const mine = rows.filter((row: any) => row.headerFrom === headerFrom);
    expect(mine.map((row: any) => [row.sourceIp, row.count, row.dkimAligned || row.spfAligned]).sort()).toEqual([
      ['127.0.0.10', 1, true],
      ['127.0.0.12', 1, false],
    ]);
    const sources = await running.api('/v1/dmarc/sources?domain=sender.test&since=30d');
    const clean = sources.body.sources.find((source: any) => source.sourceIp === '127.0.0.10');
    const unsigned = sources.body.sources.find((source: any) => source.sourceIp === '127.0.0.12');
    // The clean pool's PTR resolves back: named by its base domain. The unsigned pool has no PTR: named by its IP.
    expect(clean).toMatchObject({ confirmed: true, source: sender.domain, name: expect.stringMatching(/\.sender\.test$/) });
    expect(unsigned).toMatchObject({ confirmed: false, source: '127.0.0.12' });
    expect(unsigned.nameError).toBeUndefined();

    // The DSN counted as a bounce to gmail, of an invalid recipient.
    const traffic = await running.api('/v1/traffic?since=7d&by=provider');
    expect(traffic.body.rows).toEqual([expect.objectContaining({ key: 'gmail', counts: expect.objectContaining({ bounced: 1 }), classes: { invalid_recipient: 1 } })]);
  });

  it('loses no report and records none twice when killed between the commit and the mailbox move', async () => {
    const folder = `Kill-${randomBytes(4).toString('hex')}`;
    // Five messages in a folder of their own: three aggregate reports, a DSN, and one that is no report.
    const client = imapClient(rua);
    await client.connect();
    try {
      await client.mailboxCreate(folder);
      const attach = (id: string) =>
        [
          'From: noreply-dmarc-support@google.com',
          `To: ${rua}`,
          `Subject: Report domain: sender.test Submitter: google.com Report-ID: ${id}`,
          `Message-ID: <${id}@google.com>`,
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="b"',
          '',
          '--b',
          'Content-Type: application/gzip; name="google.com!sender.test!1764892800!1764979199.xml.gz"',
          'Content-Transfer-Encoding: base64',
          '',
          gzipped(aggregateXml({ reportId: id, rows: [{ ip: '192.0.2.10', count: 7 }] }))
            .toString('base64')
            .replace(/.{76}/g, '$&\r\n'),
          '--b--',
          '',
        ].join('\r\n');
      for (const id of ['kill-1', 'kill-2', 'kill-3']) await client.append(folder, attach(id));
      await client.append(folder, dsnMail({ recipient: 'gone@gmail.test' }));
      await client.append(folder, 'From: someone@example.test\r\nSubject: hello\r\n\r\nnot a report\r\n');
    } finally {
      await client.logout();
    }

    // A proxy in front of Dovecot that holds every MOVE while `hold` is set (and says when one came).
    let hold = true;
    let heldMoves = 0;
    const sockets = new Set<Socket>();
    const proxy = createServer((downstream) => {
      const upstream = connect(lab.imap.port, '127.0.0.1');
      sockets.add(downstream).add(upstream);
      downstream.on('data', (chunk: Buffer) => {
        if (hold && /\bMOVE\b/i.test(chunk.toString('latin1'))) {
          heldMoves++;
          return;
        }
        upstream.write(chunk);
      });
      upstream.pipe(downstream);
      for (const socket of [downstream, upstream]) socket.on('error', () => {});
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    });
    const port = (proxy.address() as { port: number }).port;

    const dir = tempDir();
    mailboxConfig(dir, { port, folder, interval: '200ms', batch: 1, dns: false });
    const start = () => {
      const child = spawn(process.execPath, [binary, 'run', '--config', join(dir, 'mailscope.yaml')], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
      onTestFinished(() => {
        child.kill('SIGKILL');
      });
      return child;
    };
    const reportsIn = () => {
      const db = new DatabaseSync(join(dir, 'data', 'mailscope.db'), { readOnly: true });
      try {
        return (db.prepare('SELECT report_id FROM reports ORDER BY id').all() as { report_id: string }[]).map((row) => row.report_id);
      } catch {
        return [];
      } finally {
        db.close();
      }
    };

    const first = start();
    await waitFor(() => heldMoves > 0, 'the first MOVE, after the first report committed', 30_000);
    // The move is held: what the message carried is committed, the message still in the folder. Now the kill.
    expect(reportsIn()).toEqual(['kill-1']);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(await count(folder)).toBe(5);

    hold = false;
    const second = start();
    await waitFor(async () => (await count(folder)) === 0, 'the folder emptied after the restart', 30_000);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    expect(reportsIn().sort()).toEqual(['<news-1@sender.test>', 'kill-1', 'kill-2', 'kill-3']);
    expect(await count(`${folder}-done`)).toBe(4);
    expect(await count(`${folder}-refused`)).toBe(1);
    const db = new DatabaseSync(join(dir, 'data', 'mailscope.db'), { readOnly: true });
    try {
      // The DSN's bounce counted once, the refused message quarantined once.
      expect(db.prepare('SELECT sum(bounced) AS bounced FROM traffic_minutes').get()).toEqual({ bounced: 1 });
      expect(db.prepare('SELECT count(*) AS n, min(code) AS code FROM report_quarantine').get()).toEqual({ n: 1, code: 'unknown' });
    } finally {
      db.close();
    }
  });
});
