/**
 * The report service over a real store: a report recorded once (its dedupe
 * key), its DMARC rows with each source named by its forward-confirmed reverse
 * DNS, its points for the outbox and the alert rules, the quarantine for what
 * cannot be read, and the bounces and complaints it carries counted as traffic.
 */
import { Readable } from 'node:stream';
import type { Answer } from 'dns-packet';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { RuleSchema } from '../../src/alerts/rules.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { providerMap } from '../../src/core/providers.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { defaultReportLimits } from '../../src/protocols/reports/limits.ts';
import { ReportService } from '../../src/reports/service.ts';
import { listAlerts } from '../../src/store/alerts.ts';
import { Database } from '../../src/store/database.ts';
import { takeBatch } from '../../src/store/outbox.ts';
import { dmarcRowsOf, dmarcSources, ipNames, listReportQuarantine, listReports } from '../../src/store/reports.ts';
import { trafficTotals } from '../../src/store/traffic.ts';
import { TrafficService } from '../../src/traffic/service.ts';
import { fakeDns, type Query, type Reply } from '../helpers/dns-server.ts';
import { captureLog } from '../helpers/log.ts';
import { aggregateXml, arfMail, dsnMail, gzipped, tlsReportJson } from '../helpers/reports.ts';
import { tempDir } from '../helpers/temp.ts';

const now = '2026-12-06T10:00:00Z';

/** Reverse DNS as the world has it: a confirmed Google name, a PTR that claims google.com but does not resolve back, a failing server. */
function reverseDns(query: Query): Reply {
  const ptr = (data: string): Reply => ({ answers: [{ name: query.name, type: 'PTR', ttl: 60, data } as Answer] });
  const a = (data: string): Reply => ({ answers: [{ name: query.name, type: 'A', ttl: 60, data } as Answer] });
  if (query.name === '41.220.85.209.in-addr.arpa') return ptr('mail-sor-f41.google.com');
  if (query.name === 'mail-sor-f41.google.com' && query.type === 'A') return a('209.85.220.41');
  if (query.name === '9.113.0.203.in-addr.arpa') return ptr('forged.google.com');
  if (query.name === 'forged.google.com' && query.type === 'A') return a('198.51.100.1');
  if (query.name === '7.100.51.198.in-addr.arpa') return { rcode: 'SERVFAIL' };
  return { rcode: 'NXDOMAIN' };
}

async function setup(options: { rules?: unknown[] } = {}) {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock(now);
  const log = captureLog();
  const server = await fakeDns(reverseDns);
  const dns = new DnsClient({ servers: [server.server], timeoutMs: 300, attempts: 1 });
  onTestFinished(() => dns.close());
  const traffic = new TrafficService({
    db,
    clock,
    log: log.log,
    providers: providerMap({ yahoo: ['yahoo.test'], gmail: ['gmail.test'] }),
    settings: { campaignTag: false, reasonsKept: 5, mxLookup: false, oldestMs: 30 * 86_400_000 },
  });
  const rules = (options.rules ?? []).map((rule) => RuleSchema.parse(rule));
  const alerts = new AlertEngine({ db, rules, clock, log: log.log, settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { windowMs: 3_600_000, maxTransitions: 4 } } });
  const reports = new ReportService({
    db,
    clock,
    log: log.log,
    dns,
    traffic,
    settings: { limits: defaultReportLimits, nameSources: true, namesPerReport: 100 },
    evaluate: (points) => alerts.evaluate(points),
    own: (ip) => ip === '127.0.0.10',
  });
  const lines = (measurement: string) =>
    takeBatch(db, 10_000)
      .map((row) => row.line)
      .filter((line) => line.startsWith(`${measurement},`));
  return { db, clock, log, reports, traffic, lines };
}

const origin = { source: 'rua', name: 'INBOX/1' };

const googleReport = aggregateXml({
  reportId: 'g-1',
  rows: [
    { ip: '127.0.0.10', count: 40 },
    { ip: '209.85.220.41', count: 5, spf: 'fail', reason: 'forwarded' },
    { ip: '203.0.113.9', count: 30, dkim: 'fail', spf: 'fail', disposition: 'reject' },
    { ip: '198.51.100.7', count: 2, dkim: 'fail', spf: 'fail', disposition: 'quarantine' },
  ],
});

describe('the report service', () => {
  it('records an aggregate report with its rows, names each source by forward-confirmed reverse DNS, and writes its points', async () => {
    const { db, reports, lines } = await setup();
    const result = await reports.intake(gzipped(googleReport), origin);
    expect(result).toMatchObject({ recorded: 1, duplicates: 0, quarantined: 0 });
    expect(result.outcomes[0]).toMatchObject({ status: 'recorded', kind: 'dmarc-aggregate', reportId: 'g-1', org: 'google.com', domain: 'sender.test' });

    const [stored] = listReports(db, { since: 0, until: Date.parse(now) + 1, limit: 10 });
    expect(stored).toMatchObject({ kind: 'dmarc-aggregate', org: 'google.com', reportId: 'g-1', domain: 'sender.test', messages: 77, source: 'rua' });
    const rows = dmarcRowsOf(db, stored!.id, 10);
    expect(rows.map((row) => [row.sourceIp, row.source, row.count, row.dkimAligned, row.spfAligned])).toEqual([
      ['127.0.0.10', '127.0.0.10', 40, true, true],
      ['203.0.113.9', '203.0.113.9', 30, false, false],
      ['209.85.220.41', 'google.com', 5, true, false],
      ['198.51.100.7', '198.51.100.7', 2, false, false],
    ]);
    // Only a name that resolves back says who sent; a failed lookup is kept as an error (asked again later), never as "no name".
    const names = ipNames(db, ['209.85.220.41', '203.0.113.9', '198.51.100.7']);
    expect(names.get('209.85.220.41')).toMatchObject({ name: 'mail-sor-f41.google.com', base: 'google.com', confirmed: true });
    expect(names.get('203.0.113.9')).toMatchObject({ name: 'forged.google.com', confirmed: false });
    expect(names.get('198.51.100.7')).toMatchObject({ confirmed: false, error: 'DNS_SERVFAIL' });

    const dmarc = lines('dmarc');
    expect(dmarc).toHaveLength(4);
    expect(dmarc.find((line) => line.includes('source=google.com'))).toMatch(/aligned=true.*own=false.*messages=5i.*overridden=5i/);
    expect(dmarc.find((line) => line.includes('source=127.0.0.10'))).toMatch(/own=true.*messages=40i.*new_source_messages=40i/);
    expect(dmarc.find((line) => line.includes('source=203.0.113.9'))).toMatch(/aligned=false.*messages=30i,new_source_messages=30i,.*rejected=30i/);
    expect(lines('dmarc_domain')).toEqual([
      expect.stringMatching(/^dmarc_domain,domain=sender.test,reporter=google.com aligned=45i,messages=77i,new_sources=4i,pass_rate=0.584416,report_id="g-1",sources=4i /),
    ]);
  });

  it('records the same report once, however often it comes, and a reused report id with another date range apart', async () => {
    const { db, reports, lines } = await setup();
    await reports.intake(Buffer.from(googleReport), origin);
    const points = lines('dmarc').length;
    const again = await reports.intake(gzipped(googleReport), { source: 'upload', name: 'again' });
    expect(again).toMatchObject({ recorded: 0, duplicates: 1, quarantined: 0 });
    expect(again.outcomes[0]).toMatchObject({ status: 'duplicate', reportId: 'g-1' });
    expect(listReports(db, { since: 0, until: Date.parse(now) + 1, limit: 10 })).toHaveLength(1);
    expect(lines('dmarc')).toHaveLength(points);

    const nextDay = aggregateXml({ reportId: 'g-1', begin: Date.parse('2026-12-06T00:00:00Z') / 1000, end: Date.parse('2026-12-06T06:00:00Z') / 1000, rows: [{ ip: '127.0.0.10', count: 12 }] });
    expect(await reports.intake(Buffer.from(nextDay), origin)).toMatchObject({ recorded: 1 });
    expect(listReports(db, { since: 0, until: Date.parse(now) + 1, limit: 10 }).map((report) => report.messages)).toEqual([12, 77]);
    // Seen in the first report: not new any more.
    expect(lines('dmarc').at(-1)).toMatch(/new_source_messages=0i/);
    const sources = dmarcSources(db, { domain: 'sender.test', since: 0, until: Date.parse(now) + 1, limit: 10 });
    expect(sources[0]).toMatchObject({ sourceIp: '127.0.0.10', messages: 52, aligned: 52 });
  });

  it('writes the 1,000 largest sources of a report as their own points and sums the rest as (other); the store keeps every row', async () => {
    const { db, reports, lines } = await setup();
    const rows = Array.from({ length: 1_010 }, (_, i) => ({
      ip: `10.1.${i >> 8}.${i & 255}`,
      count: i < 1_000 ? 100 + i : 1,
      ...(i % 2 === 0 ? {} : { dkim: 'fail' as const, spf: 'fail' as const }),
    }));
    await reports.intake(Buffer.from(aggregateXml({ reportId: 'big', rows })), { source: 'rua', name: 'big' });
    const dmarc = lines('dmarc');
    expect(dmarc).toHaveLength(1_002);
    const other = dmarc.filter((line) => line.includes('source=(other)'));
    expect(other).toEqual([expect.stringMatching(/aligned=true.*messages=5i,new_source_messages=5i,.*rows=5i/), expect.stringMatching(/aligned=false.*messages=5i,new_source_messages=5i,.*rows=5i/)]);
    const total = dmarc.reduce((sum, line) => sum + Number(/messages=(\d+)i/.exec(line)![1]), 0);
    expect(total).toBe(rows.reduce((sum, row) => sum + row.count, 0));
    expect(Number((db.statement('SELECT count(*) AS n FROM dmarc_rows').get() as { n: number }).n)).toBe(1_010);
  });

  it('quarantines what it cannot read, with the reason, once per input', async () => {
    const { db, reports } = await setup();
    const garbage = Buffer.from('this is not a report\r\n');
    const result = await reports.intake(garbage, { source: 'rua', name: 'INBOX/7' });
    expect(result).toMatchObject({ recorded: 0, duplicates: 0, quarantined: 1 });
    expect(result.outcomes[0]).toMatchObject({ status: 'quarantined', code: 'unknown' });
    await reports.intake(Readable.from([garbage]), { source: 'rua', name: 'INBOX/7' });
    const quarantined = listReportQuarantine(db, { since: 0, limit: 10 });
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ source: 'rua', name: 'INBOX/7', size: garbage.length, code: 'unknown' });
    expect(quarantined[0]!.reason.length).toBeGreaterThan(0);
    expect(listReports(db, { since: 0, until: Date.parse(now) + 1, limit: 10 })).toEqual([]);
  });

  it('writes a TLS report per policy and per failing MX', async () => {
    const { reports, lines } = await setup();
    const report = tlsReportJson({
      successes: 900,
      failures: [
        { type: 'certificate-expired', mx: 'mx.sender.test', count: 60 },
        { type: 'starttls-not-supported', mx: 'mx2.sender.test', count: 40 },
      ],
    });
    expect(await reports.intake(Buffer.from(report), origin)).toMatchObject({ recorded: 1 });
    expect(lines('tls_rpt')).toEqual([
      expect.stringMatching(
        /^tls_rpt,domain=sender.test,policy_type=sts,reporter=Google\\ Inc. .*fail_certificate_expired=60i.*fail_starttls_not_supported=40i.*failure_rate=0.1,failures=100i.*successes=900i/,
      ),
    ]);
    expect(lines('tls_rpt_mx').sort()).toEqual([
      expect.stringMatching(/^tls_rpt_mx,domain=sender.test,mx=mx.sender.test,reporter=Google\\ Inc. failures=60i,result_types="certificate-expired"/),
      expect.stringMatching(/^tls_rpt_mx,domain=sender.test,mx=mx2.sender.test,reporter=Google\\ Inc. failures=40i,result_types="starttls-not-supported"/),
    ]);
  });

  it('counts a bounce as traffic with its class, on the address the message was sent to', async () => {
    const { db, reports } = await setup();
    const mail = dsnMail({ recipient: 'final@mailhost.gmail.test', original: 'someone@gmail.test' });
    expect(await reports.intake(Buffer.from(mail), origin)).toMatchObject({ recorded: 1 });
    const totals = trafficTotals(db, { since: 0, until: Date.parse(now) + 1 }, 'provider');
    expect(totals.map((row) => [row.key, row.counts.bounced, row.classes])).toEqual([['gmail', 1, { invalid_recipient: 1 }]]);
    // The same mail again: a duplicate, not a second bounce.
    expect(await reports.intake(Buffer.from(mail), origin)).toMatchObject({ recorded: 0, duplicates: 1 });
    expect(trafficTotals(db, { since: 0, until: Date.parse(now) + 1 }, 'provider')[0]?.counts.bounced).toBe(1);
  });

  it('counts a complaint, with the complaint rate over the delivered traffic of the last day, and fires the rule on it', async () => {
    const rule = { id: 'complaints-gmail-limit', condition: 'complaints.complaint_rate >= 0.003', severity: 'critical' };
    const { db, reports, traffic, lines } = await setup({ rules: [rule] });
    const delivered = Array.from({ length: 500 }, () => ({ time: new Date(Date.parse(now) - 3_600_000), outcome: 'delivered' as const, recipientDomain: 'yahoo.test', ip: '127.0.0.10' }));
    await traffic.ingest(delivered);
    await reports.intake(Buffer.from(arfMail({ campaign: 'december' })), origin);
    expect(lines('complaints')).toEqual([expect.stringMatching(/^complaints,campaign=december,ip=127.0.0.10,provider=yahoo complaint_rate=0.002,complaints=1i,complaints_24h=1i,delivered_24h=500i /)]);
    expect(listAlerts(db, { limit: 10 })).toEqual([]);
    await reports.intake(Buffer.from(arfMail({ messageId: 'arf-2@yahoo.com' })), origin);
    expect(lines('complaints').at(-1)).toMatch(/complaint_rate=0.004,complaints=1i,complaints_24h=2i/);
    expect(listAlerts(db, { limit: 10 }).map((alert) => [alert.ruleId, alert.labels.provider, alert.state])).toEqual([['complaints-gmail-limit', 'yahoo', 'firing']]);
  });

  it('fires on a new source sending as the domain without alignment, above a number of messages', async () => {
    const rule = { id: 'dmarc-new-unaligned', condition: 'dmarc.new_source_messages > 10', where: { aligned: 'false' }, severity: 'warning' };
    const { db, reports } = await setup({ rules: [rule] });
    await reports.intake(Buffer.from(googleReport), origin);
    const firing = listAlerts(db, { limit: 10 }).filter((alert) => alert.state === 'firing');
    expect(firing.map((alert) => alert.labels.source)).toEqual(['203.0.113.9']);
  });
});
