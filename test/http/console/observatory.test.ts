/**
 * The console of a running observatory (traffic, reports and rules as
 * configured): every page renders with an empty store, then with what the
 * sources posted — an alert firing from traffic, acknowledged and silenced
 * through the forms, the silence ended; traffic per provider and IP; reports,
 * DMARC sources per domain and per IP — and text a peer wrote (a bounce reply,
 * a reporter's name) is shown as text, never as markup.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signedIn } from '../../helpers/console.ts';
import { runningObservatory } from '../../helpers/observatory.ts';
import { aggregateXml } from '../../helpers/reports.ts';
import { tempDir } from '../../helpers/temp.ts';

const tokens = { ingest: 'console-ingest-token-0000001', viewer: 'console-viewer-token-0000001', operator: 'console-operator-token-00001' };
const hostile = '<img src=x onerror=alert(1)>';

async function observatory() {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      'tokens:',
      `  - { name: kumo, role: ingest, token: "${tokens.ingest}" }`,
      `  - { name: grafana, role: viewer, token: "${tokens.viewer}" }`,
      `  - { name: ops, role: operator, token: "${tokens.operator}" }`,
      'sources:',
      '  - { id: hook, kind: events }',
      '  - { id: uploads, kind: reports }',
      'traffic: { flushInterval: 100ms, mxLookup: false }',
      'reports: { nameSources: false }',
      'controls: { providers: { gmail: [gmail.test] } }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'rules.yaml'),
    'rules:\n  - { id: gmail-deferring, condition: "traffic.deferral_rate > 0.5", where: { provider: gmail }, severity: warning, summary: "{provider} defers from {ip}", description: "Gmail defers most of our mail" }\n',
  );
  const running = await runningObservatory(dir, { token: tokens.viewer, logLevel: 'warn' });
  const base = `http://127.0.0.1:${running.observatory.address.port}`;
  const post = async (path: string, body: string, type: string) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${tokens.ingest}`, 'content-type': type } });
    return { status: response.status, body: (await response.json()) as any };
  };
  return { app: running.observatory.app, post, running };
}

const now = () => new Date().toISOString();

async function trafficWithAReply(post: Awaited<ReturnType<typeof observatory>>['post']) {
  const deferred = Array.from({ length: 8 }, (_, i) => ({
    time: now(),
    outcome: 'deferred',
    recipient: `r${i}@gmail.test`,
    ip: '192.0.2.20',
    pool: 'bulk',
    smtp_code: 421,
    reply: `421-4.7.28 ${hostile} unusual rate of unsolicited mail`,
  }));
  const events = [...deferred, { time: now(), outcome: 'delivered', recipient: 'x@gmail.test', ip: '192.0.2.20', pool: 'bulk' }];
  expect((await post('/v1/ingest/events', JSON.stringify({ events }), 'application/json')).status).toBe(200);
}

async function firingAlert(app: Awaited<ReturnType<typeof observatory>>['app']) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await app.inject({ method: 'GET', url: '/v1/alerts?state=firing', headers: { authorization: `Bearer ${tokens.viewer}` } });
    const alerts = (response.json() as { alerts: { id: string }[] }).alerts;
    if (alerts.length > 0) return alerts[0]!.id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no alert fired');
}

describe('the console of a running observatory', () => {
  it('renders every page with an empty store', async () => {
    const { app } = await observatory();
    const viewer = await signedIn(app, tokens.viewer);
    const pages: [string, RegExp][] = [
      ['/', /Nothing is firing/],
      ['/alerts', /Nothing is firing or pending/],
      ['/alerts?state=resolved&severity=warning', /None\./],
      ['/silences', /No silence/],
      ['/controls', /No traffic is paused or throttled/],
      ['/probes', /No probe is configured/],
      ['/traffic', /No traffic counted in this window/],
      ['/traffic?window=7d&by=pool', /Per pool, last 7d/],
      ['/reports', /No report recorded in the last 90 days/],
      ['/audit', /Nothing recorded/],
      ['/providers/gmail', /No placement probe has seeds at gmail/],
      ['/targets/192.0.2.20', /No blacklist probe checks this address/],
      ['/targets/sender.test', /No placement probe sends as this domain/],
      ['/domains/sender.test', /No DMARC aggregate report about this domain/],
    ];
    for (const [url, text] of pages) {
      const page = await viewer.get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).toMatch(text);
      expect(page.body, url).not.toMatch(/<button[^>]*>\s*(Resume|Pause|Throttle|Run now|Acknowledge|Silence|End)/);
    }
    for (const url of [
      '/alerts?state=burning',
      '/alerts?severity=loud',
      '/traffic?window=2y',
      '/traffic?by=campaign',
      '/reports?kind=memo',
      '/targets/not_a%20target',
      '/providers/%3Cb%3E',
      '/audit?actor=a%1Bb',
    ]) {
      const page = await viewer.get(url);
      expect(page.statusCode, url).toBe(400);
    }
    expect((await viewer.get('/alerts/nope')).statusCode).toBe(404);
  });

  it('shows an alert fired from traffic; an operator acknowledges and silences it through the forms, then ends the silence', async () => {
    const { app, post } = await observatory();
    await trafficWithAReply(post);
    const id = await firingAlert(app);

    const viewer = await signedIn(app, tokens.viewer);
    const list = await viewer.get('/alerts');
    expect(list.body).toMatch(/Firing and pending <span class="count">1<\/span>/);
    expect(list.body).toContain(`href="/alerts/${id}"`);
    const seen = await viewer.get(`/alerts/${id}`);
    expect(seen.body).toMatch(/gmail defers from 192\.0\.2\.20/);
    expect(seen.body).toMatch(/Gmail defers most of our mail/);
    expect(seen.body).toMatch(/<a href="\/providers\/gmail">gmail<\/a>/);
    expect(seen.body).toMatch(/fired/);
    expect(seen.body).not.toMatch(/Acknowledge<\/button>/);
    expect((await viewer.post(`/alerts/${id}/ack`, { comment: 'mine' })).statusCode).toBe(403);
    expect((await viewer.post(`/alerts/${id}/silence`, { until: '2h', comment: 'mine' })).statusCode).toBe(403);

    const ops = await signedIn(app, tokens.operator);
    expect((await ops.post(`/alerts/${id}/ack`, { comment: 'mine', _csrf: 'forged' })).statusCode).toBe(403);
    expect((await ops.post(`/alerts/${id}/ack`, { comment: '' })).statusCode).toBe(400);
    const acked = await ops.post(`/alerts/${id}/ack`, { comment: 'looking at the pool' });
    expect(acked.statusCode).toBe(303);
    expect(acked.headers.location).toBe(`/alerts/${id}?done=acknowledged`);
    const api = await app.inject({ method: 'GET', url: `/v1/alerts/${id}`, headers: { authorization: `Bearer ${tokens.viewer}` } });
    expect((api.json() as any).alert.acknowledged).toMatchObject({ by: 'ops', comment: 'looking at the pool' });
    const page = await ops.get(`/alerts/${id}?done=acknowledged`);
    expect(page.body).toMatch(/Acknowledged: no more reminders/);
    expect(page.body).toMatch(/acknowledged by ops/);

    // Silences: bad input refused (nothing stored), then one until a time.
    const silenceCount = async () => ((await app.inject({ method: 'GET', url: '/v1/silences', headers: { authorization: `Bearer ${tokens.viewer}` } })).json() as any).silences.length;
    for (const [fields, message] of [
      [{ until: '2001-01-01T00:00:00Z', comment: 'x' }, /until: 2001-01-01T00:00:00\.000Z is not in the future/],
      [{ until: 'later', comment: 'x' }, /until: /],
      [{ until: '2h', comment: '' }, /comment: must not be empty/],
      [{ until: '2h', comment: 'a\u0000b' }, /comment: contains a control character/],
    ] as const) {
      const refused = await ops.post(`/alerts/${id}/silence`, fields);
      expect(refused.statusCode).toBe(400);
      expect(refused.body.replaceAll('&quot;', '"')).toMatch(message);
    }
    expect(await silenceCount()).toBe(0);
    const silenced = await ops.post(`/alerts/${id}/silence`, { until: '2h', comment: 'pool moved to warm-up' });
    expect(silenced.headers.location).toBe(`/alerts/${id}?done=silenced`);
    const silences = ((await app.inject({ method: 'GET', url: '/v1/silences', headers: { authorization: `Bearer ${tokens.viewer}` } })).json() as any).silences;
    expect(silences).toEqual([
      expect.objectContaining({ matchers: { rule: 'gmail-deferring', provider: 'gmail', ip: '192.0.2.20', pool: 'bulk' }, createdBy: 'ops', comment: 'pool moved to warm-up', active: true }),
    ]);
    expect((await ops.get(`/alerts/${id}`)).body).toMatch(/<th>Silenced<\/th><td>yes/);

    const list2 = await ops.get('/silences');
    expect(list2.body).toMatch(/pool moved to warm-up/);
    expect(list2.body).toMatch(/End<\/button>/);
    expect((await viewer.get('/silences')).body).not.toMatch(/End<\/button>/);
    expect((await viewer.post(`/silences/${silences[0].id}/end`, { reason: 'x' })).statusCode).toBe(403);
    expect((await ops.post(`/silences/${silences[0].id}/end`, { reason: '' })).statusCode).toBe(400);
    const ended = await ops.post(`/silences/${silences[0].id}/end`, { reason: 'warm-up done' });
    expect(ended.headers.location).toBe('/silences?done=ended');
    expect((await ops.get('/silences?done=ended')).body).toMatch(/ended .* by ops/);
    expect((await ops.post(`/silences/${silences[0].id}/end`, { reason: 'again' })).statusCode).toBe(404);
  });

  it('shows traffic per provider and IP, and a receiver’s reply as text', async () => {
    const { app, post } = await observatory();
    await trafficWithAReply(post);
    const viewer = await signedIn(app, tokens.viewer);
    for (const url of ['/traffic', '/traffic?by=ip&window=24h', '/providers/gmail', '/targets/192.0.2.20']) {
      const page = await viewer.get(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.body, url).not.toContain(hostile);
      expect(page.body, url).not.toMatch(/<img/);
    }
    const traffic = await viewer.get('/traffic');
    expect(traffic.body).toMatch(/<a href="\/providers\/gmail">gmail<\/a>/);
    expect(traffic.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const provider = await viewer.get('/providers/gmail');
    expect(provider.body).toMatch(/9 attempts/);
    expect(provider.body).toMatch(/<a href="\/targets\/192\.0\.2\.20">192\.0\.2\.20<\/a>/);
    expect(provider.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const target = await viewer.get('/targets/192.0.2.20');
    expect(target.body).toMatch(/Not known per IP address/);
    expect(target.body).toMatch(/<td>9<\/td>/);
  });

  it('shows reports, the DMARC sources of a domain and of an IP, and a reporter’s name as text', async () => {
    const { app, post } = await observatory();
    const begin = Math.floor(Date.now() / 1000) - 86_400;
    const xml = aggregateXml({
      org: '&lt;img src=x onerror=alert(1)&gt;',
      begin,
      end: begin + 3_600,
      rows: [
        { ip: '192.0.2.10', count: 20 },
        { ip: '198.51.100.66', count: 15, dkim: 'fail', spf: 'fail', disposition: 'reject' },
      ],
    });
    expect((await post('/v1/ingest/reports', xml, 'application/xml')).body).toMatchObject({ recorded: 1 });
    expect((await post('/v1/ingest/reports', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><feedback/>', 'text/xml')).body).toMatchObject({ quarantined: 1 });

    const viewer = await signedIn(app, tokens.viewer);
    const reports = await viewer.get('/reports');
    expect(reports.body).toMatch(/dmarc-aggregate/);
    expect(reports.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(reports.body).not.toMatch(/<img/);
    expect(reports.body).toMatch(/<a href="\/domains\/sender\.test">sender\.test<\/a>/);
    expect(reports.body).toMatch(/Quarantine <span class="count">1<\/span>/);
    expect(reports.body).toMatch(/doctype/);

    const domain = await viewer.get('/domains/sender.test');
    expect(domain.body).toMatch(/35 messages, 57\.1% pass DMARC/);
    expect(domain.body).toMatch(/<a href="\/targets\/198\.51\.100\.66">198\.51\.100\.66<\/a>/);
    expect(domain.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(domain.body).not.toMatch(/<img/);

    const ip = await viewer.get('/targets/198.51.100.66');
    expect(ip.body).toMatch(/<a href="\/domains\/sender\.test">sender\.test<\/a>/);
    expect(ip.body).toMatch(/<td>15<\/td>\s*<td>0\.0%<\/td>\s*<td>0<\/td>\s*<td>15<\/td>/);
    expect((await viewer.get('/reports?kind=tls-rpt')).body).toMatch(/No report recorded/);
  });
});
