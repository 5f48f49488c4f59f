/**
 * The overview page (`/`) over a real store holding what the probes, the traffic
 * and the reports record: the blocklist matrix (listed with its since, unknown
 * with its code), placement per provider with its trend, DNS checks and the last
 * record change, probe health and the outbox, traffic and feedback; operators see
 * the resume form, viewers do not; what peers wrote is shown as text; a fresh
 * install says there is nothing yet.
 */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/core/observation.ts';
import { placementCounts } from '../../../src/probes/placement-summary.ts';
import type { Database } from '../../../src/store/database.ts';
import { record } from '../../../src/store/record.ts';
import { recordHeld } from '../../../src/store/controls.ts';
import { insertDmarcRows, insertReport } from '../../../src/store/reports.ts';
import { addTraffic, emptyCounts } from '../../../src/store/traffic.ts';
import { apiRig, tokens } from '../../helpers/api.ts';

const never = '"0 0 1 1 *"';
const probesYaml = `probes:
  - id: pool-a-blocklists
    kind: blacklist
    schedule: ${never}
    targets: ["203.0.113.5", "203.0.113.6", "203.0.113.7", news.example.com]
    lists: [spamcop, psbl, spamhaus-dbl]
  - id: auth
    kind: dns-auth
    schedule: ${never}
    domains:
      - { domain: example.com, selectors: [s1] }
  - id: seeds
    kind: placement
    schedule: ${never}
    mode: passive
    imap: { host: 127.0.0.1 }
    passive: { header: X-Campaign-Id, value: spring }
    seeds:
      gmail:
        - { address: a@gmail.example, auth: { password: pw } }
        - { address: b@gmail.example, auth: { password: pw } }
      outlook:
        - { address: c@outlook.example, auth: { password: pw } }
        - { address: d@outlook.example, auth: { password: pw } }
`;

const hostile = '<script>alert("peer")</script>';
const minute = 60_000;
const hour = 60 * minute;

function runOf(db: Database, probeId: string, kind: string, at: number, observations: Observation[], failure?: { code: string; message: string }) {
  const time = new Date(at);
  return record(db, {
    probeId,
    kind,
    trigger: 'schedule',
    startedAt: time,
    finishedAt: time,
    durationMs: 12,
    success: !failure,
    ...(failure ? { error: failure } : {}),
    observations,
  });
}

type Answer = { listed: true; reason?: string } | { listed: false } | { error: string; message: string };

/** One (target, list) observation as the blacklist probe writes it (probes/blacklist.ts pairObservation). */
function pair(target: string, list: string, answer: Answer, at: number): Observation {
  const fields: Observation['fields'] = { query_ms: 3 };
  if ('error' in answer) Object.assign(fields, { status: 'error', error_code: answer.error, error: answer.message });
  else if (answer.listed) Object.assign(fields, { status: 'listed', listed: true, codes: '127.0.0.2', meanings: 'listed', ...(answer.reason ? { reason: answer.reason } : {}) });
  else Object.assign(fields, { status: 'not_listed', listed: false });
  const kind = /^[\d.]+$/.test(target) ? 'ip' : 'domain';
  return { measurement: 'blacklist', tags: { target, target_kind: kind, list }, fields, time: new Date(at) };
}

function sweep(at: number, answers: Record<string, Record<string, Answer>>): Observation[] {
  return Object.entries(answers).flatMap(([target, lists]) => Object.entries(lists).map(([list, answer]) => pair(target, list, answer, at)));
}

const clean: Answer = { listed: false };

function authCheck(check: string, status: 'pass' | 'warn' | 'fail' | 'error', at: number, extra: { record?: string; message?: string; selector?: string; errorCode?: string } = {}): Observation {
  const level = { pass: 0, warn: 1, fail: 2, error: 3 }[status];
  const fields: Observation['fields'] = { status, level, message: extra.message ?? `${check} ${status}`, findings: '' };
  if (extra.record !== undefined) {
    fields.record = extra.record;
    fields.digest = `${extra.record.length.toString(16).padStart(8, '0')}${extra.record
      .charCodeAt(extra.record.length - 1)
      .toString(16)
      .padStart(8, '0')}`;
  }
  if (extra.errorCode) fields.error_code = extra.errorCode;
  return { measurement: 'dns_auth', tags: { domain: 'example.com', check, ...(extra.selector ? { selector: extra.selector } : {}) }, fields, time: new Date(at) };
}

function placementRun(at: number, outcomes: Record<string, string[]>): Observation[] {
  return Object.entries(outcomes).map(([provider, seen]) => ({
    measurement: 'placement_provider',
    tags: { provider },
    fields: placementCounts(seen.map((outcome) => ({ outcome }))),
    time: new Date(at),
  }));
}

/** The store as a few days of probes, traffic and reports leave it. */
function fill(db: Database, now: number) {
  // Blocklists: a listing seen two hours ago and again now; a list that could not answer now (listed before: unknown now, not listed).
  runOf(
    db,
    'pool-a-blocklists',
    'blacklist',
    now - 2 * hour,
    sweep(now - 2 * hour, { '203.0.113.5': { spamcop: { listed: true }, psbl: clean }, '203.0.113.6': { spamcop: clean, psbl: { listed: true } } }),
  );
  runOf(
    db,
    'pool-a-blocklists',
    'blacklist',
    now - 5 * minute,
    sweep(now - 5 * minute, {
      '203.0.113.5': { spamcop: { listed: true, reason: `Blocked: ${hostile}` }, psbl: clean },
      '203.0.113.6': { spamcop: clean, psbl: { error: 'DNSBL_REFUSED', message: 'the list refused this resolver (127.255.255.254)' } },
      '203.0.113.7': { spamcop: clean, psbl: clean },
      'news.example.com': { 'spamhaus-dbl': clean },
    }),
  );
  // A later run that failed as a whole: the sweep before it still says what is known.
  runOf(db, 'pool-a-blocklists', 'blacklist', now - minute, [], { code: 'PROBE_TIMEOUT', message: 'the run took longer than 60 s' });

  // DNS: yesterday's records, then today's: SPF changed (to a hostile value), DMARC still missing, the DKIM lookup failing.
  runOf(db, 'auth', 'dns-auth', now - 24 * hour, [
    authCheck('spf', 'pass', now - 24 * hour, { record: 'example.com TXT "v=spf1 ip4:203.0.113.0/28 -all"' }),
    authCheck('dmarc', 'fail', now - 24 * hour, { record: '', message: 'no DMARC record: receivers apply no policy' }),
    authCheck('dkim', 'pass', now - 24 * hour, { record: 's1._domainkey.example.com TXT "v=DKIM1; p=MIIB"', selector: 's1' }),
  ]);
  runOf(db, 'auth', 'dns-auth', now - 10 * minute, [
    authCheck('spf', 'warn', now - 10 * minute, { record: `example.com TXT "v=spf1 include:${hostile} ~all"\nexample.com TXT "v=spf1 -all"`, message: 'two SPF records' }),
    authCheck('dmarc', 'fail', now - 10 * minute, { record: '', message: 'no DMARC record: receivers apply no policy' }),
    authCheck('dkim', 'error', now - 10 * minute, { selector: 's1', errorCode: 'DNS_TIMEOUT', message: 'the DKIM key lookup timed out' }),
  ]);

  // Placement: three runs over the week; the last one with a seed in spam at gmail.
  runOf(db, 'seeds', 'placement', now - 3 * 24 * hour, placementRun(now - 3 * 24 * hour, { gmail: ['inbox', 'inbox'], outlook: ['inbox', 'inbox'] }));
  runOf(db, 'seeds', 'placement', now - 24 * hour, placementRun(now - 24 * hour, { gmail: ['inbox', 'category:promotions'], outlook: ['inbox', 'missing'] }));
  runOf(db, 'seeds', 'placement', now - 30 * minute, placementRun(now - 30 * minute, { gmail: ['inbox', 'spam'], outlook: ['inbox', 'inbox'] }));

  // Traffic: the last hour at gmail; complaints at yahoo twenty hours ago (in the day, not in the hour).
  const bucket = (at: number, provider: string, counts: Partial<ReturnType<typeof emptyCounts>>) => ({
    minute: Math.floor(at / minute) * minute,
    provider,
    ip: '203.0.113.5',
    pool: 'news',
    campaign: '',
    counts: { ...emptyCounts(), ...counts },
    classes: {},
    latencySum: 0,
    latencyCount: 0,
  });
  db.transaction(() =>
    addTraffic(db, [bucket(now - 20 * minute, 'gmail', { delivered: 900, deferred: 50, bounced: 50, complained: 3 }), bucket(now - 20 * hour, 'yahoo', { delivered: 100, complained: 2 })]),
  );

  // DMARC: a report for example.com with an unaligned sender.
  const end = now - 6 * hour;
  db.transaction(() => {
    const id = insertReport(db, {
      kind: 'dmarc-aggregate',
      dedupeKey: 'google.com|r1',
      source: 'uploads',
      org: 'google.com',
      reportId: 'r1',
      domain: 'example.com',
      beginAt: end - 24 * hour,
      endAt: end,
      receivedAt: now - hour,
      messages: 120,
      summary: {},
    });
    const row = { dkim: [], spf: [], overrides: [], headerFrom: 'example.com', disposition: 'none' };
    insertDmarcRows(db, { id, domain: 'example.com', reporter: 'google.com', endAt: end }, [
      { ...row, sourceIp: '203.0.113.5', source: '203.0.113.5', count: 100, dkimAligned: true, spfAligned: true },
      { ...row, sourceIp: '198.51.100.66', source: 'spoofer.example', count: 20, dkimAligned: false, spfAligned: false, disposition: 'reject' },
    ]);
  });
}

const cookieOf = (setCookie: string | string[] | undefined, name: string) => {
  const line = [setCookie ?? []].flat().find((cookie) => cookie.startsWith(`${name}=`));
  return line ? line.slice(name.length + 1, line.indexOf(';')) : undefined;
};

async function signedIn(app: Awaited<ReturnType<typeof apiRig>>['app'], token: string): Promise<string> {
  const page = await app.inject({ method: 'GET', url: '/login' });
  const login = cookieOf(page.headers['set-cookie'], 'mailscope_login')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const answer = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `mailscope_login=${login}`, 'sec-fetch-site': 'same-origin' },
    payload: new URLSearchParams({ _csrf: csrf, token, next: '/' }).toString(),
  });
  return `mailscope_session=${cookieOf(answer.headers['set-cookie'], 'mailscope_session')!}`;
}

async function overview(rig: Awaited<ReturnType<typeof apiRig>>, token: string = tokens.viewer) {
  const cookie = await signedIn(rig.app, token);
  const page = await rig.app.inject({ method: 'GET', url: '/', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  return page.body;
}

/** The HTML of one element: from the tag carrying `marker` to its closing tag (no nesting of the same tag inside). */
function element(html: string, tag: string, marker: string): string {
  const at = html.indexOf(marker);
  expect(at, `${marker} on the page`).toBeGreaterThan(-1);
  const start = html.lastIndexOf(`<${tag}`, at);
  return html.slice(start, html.indexOf(`</${tag}>`, at) + tag.length + 3);
}

const sectionOrder = (html: string) => [...html.matchAll(/<section aria-labelledby="([a-z]+)-heading"/g)].map((match) => match[1]);

describe('the console overview: what is wrong now, worst first', () => {
  it('shows the blocklist matrix from the latest sweep: listed with its since, unknown grey with its code, clean otherwise', async () => {
    const rig = await apiRig({ probesYaml, scheduler: true });
    const now = Date.now();
    fill(rig.db, now);
    const html = await overview(rig);

    const matrix = element(html, 'table', 'class="matrix"');
    // Rows: the listed target first, then the one with an unknown answer, then the clean ones.
    expect([...matrix.matchAll(/<tr data-target="([^"]+)"/g)].map((match) => match[1])).toEqual(['203.0.113.5', '203.0.113.6', '203.0.113.7', 'news.example.com']);
    expect(matrix).toContain('<a href="/targets/203.0.113.5">203.0.113.5</a>');
    expect(matrix).toContain('<a href="/targets/news.example.com">news.example.com</a>');

    const listedRow = element(matrix, 'tr', 'data-target="203.0.113.5"');
    const listed = element(listedRow, 'td', 'data-list="spamcop"');
    expect(listed).toMatch(/class="listed"/);
    // Since the first sighting two hours ago, not the latest sweep's time.
    expect(listed).toContain('since 2h ago');
    expect(listed).toContain(
      `listed since ${new Date(now - 2 * hour)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z')}`,
    );
    expect(element(listedRow, 'td', 'data-list="psbl"')).toMatch(/class="clean"/);

    const unknownRow = element(matrix, 'tr', 'data-target="203.0.113.6"');
    const unknown = element(unknownRow, 'td', 'data-list="psbl"');
    expect(unknown).toMatch(/class="error"/);
    expect(unknown).toContain('>DNSBL_REFUSED</td>');
    expect(unknown).toContain('the list refused this resolver');
    expect(unknown).not.toContain('listed');

    // A domain list does not apply to an IP: neither clean nor unknown.
    expect(element(listedRow, 'td', 'data-list="spamhaus-dbl"')).toMatch(/class="none"/);
    expect(element(element(matrix, 'tr', 'data-target="news.example.com"'), 'td', 'data-list="spamhaus-dbl"')).toMatch(/class="clean"/);

    // The summary counts it; the blocklists come before everything that is only worth a look.
    expect(html).toMatch(/<strong>1<\/strong> listing</);
    // Listed, a DNS check failing, a bounce rate of 5 %, complaints past 0.3 %, a probe failing; placement only worth a look.
    expect(sectionOrder(html)).toEqual(['alerts', 'controls', 'blocklists', 'dns', 'traffic', 'feedback', 'probes', 'placement']);
  });

  it('shows placement per provider (lowest inbox rate first) and its 7-day trend as chart data', async () => {
    const rig = await apiRig({ probesYaml });
    const now = Date.now();
    fill(rig.db, now);
    const html = await overview(rig);
    const table = element(element(html, 'section', 'id="placement-heading"'), 'table', 'data-provider="gmail"');
    expect([...table.matchAll(/<tr data-provider="([^"]+)"/g)].map((match) => match[1])).toEqual(['gmail', 'outlook']);
    const gmail = element(table, 'tr', 'data-provider="gmail"');
    expect(gmail).toContain('<a href="/providers/gmail">gmail</a>');
    expect(gmail).toMatch(/class="rate inbox">50% <span class="muted">1\/2<\/span>/);
    expect(gmail).toMatch(/class="rate bad">50%<\/td>/);
    expect(element(table, 'tr', 'data-provider="outlook"')).toMatch(/class="rate inbox">100%/);

    const chartAttribute = /data-chart="([^"]+)"/.exec(html)![1]!;
    const chart = JSON.parse(chartAttribute.replaceAll('&quot;', '"').replaceAll('&amp;', '&')) as { x: number[]; series: string[]; y: (number | null)[][]; percent: boolean };
    expect(chart.series).toEqual(['gmail', 'outlook']);
    expect(chart.x).toEqual([now - 3 * 24 * hour, now - 24 * hour, now - 30 * minute].map((ms) => Math.floor(ms / hour) * 3_600));
    expect(chart.y).toEqual([
      [1, 0.5, 0.5],
      [1, 0.5, 1],
    ]);
    expect(chart.percent).toBe(true);
  });

  it('shows each DNS check worst first and the last change with the old and the new record', async () => {
    const rig = await apiRig({ probesYaml });
    fill(rig.db, Date.now());
    const html = await overview(rig);
    const card = element(html, 'div', 'data-domain="example.com"');
    expect(card).toContain('<span class="badge fail">fail</span> <a href="/domains/example.com">example.com</a>');
    expect([...card.matchAll(/<tr data-check="([^"]+)"/g)].map((match) => match[1])).toEqual(['dmarc', 'dkim:s1', 'spf']);
    const dmarc = element(card, 'tr', 'data-check="dmarc"');
    expect(dmarc).toContain('<span class="badge fail">fail</span>');
    expect(dmarc).toContain('no DMARC record: receivers apply no policy');
    expect(element(card, 'tr', 'data-check="dkim:s1"')).toContain('<code>DNS_TIMEOUT</code>');

    // The newest change of the domain: SPF's record (DKIM's is unknown now: an error is no change).
    const change = card.slice(card.indexOf('class="change"'));
    expect(change).toMatch(/Last change: <strong>spf<\/strong> <span title="[^"]+">10m ago<\/span>/);
    expect(html).toContain('<pre class="record old">example.com TXT &quot;v=spf1 ip4:203.0.113.0/28 -all&quot;</pre>');
    expect(html).toContain(
      `<pre class="record new">example.com TXT &quot;v=spf1 include:&lt;script&gt;alert(&quot;peer&quot;)&lt;/script&gt; ~all&quot;\nexample.com TXT &quot;v=spf1 -all&quot;</pre>`,
    );
    expect(html).toMatch(/<strong>1<\/strong> DNS check failing/);
  });

  it('shows probe health with the next run, the outbox, the last hour of traffic and the feedback panel', async () => {
    const rig = await apiRig({ probesYaml, scheduler: true });
    fill(rig.db, Date.now());
    const html = await overview(rig);

    const probes = element(html, 'section', 'id="probes-heading"');
    // The failed run first, with its code; a probe that ran fine; the next run from the scheduler.
    expect([...probes.matchAll(/<tr data-probe="([^"]+)"/g)].map((match) => match[1])).toEqual(['pool-a-blocklists', 'auth', 'seeds']);
    expect(element(probes, 'tr', 'data-probe="pool-a-blocklists"')).toContain('<span class="badge error" title="the run took longer than 60 s">PROBE_TIMEOUT</span>');
    expect(element(probes, 'tr', 'data-probe="auth"')).toMatch(/<span class="badge ok">ok<\/span>[\s\S]*\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(probes).toMatch(/data-fact="depth">[1-9]\d* points</);
    expect(probes).toContain('no time-series database configured');
    expect(html).toMatch(/<strong>1<\/strong> probe failing/);

    const traffic = element(html, 'section', 'id="traffic-heading"');
    expect(traffic).toContain('href="/traffic"');
    const gmail = element(traffic, 'tr', 'data-provider="gmail"');
    expect(gmail).toContain('<td>1000</td>');
    expect(gmail).toContain('90.0%');
    expect(gmail).toMatch(/class="rate warn">5\.0%/);
    expect(gmail).toMatch(/class="rate bad">5\.0%/);
    // Yahoo sent twenty hours ago: not in the hour.
    expect(traffic).not.toContain('yahoo');

    const feedback = element(html, 'section', 'id="feedback-heading"');
    expect(feedback).toContain('href="/reports"');
    expect(feedback).toContain('1 DMARC aggregate');
    const domain = element(feedback, 'tr', 'data-domain="example.com"');
    expect(domain).toContain('<td>120</td>');
    expect(domain).toMatch(/class="rate bad">83\.3%/);
    expect(domain).toContain('<td class="unaligned">20</td>');
    // Complaints over the day, highest rate first: yahoo 2 of 100, gmail 3 of 900.
    expect([...feedback.matchAll(/<tr data-provider="([^"]+)"/g)].map((match) => match[1])).toEqual(['yahoo', 'gmail']);
    expect(element(feedback, 'tr', 'data-provider="yahoo"')).toContain('2.00%');
  });

  it('shows each active control with its held messages, and the resume form to operators only', async () => {
    const rig = await apiRig({ probesYaml });
    const { control } = rig.controls.create({ action: 'pause', scope: { ip: '203.0.113.5' }, reason: 'listed on spamcop', source: 'token:ops', actor: 'ops' });
    for (const queueId of ['4AB1', '4AB2']) recordHeld(rig.db, { platform: 'mta', queueId, controlId: control.id, traffic: { ip: '203.0.113.5' }, heldAt: Date.now() });
    const viewer = await overview(rig, tokens.viewer);
    const row = element(viewer, 'tr', `/controls/${control.id}`);
    expect(row).toContain('ip=203.0.113.5');
    expect(row).toContain('token:ops');
    // The messages the pause holds.
    expect(row).toContain('<td>2</td>');
    expect(viewer).not.toContain(`action="/controls/${control.id}/resume"`);
    expect(viewer).toMatch(/<strong>1<\/strong> control active/);
    const operator = await overview(rig, tokens.operator);
    expect(operator).toContain(`<form method="post" action="/controls/${control.id}/resume" class="inline">`);
  });

  it('shows what peers wrote as text, never as markup', async () => {
    const rig = await apiRig({ probesYaml });
    fill(rig.db, Date.now());
    const html = await overview(rig);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    // The list's reason, in the cell's title, escaped.
    expect(html).toContain('Blocked: &lt;script&gt;alert(&quot;peer&quot;)&lt;/script&gt;');
  });

  it('works on a fresh install: nothing yet, said plainly', async () => {
    const rig = await apiRig({ probesYaml });
    const html = await overview(rig);
    expect(html).toContain('Nothing is firing.');
    expect(html).toContain('No traffic is paused or throttled.');
    expect(html).toContain('No blocklist results yet');
    expect(html).toContain('No placement results yet');
    expect(html).toContain('No DNS authentication results yet');
    expect(element(html, 'tr', 'data-probe="auth"')).toContain('<span class="badge unknown">not run</span>');
    // No traffic, no reports: no panels for them.
    expect(html).not.toContain('id="traffic-heading"');
    expect(html).not.toContain('id="feedback-heading"');
    expect(sectionOrder(html)).toEqual(['alerts', 'controls', 'probes', 'blocklists', 'placement', 'dns']);

    const none = await apiRig({ probesYaml: 'probes: []\n' });
    const bare = await overview(none);
    expect(bare).toContain('No probe is configured yet');
    expect(bare).toMatch(/data-fact="depth">0 points/);
  });
});
