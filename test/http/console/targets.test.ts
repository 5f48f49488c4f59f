/**
 * A target's page: every list that checks it and what it says now (an error is
 * shown as unknown, never as clean), its listings and delistings over time,
 * where placement cannot be told, and for operators the form that pauses it
 * (scope ip), after which the policy answers pause. A list's reason, which the
 * list's operator wrote, is shown as text.
 */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../src/core/observation.ts';
import { record } from '../../../src/store/record.ts';
import { apiRig, tokens } from '../../helpers/api.ts';
import { signedIn } from '../../helpers/console.ts';

const probesYaml = `probes:
  - id: pool-a
    kind: blacklist
    schedule: "0 0 1 1 *"
    targets: [192.0.2.0/30, news.example.com]
    lists: [spamhaus-zen, spamcop]
`;

const hour = 3_600_000;

function listing(target: string, list: string, at: number, fields: Observation['fields']): Observation {
  return { measurement: 'blacklist', tags: { target, target_kind: 'ip', list, range: '192.0.2.0/30' }, fields, time: new Date(at) };
}

async function rig() {
  const rig = await apiRig({ probesYaml });
  const runAt = (at: number, observations: Observation[], error?: { code: string; message: string }) =>
    record(rig.db, {
      probeId: 'pool-a',
      kind: 'blacklist',
      trigger: 'schedule',
      startedAt: new Date(at),
      finishedAt: new Date(at + 1000),
      durationMs: 1000,
      success: error === undefined,
      ...(error ? { error } : {}),
      observations,
    });
  return { ...rig, runAt };
}

describe('the console: a target', () => {
  it('shows each list now, the listings and delistings over time, and the reason as text', async () => {
    const { app, runAt } = await rig();
    const now = Date.now();
    const clean = { status: 'not_listed', listed: false };
    runAt(now - 3 * hour, [listing('192.0.2.1', 'spamhaus-zen', now - 3 * hour, clean), listing('192.0.2.1', 'spamcop', now - 3 * hour, clean)]);
    runAt(now - 2 * hour, [
      listing('192.0.2.1', 'spamhaus-zen', now - 2 * hour, { status: 'listed', listed: true, codes: '127.0.0.2', reason: 'https://check.spamhaus.org <script>alert(1)</script>' }),
      listing('192.0.2.1', 'spamcop', now - 2 * hour, clean),
    ]);
    runAt(now - hour, [
      listing('192.0.2.1', 'spamhaus-zen', now - hour, { status: 'listed', listed: true, codes: '127.0.0.2', reason: 'https://check.spamhaus.org <script>alert(1)</script>' }),
      listing('192.0.2.1', 'spamcop', now - hour, { status: 'error', error_code: 'DNS_TIMEOUT', error: 'no answer in 2 s' }),
      listing('192.0.2.2', 'spamcop', now - hour, clean),
    ]);

    const viewer = await signedIn(app, tokens.viewer);
    const page = await viewer.get('/targets/192.0.2.1');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<a href="\/probes\/pool-a">pool-a<\/a>/);
    expect(page.body).toMatch(/<td>spamhaus-zen<\/td>\s*<td class="listed">listed<\/td>/);
    expect(page.body).toMatch(/<td>spamcop<\/td>\s*<td class="error">error<\/td>/);
    expect(page.body).toMatch(/DNS_TIMEOUT: no answer in 2 s/);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).not.toContain('<script>alert');
    // One listing began (spamhaus-zen); spamcop's error is not a delisting.
    expect(page.body.match(/<span class="badge listed">listed<\/span>/g)).toHaveLength(1);
    expect(page.body).not.toMatch(/badge ok">delisted/);
    expect(page.body).toMatch(/Not known per IP address/);
    expect(page.body).not.toMatch(/Pause or throttle<\/button>/);

    // Another address of the range: checked, and clean; an address outside it: checked by nothing.
    expect((await viewer.get('/targets/192.0.2.2')).body).toMatch(/<td>spamcop<\/td>\s*<td class="clean">not listed<\/td>/);
    runAt(now - 1000, [listing('192.0.2.1', 'spamhaus-zen', now - 1000, clean), listing('192.0.2.1', 'spamcop', now - 1000, clean)]);
    const later = await viewer.get('/targets/192.0.2.1');
    expect(later.body).toMatch(/<span class="badge ok">delisted<\/span>/);
    expect(later.body).toMatch(/<td>spamhaus-zen<\/td>\s*<td class="clean">not listed<\/td>/);

    expect((await viewer.get('/targets/198.51.100.1')).body).toMatch(/No blacklist probe checks this address/);
    expect((await viewer.get('/targets/192.0.2.0%2F30')).statusCode).toBe(400);
  });

  it("says when the probe's last run failed: the lists' state is unknown", async () => {
    const { app, runAt } = await rig();
    runAt(Date.now() - hour, [], { code: 'DNS_UNREACHABLE', message: 'no resolver answered' });
    const viewer = await signedIn(app, tokens.viewer);
    const page = await viewer.get('/targets/news.example.com');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/failed: DNS_UNREACHABLE, no resolver answered\. Its lists' state is unknown/);
    expect(page.body).toMatch(/Traffic is counted per provider, sending IP and pool, not per sending domain/);
    expect(page.body).toMatch(/<a href="\/domains\/news\.example\.com">/);
  });

  it('pauses the address from its page: back on the page, and the policy answers pause', async () => {
    const { app, request } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const page = await ops.get('/targets/192.0.2.1');
    expect(page.body).toMatch(/<input type="hidden" name="scope.ip" value="192.0.2.1">/);
    expect(page.body).toMatch(/<input type="hidden" name="back" value="\/targets\/192.0.2.1">/);
    const paused = await ops.post('/controls', { 'scope.ip': '192.0.2.1', back: '/targets/192.0.2.1', action: 'pause', reason: 'listed on zen' });
    expect(paused.headers.location).toBe('/targets/192.0.2.1?done=paused');
    const after = await ops.get('/targets/192.0.2.1?done=paused');
    expect(after.body).toMatch(/Paused: the policy answers pause for ip=192\.0\.2\.1/);
    expect(after.body).toMatch(/listed on zen/);
    expect(((await request({ method: 'GET', url: '/v1/policy?ip=192.0.2.1', as: 'viewer' })).json() as { action: string }).action).toBe('pause');
    const throttled = await ops.post('/controls', { 'scope.ip': '192.0.2.1', back: '/targets/192.0.2.1', action: 'throttle', rate: '-1', reason: 'x' });
    expect(throttled.statusCode).toBe(400);
  });
});

describe('the console: a provider', () => {
  it('charts placement over time from the placement probes, escaped into its data attribute', async () => {
    const { app, db } = await rig();
    const now = Date.now();
    for (const [ago, inbox] of [
      [3, 1],
      [2, 0.5],
      [1, 0.25],
    ] as const) {
      const at = now - ago * hour;
      record(db, {
        probeId: 'seeds',
        kind: 'placement',
        trigger: 'schedule',
        startedAt: new Date(at),
        finishedAt: new Date(at + 1000),
        durationMs: 1000,
        success: true,
        observations: [
          { measurement: 'placement_provider', tags: { provider: 'gmail' }, fields: { seeds: 4, inbox: inbox * 4, inbox_rate: inbox, spam_rate: 1 - inbox, missing_rate: 0 }, time: new Date(at) },
          { measurement: 'placement_provider', tags: { provider: 'outlook' }, fields: { seeds: 2, inbox_rate: 1, spam_rate: 0, missing_rate: 0 }, time: new Date(at) },
        ],
      });
    }
    const viewer = await signedIn(app, tokens.viewer);
    const page = await viewer.get('/providers/gmail');
    expect(page.statusCode).toBe(200);
    const chart = /data-chart="([^"]+)"/.exec(page.body)?.[1];
    expect(chart).toBeDefined();
    const spec = JSON.parse(chart!.replaceAll('&quot;', '"')) as { x: number[]; y: number[][]; series: string[] };
    expect(spec.series).toEqual(['inbox', 'spam', 'missing']);
    expect(spec.y[0]).toEqual([1, 0.5, 0.25]);
    expect(spec.x).toHaveLength(3);
    expect(spec.x[0]).toBeLessThan(spec.x[2]!);
    expect(page.body).toMatch(/<td>25\.0%<\/td>/);
    expect(page.body).toMatch(/No traffic to gmail counted/);
  });
});
