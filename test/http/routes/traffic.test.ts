/**
 * Traffic over the API of a running observatory: events posted to
 * /v1/ingest/events by an ingest token, answered only once counted; a bad record
 * refuses the whole body, naming it; GET /v1/traffic reads the aggregates back;
 * and a rule on the traffic series fires from what was posted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runningObservatory } from '../../helpers/observatory.ts';
import { tempDir } from '../../helpers/temp.ts';

const tokens = { ingest: 'traffic-ingest-token-0000001', viewer: 'traffic-viewer-token-0000001' };

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
      'sources:',
      '  - { id: hook, kind: events }',
      '  - { id: kumo, kind: kumomta }',
      'traffic: { flushInterval: 100ms, mxLookup: false }',
      'controls: { providers: { gmail: [gmail.test] } }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'rules.yaml'),
    'rules:\n  - { id: gmail-deferring, condition: "traffic.deferral_rate > 0.5", where: { provider: gmail }, severity: warning, summary: "{provider} defers from {ip}" }\n',
  );
  const running = await runningObservatory(dir, { token: tokens.viewer, logLevel: 'warn' });
  const base = `http://127.0.0.1:${running.observatory.address.port}`;
  const call = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${init.token ?? tokens.viewer}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  return { call, running };
}

const now = () => new Date().toISOString();
const post = (events: unknown[]) => ({ method: 'POST', token: tokens.ingest, body: JSON.stringify({ events }) });

describe('traffic over the API', () => {
  it('counts what an ingest token posts, and nothing else may it do', async () => {
    const { call } = await observatory();
    const accepted = await call(
      '/v1/ingest/events',
      post([
        { time: now(), outcome: 'delivered', recipient: 'a@gmail.test', ip: '192.0.2.10', pool: 'a', latency_ms: 900 },
        { time: now(), outcome: 'delivered', recipient: 'b@gmail.test', ip: '192.0.2.10', pool: 'a' },
        { time: now(), outcome: 'bounced', recipient: 'c@gmail.test', ip: '192.0.2.10', pool: 'a', smtp_code: 550, reply: '550-5.1.1 The email account that you tried to reach does not exist.' },
      ]),
    );
    expect(accepted).toEqual({ status: 200, body: { accepted: 3 } });
    // The same route under the source's id.
    expect((await call('/v1/ingest/events/hook', post([{ time: now(), outcome: 'delivered', recipient: 'd@gmail.test' }]))).status).toBe(200);
    expect((await call('/v1/traffic', { token: tokens.ingest })).status).toBe(403);
    expect((await call('/v1/controls', { token: tokens.ingest })).status).toBe(403);

    const traffic = await call('/v1/traffic?since=1h');
    expect(traffic.status).toBe(200);
    expect(traffic.body.rows).toEqual([
      expect.objectContaining({
        key: 'gmail',
        attempts: 4,
        counts: { delivered: 3, deferred: 0, bounced: 1, expired: 0, complained: 0 },
        bounceRate: 0.25,
        classes: { invalid_recipient: 1 },
        latencyAvgMs: 900,
      }),
    ]);
    expect(traffic.body.reasons).toEqual([
      expect.objectContaining({ provider: 'gmail', class: 'invalid_recipient', count: 1, example: '550-5.1.1 The email account that you tried to reach does not exist.' }),
    ]);
    const byIp = await call('/v1/traffic?by=ip');
    expect(byIp.body.rows.map((row: { key: string }) => row.key)).toEqual(['192.0.2.10', '']);
    expect((await call('/v1/traffic?by=campaign')).status).toBe(400);
  });

  it('refuses a whole body for one bad record, naming the record and the field; nothing of it is counted', async () => {
    const { call } = await observatory();
    const refused = await call(
      '/v1/ingest/events',
      post([
        { time: now(), outcome: 'delivered', recipient: 'a@gmail.test' },
        { time: now(), outcome: 'lost', recipient: 'b@gmail.test' },
      ]),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^events source "hook": event 1, outcome: /) });
    expect((await call('/v1/ingest/events', { method: 'POST', token: tokens.ingest, body: '{"events": [' })).status).toBe(400);
    // Over the JSON hook's 4 MiB: refused before it is read.
    const big = JSON.stringify({ events: Array.from({ length: 1_200 }, () => ({ time: now(), outcome: 'delivered', recipient: 'a@gmail.test', reply: 'x'.repeat(4_000) })) });
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    expect((await call('/v1/ingest/events', { method: 'POST', token: tokens.ingest, body: big })).status).toBe(413);
    expect((await call('/v1/traffic')).body.rows).toEqual([]);
    expect((await call('/v1/ingest/nothing', post([]))).status).toBe(404);
  });

  it('a rule on the traffic series fires from what was posted', async () => {
    const { call } = await observatory();
    const deferred = Array.from({ length: 8 }, (_, i) => ({
      time: now(),
      outcome: 'deferred',
      recipient: `r${i}@gmail.test`,
      ip: '192.0.2.20',
      smtp_code: 421,
      reply: '421-4.7.28 unusual rate of unsolicited mail',
    }));
    expect((await call('/v1/ingest/events', post([...deferred, { time: now(), outcome: 'delivered', recipient: 'x@gmail.test', ip: '192.0.2.20' }]))).status).toBe(200);
    let alerts: { rule: string; state: string; labels: Record<string, string> }[] = [];
    for (let attempt = 0; attempt < 50 && !alerts.some((alert) => alert.state === 'firing'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      alerts = (await call('/v1/alerts')).body.alerts;
    }
    expect(alerts[0]).toMatchObject({ rule: 'gmail-deferring', labels: { provider: 'gmail', ip: '192.0.2.20' } });
  });

  it("takes KumoMTA's log records as its hook posts them: a JSON array, or one record per line", async () => {
    const { call } = await observatory();
    const seconds = Math.floor(Date.now() / 1000);
    const record = (type: string, code: number, content: string) => ({
      type,
      id: '1d98076abbbc11ed940250ebf67f93bd',
      sender: 'news@sender.example',
      recipient: 'someone@gmail.test',
      queue: 'spring:acme@gmail.test',
      site: '',
      size: 1047,
      response: { code, enhanced_code: null, content, command: '.' },
      peer_address: { name: 'mx.gmail.test.', addr: '127.0.0.21' },
      timestamp: seconds,
      created: seconds - 5,
      num_attempts: 0,
      bounce_classification: 'Uncategorized',
      egress_pool: 'pool-a',
      egress_source: 'ip-10',
      source_address: { address: '192.0.2.10:53210' },
      feedback_report: null,
      meta: {},
      headers: {},
      delivery_protocol: 'ESMTP',
      reception_protocol: 'ESMTP',
      nodeid: '557f3ad4-2c8c-11ee-976e-782d7e12e173',
    });
    const array = [record('Delivery', 250, 'OK'), record('TransientFailure', 421, '4.7.28 unusual rate of unsolicited mail')];
    expect(await call('/v1/ingest/kumomta', { method: 'POST', token: tokens.ingest, body: JSON.stringify(array) })).toEqual({ status: 200, body: { accepted: 2 } });
    const lines = `${JSON.stringify(record('Bounce', 550, '5.1.1 no such user'))}\n${JSON.stringify(record('Reception', 250, ''))}\n`;
    // Reception is not an attempt to deliver: read, not counted.
    expect(await call('/v1/ingest/kumomta', { method: 'POST', token: tokens.ingest, body: lines, headers: { 'content-type': 'application/x-ndjson' } })).toEqual({
      status: 200,
      body: { accepted: 1 },
    });
    const bad = await call('/v1/ingest/kumomta', {
      method: 'POST',
      token: tokens.ingest,
      body: JSON.stringify([record('Delivery', 250, 'OK'), { ...record('Bounce', 550, 'x'), response: { code: 'x' } }]),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^kumomta source "kumo": record 1, response\./);
    const traffic = await call('/v1/traffic?by=pool');
    expect(traffic.body.rows).toEqual([
      expect.objectContaining({ key: 'pool-a', counts: { delivered: 1, deferred: 1, bounced: 1, expired: 0, complained: 0 }, classes: { rate_limited: 1, invalid_recipient: 1 } }),
    ]);
    // A batch as large as a busy hook's (read in pieces: http/json-pieces.ts), replies quoting JSON among its records; a bad record at its end refuses it all.
    const large = Array.from({ length: 600 }, (_, i) => ({
      ...record(i % 10 === 0 ? 'Bounce' : 'Delivery', i % 10 === 0 ? 550 : 250, `5.1.1 {"error":"no such user"},{"id":${i}}`),
      egress_pool: 'pool-b',
    }));
    expect(JSON.stringify(large).length).toBeGreaterThan(400_000);
    expect(await call('/v1/ingest/kumomta', { method: 'POST', token: tokens.ingest, body: JSON.stringify(large) })).toEqual({ status: 200, body: { accepted: 600 } });
    const refused = await call('/v1/ingest/kumomta', { method: 'POST', token: tokens.ingest, body: JSON.stringify([...large, { ...record('Delivery', 250, 'OK'), timestamp: 'now' }]) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/^kumomta source "kumo": record 600, timestamp:/);
    const poisoned = `${JSON.stringify(large).slice(0, -1)},{"__proto__":{"admin":true}}]`;
    expect((await call('/v1/ingest/kumomta', { method: 'POST', token: tokens.ingest, body: poisoned })).status).toBe(400);
    expect((await call('/v1/traffic?by=pool')).body.rows).toContainEqual(expect.objectContaining({ key: 'pool-b', counts: { delivered: 540, deferred: 0, bounced: 60, expired: 0, complained: 0 } }));
  });
});
