/**
 * The lab's providers send real DMARC aggregate reports (Mail::DMARC) about the
 * mail they received, to sender.test's rua mailbox dmarc@sender.test.
 *
 * The messages here come From a subdomain of sender.test made for this run: the
 * reports are about sender.test (where the policy is, sp=quarantine), and their
 * records for that header_from are this test's messages alone, whatever other
 * tests send at the same time.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { sendAggregateReports } from './dmarc-reporter.ts';
import { imapClient, submit, waitForMessage } from './mail.ts';
import { sender } from './plan.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ReportEmail {
  subject: string;
  filename: string;
  contentType: string;
  xml: string;
}

function unzipFirst(zip: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, archive) => {
      if (error) return reject(error);
      archive.on('entry', (entry: yauzl.Entry) => {
        archive.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
      });
      archive.on('error', reject);
      archive.readEntry();
    });
  });
}

/** Every aggregate report in dmarc@sender.test's INBOX, decompressed. */
async function reportEmails(): Promise<ReportEmail[]> {
  const client = imapClient(`dmarc@${sender.domain}`);
  await client.connect();
  const reports: ReportEmail[] = [];
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      for await (const message of client.fetch('1:*', { source: true })) {
        if (!message.source) continue;
        const parsed = await simpleParser(message.source);
        // Reports only: the mailbox also gets DSNs (messages sent with it as the envelope sender that bounced).
        if (!/^Report Domain:/i.test(parsed.subject ?? '')) continue;
        for (const attachment of parsed.attachments) {
          const name = attachment.filename ?? '';
          const xml = /\.zip$/i.test(name) || attachment.contentType === 'application/zip' ? await unzipFirst(attachment.content) : gunzipSync(attachment.content).toString('utf8');
          reports.push({ subject: parsed.subject ?? '', filename: name, contentType: attachment.contentType, xml });
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
  return reports;
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

interface Row {
  reporter: string;
  reportId: string;
  begin: number;
  end: number;
  policyDomain: string | undefined;
  p: string | undefined;
  sp: string | undefined;
  sourceIp: string | undefined;
  count: number;
  disposition: string | undefined;
  dkim: string | undefined;
  spf: string | undefined;
  reason: string | undefined;
  headerFrom: string | undefined;
  envelopeTo: string | undefined;
  authDkimDomains: string[];
  authSpf: string | undefined;
}

function rows(report: ReportEmail): Row[] {
  const policy = /<policy_published>([\s\S]*?)<\/policy_published>/.exec(report.xml)?.[1] ?? '';
  return [...report.xml.matchAll(/<record>([\s\S]*?)<\/record>/g)].map(([, record = '']) => {
    const evaluated = /<policy_evaluated>([\s\S]*?)<\/policy_evaluated>/.exec(record)?.[1] ?? '';
    const auth = /<auth_results>([\s\S]*?)<\/auth_results>/.exec(record)?.[1] ?? '';
    return {
      reporter: tag(report.xml, 'org_name') ?? '',
      reportId: tag(report.xml, 'report_id') ?? '',
      begin: Number(tag(report.xml, 'begin')),
      end: Number(tag(report.xml, 'end')),
      policyDomain: tag(policy, 'domain'),
      p: tag(policy, 'p'),
      sp: tag(policy, 'sp'),
      sourceIp: tag(record, 'source_ip'),
      count: Number(tag(record, 'count')),
      disposition: tag(evaluated, 'disposition'),
      dkim: tag(evaluated, 'dkim'),
      spf: tag(evaluated, 'spf'),
      reason: tag(evaluated, 'type'),
      headerFrom: tag(record, 'header_from'),
      envelopeTo: tag(record, 'envelope_to'),
      authDkimDomains: [...auth.matchAll(/<dkim>[\s\S]*?<domain>([^<]*)<\/domain>[\s\S]*?<result>([^<]*)<\/result>[\s\S]*?<\/dkim>/g)].map(([, domain, result]) => `${domain}:${result}`),
      authSpf: /<spf>[\s\S]*?<domain>([^<]*)<\/domain>[\s\S]*?<result>([^<]*)<\/result>[\s\S]*?<\/spf>/.exec(auth)?.slice(1).join(':'),
    };
  });
}

/** The report rows about header_from, once as many messages as expected are in them. */
async function waitForRows(headerFrom: string, messages: number, timeoutMs = 20_000): Promise<{ rows: Row[]; reports: ReportEmail[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reports = (await reportEmails()).filter((report) => report.xml.includes(`<header_from>${headerFrom}</header_from>`));
    const found = reports.flatMap(rows).filter((row) => row.headerFrom === headerFrom);
    if (found.reduce((sum, row) => sum + row.count, 0) >= messages) return { rows: found, reports };
    if (Date.now() > deadline) throw new Error(`${found.length} report rows about ${headerFrom} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe('lab: DMARC aggregate reports (Mail::DMARC)', () => {
  it('reports what gmail.test and outlook.test received to dmarc@sender.test, gzipped, with the sending IPs and their results', async () => {
    const label = `dmarc-${randomBytes(5).toString('hex')}`;
    const headerFrom = `${label}.${sender.domain}`;
    const from = `Lab News <news@${headerFrom}>`;
    const sentAt = Math.floor(Date.now() / 1000);
    // Signed and in SPF (aligned: relaxed, organizational domain sender.test); then unsigned from outside SPF, twice.
    await submit('clean', { to: 'seed1@gmail.test', subject: `${label} clean`, text: 'aligned', from });
    // The same path and verdicts From sender.test itself: a record of its own, not counted with the one above.
    await submit('clean', { to: 'seed1@gmail.test', subject: `${label} plain`, text: 'aligned' });
    await submit('unsigned', { to: 'seed1@gmail.test', subject: `${label} unsigned`, text: 'not aligned', from });
    await submit('unsigned', { to: 'seed1@outlook.test', subject: `${label} unsigned`, text: 'not aligned', from });
    await waitForMessage('seed1@gmail.test', { subject: `${label} clean` });
    await waitForMessage('seed1@gmail.test', { subject: `${label} plain` });
    await waitForMessage('seed1@gmail.test', { subject: `${label} unsigned` });
    const junked = await waitForMessage('seed1@outlook.test', { subject: `${label} unsigned` });
    expect(junked.specialUse).toBe('\\Junk');

    // (Another test's call may have reported these messages already: the rows below are what counts.)
    const run = await sendAggregateReports();
    expect(run.reporters.map((reporter) => reporter.reporter).sort()).toEqual(['gmail.test', 'outlook.test', 'yahoo.test']);
    expect(
      run.reporters.every((reporter) => reporter.errors === 0),
      run.log,
    ).toBe(true);

    const { rows: found, reports } = await waitForRows(headerFrom, 3);
    for (const report of reports) {
      expect(report.contentType).toBe('application/gzip');
      expect(report.filename).toMatch(/^(gmail|outlook)\.test!sender\.test!\d+!\d+!\d+\.xml\.gz$/);
      expect(report.subject).toMatch(/^Report Domain: sender\.test Submitter: (gmail|outlook)\.test Report-ID:/);
      expect(report.xml).toMatch(/^<\?xml version="1.0"\?>\s*<feedback>/);
    }
    const summary = found
      .map((row) => ({
        reporter: row.reporter,
        sourceIp: row.sourceIp,
        count: row.count,
        disposition: row.disposition,
        dkim: row.dkim,
        spf: row.spf,
        reason: row.reason,
        envelopeTo: row.envelopeTo,
        authDkim: row.authDkimDomains,
        authSpf: row.authSpf,
      }))
      .sort((a, b) => `${a.reporter} ${a.sourceIp}`.localeCompare(`${b.reporter} ${b.sourceIp}`));
    expect(summary).toEqual([
      {
        reporter: 'gmail.test',
        sourceIp: sender.pools.clean.source,
        count: 1,
        disposition: 'none',
        dkim: 'pass',
        spf: 'pass',
        reason: undefined,
        envelopeTo: 'gmail.test',
        authDkim: ['sender.test:pass'],
        authSpf: 'sender.test:pass',
      },
      // The policy (sp=quarantine) asked for quarantine; this receiver delivered to the inbox, and says why.
      {
        reporter: 'gmail.test',
        sourceIp: sender.pools.unsigned.source,
        count: 1,
        disposition: 'none',
        dkim: 'fail',
        spf: 'fail',
        reason: 'local_policy',
        envelopeTo: 'gmail.test',
        authDkim: [],
        authSpf: 'sender.test:fail',
      },
      {
        reporter: 'outlook.test',
        sourceIp: sender.pools.unsigned.source,
        count: 1,
        disposition: 'quarantine',
        dkim: 'fail',
        spf: 'fail',
        reason: undefined,
        envelopeTo: 'outlook.test',
        authDkim: [],
        authSpf: 'sender.test:fail',
      },
    ]);
    for (const row of found) {
      expect(row).toMatchObject({ policyDomain: sender.domain, p: 'reject', sp: 'quarantine' });
      expect(row.begin).toBeLessThanOrEqual(sentAt + 1);
      expect(row.end).toBeGreaterThanOrEqual(sentAt);
      expect(row.end).toBeLessThan(Date.now() / 1000);
    }

    // Again: nothing of this test's mail is reported twice.
    const again = await sendAggregateReports();
    expect(
      again.reporters.every((reporter) => reporter.errors === 0),
      again.log,
    ).toBe(true);
    await sleep(1_500);
    const after = (await reportEmails()).flatMap(rows).filter((row) => row.headerFrom === headerFrom);
    expect(after.reduce((sum, row) => sum + row.count, 0)).toBe(3);
  }, 90_000);
});
