/**
 * The overview's panels from stored observations: the newest answer per (target,
 * list) across probes, rows and lists ordered worst first; placement and DNS
 * states; traffic rates as the API gives them, worst first.
 */
import { describe, expect, it } from 'vitest';
import { blocklistPanel, dnsPanel, feedbackPanel, placementPanel, trafficPanel } from '../../../src/http/console/pages/overview-panels.ts';

const at = (ms: number) => new Date(ms).toISOString();
const observation = (measurement: string, tags: Record<string, string>, fields: Record<string, string | number | boolean>, ms = 1_000) => ({ measurement, tags, fields, time: at(ms) });
const sweep = (probe: string, ms: number, observations: ReturnType<typeof observation>[]) => ({ run: { probe, startedAt: at(ms) }, observations });
const counts = (provider: string, fields: Record<string, number>) => ({
  key: provider,
  counts: { delivered: 0, deferred: 0, bounced: 0, expired: 0, complained: 0, ...fields },
  classes: {},
  latencySum: 0,
  latencyCount: 0,
});

describe('overview panels', () => {
  it('keeps the newest answer of each (target, list) across probes; listed rows and lists first, in numeric order after', () => {
    const pair = (target: string, list: string, status: string, ms: number, extra: Record<string, string | number | boolean> = {}) =>
      observation('blacklist', { target, target_kind: 'ip', list }, { status, ...extra }, ms);
    const panel = blocklistPanel([
      sweep('a', 1_000, [pair('192.0.2.10', 'spamcop', 'listed', 1_000), pair('192.0.2.9', 'psbl', 'not_listed', 1_000)]),
      sweep('b', 2_000, [
        pair('192.0.2.10', 'spamcop', 'not_listed', 2_000),
        pair('192.0.2.11', 'psbl', 'listed', 2_000, { listed_since: 500 }),
        pair('192.0.2.9', 'spamcop', 'error', 2_000, { error_code: 'DNS_TIMEOUT' }),
      ]),
    ]);
    expect(panel.lists).toEqual(['psbl', 'spamcop']);
    expect(panel.rows.map((row) => [row.target, row.cells.map((cell) => cell.state)])).toEqual([
      ['192.0.2.11', ['listed', 'none']],
      ['192.0.2.9', ['clean', 'error']],
      ['192.0.2.10', ['none', 'clean']],
    ]);
    expect(panel.rows[0]!.cells[0]).toMatchObject({ since: 500 });
    expect(panel.rows[1]!.cells[1]).toMatchObject({ code: 'DNS_TIMEOUT' });
    expect(panel).toMatchObject({ state: 'bad', listed: 1, errors: 1 });
    expect(blocklistPanel([]).state).toBe('empty');
  });

  it('puts an unknown provider first in placement and calls it worth a look, not wrong', () => {
    const provider = (name: string, fields: Record<string, number>) =>
      observation('placement_provider', { provider: name }, { seeds: 2, inbox: 0, spam: 0, category: 0, missing: 0, rejected: 0, errors: 0, ...fields });
    const unknown = placementPanel([sweep('p', 1_000, [provider('gmail', { inbox: 2, inbox_rate: 1 }), provider('gmx', { errors: 2 })])], []);
    expect(unknown.rows.map((row) => row.provider)).toEqual(['gmx', 'gmail']);
    expect(unknown.state).toBe('warn');
    expect(unknown.chart).toBeUndefined();
    expect(placementPanel([sweep('p', 1_000, [provider('gmail', { inbox: 0, spam: 2, inbox_rate: 0, spam_rate: 1 })])], []).state).toBe('bad');
    expect(placementPanel([sweep('p', 1_000, [provider('gmail', { inbox: 2, inbox_rate: 1 })])], []).state).toBe('ok');
  });

  it('orders DNS domains and checks worst first: a failure outranks an unknown, an unknown a warning', () => {
    const check = (domain: string, name: string, status: string) => observation('dns_auth', { domain, check: name }, { status, message: `${name} ${status}` });
    const panel = dnsPanel(
      [sweep('d', 1_000, [check('a.example', 'spf', 'warn'), check('b.example', 'spf', 'pass'), check('b.example', 'dmarc', 'error'), check('c.example', 'dmarc', 'fail')])],
      new Map(),
    );
    expect(panel.domains.map((domain) => [domain.domain, domain.status])).toEqual([
      ['c.example', 'fail'],
      ['b.example', 'error'],
      ['a.example', 'warn'],
    ]);
    expect(panel.domains[1]!.checks.map((one) => one.label)).toEqual(['dmarc', 'spf']);
    expect(panel).toMatchObject({ state: 'bad', failures: 1 });
  });

  it('gives traffic rates of attempts, worst first, and complaints of deliveries', () => {
    const traffic = trafficPanel([counts('gmail', { delivered: 990, deferred: 10 }), counts('yahoo', { delivered: 80, bounced: 10, expired: 10 }), counts('idle', { complained: 1 })]);
    expect(traffic.rows.map((row) => [row.provider, row.bounceRate])).toEqual([
      ['yahoo', 0.2],
      ['gmail', 0],
    ]);
    expect(traffic.state).toBe('bad');
    const feedback = feedbackPanel([{ domain: 'a.example', messages: 100, aligned: 99, unalignedSources: 1, reports: 2 }], [counts('gmail', { delivered: 2000, complained: 1 })], {
      'dmarc-aggregate': 2,
    });
    expect(feedback.complaints).toMatchObject([{ provider: 'gmail', complaintRate: 0.0005 }]);
    expect(feedback.dmarc).toMatchObject([{ domain: 'a.example', unaligned: 1, passRate: 0.99 }]);
    expect(feedback.state).toBe('ok');
    expect(feedbackPanel([], [], {}).state).toBe('empty');
  });
});
