/**
 * The traffic service over a real store: events completed (provider from the
 * known domains, else by MX; bounce class from codes and text), added to the
 * minute aggregates and the reasons, committed with the source's checkpoint; and
 * the flusher writing changed minutes as `traffic` points the rules can watch.
 */
import type { Answer } from 'dns-packet';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { RuleSchema } from '../../src/alerts/rules.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { providerMap } from '../../src/core/providers.ts';
import type { TrafficEvent } from '../../src/core/traffic.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { SourceInputError } from '../../src/sources/define.ts';
import { listAlerts } from '../../src/store/alerts.ts';
import { Database } from '../../src/store/database.ts';
import { takeBatch } from '../../src/store/outbox.ts';
import { dirtyMinutes, topReasons, trafficTotals } from '../../src/store/traffic.ts';
import { TrafficFlusher } from '../../src/traffic/flusher.ts';
import { reasonOf, TrafficService } from '../../src/traffic/service.ts';
import { fakeDns, type Query, type Reply } from '../helpers/dns-server.ts';
import { testDuty } from '../helpers/duty.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const start = '2026-12-06T10:00:00Z';

async function setup(options: { dns?: (query: Query) => Reply; campaignTag?: boolean } = {}) {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  const clock = new ManualClock(start);
  const log = captureLog();
  let dns: DnsClient | undefined;
  if (options.dns) {
    const server = await fakeDns(options.dns);
    dns = new DnsClient({ servers: [server.server], timeoutMs: 300, attempts: 1 });
    onTestFinished(() => dns!.close());
  }
  const traffic = new TrafficService({
    db,
    clock,
    log: log.log,
    dns,
    providers: providerMap({ gmail: ['gmail.test'] }),
    settings: { campaignTag: options.campaignTag ?? false, reasonsKept: 3, mxLookup: true, oldestMs: 30 * 86_400_000 },
  });
  return { db, clock, log, traffic };
}

const at = (seconds: number) => new Date(Date.parse(start) - 120_000 + seconds * 1000);
const event = (overrides: Partial<TrafficEvent>): TrafficEvent => ({ time: at(0), outcome: 'delivered', recipientDomain: 'gmail.com', ip: '192.0.2.10', pool: 'a', ...overrides });
const window = { since: Date.parse(start) - 3_600_000, until: Date.parse(start) + 1 };

describe('the traffic service', () => {
  it("keeps a minute's slowest delivery and adds its bounce classes, whatever later batches bring", async () => {
    const { db, traffic } = await setup();
    const slice = () => dirtyMinutes(db, 100).find((minute) => minute.ip === '192.0.2.10');
    await traffic.ingest([event({}), event({ ip: '192.0.2.11' })]);
    expect(slice()).not.toHaveProperty('latencyMax');
    await traffic.ingest([event({ latencyMs: 3_000 }), event({ outcome: 'deferred', smtpCode: 451, enhancedCode: '4.3.2' })]);
    await traffic.ingest([event({})]);
    await traffic.ingest([event({ latencyMs: 2_000 })]);
    expect(slice()).toMatchObject({ latencyMax: 3_000, latencySum: 5_000, latencyCount: 2, classes: { transient: 1 } });
    await traffic.ingest([event({ latencyMs: 5_000 }), event({ outcome: 'deferred', smtpCode: 451, enhancedCode: '4.3.2' }), event({ outcome: 'bounced', smtpCode: 550, enhancedCode: '5.1.1' })]);
    expect(slice()).toMatchObject({ latencyMax: 5_000, classes: { transient: 2, invalid_recipient: 1 }, counts: { delivered: 5, deferred: 2, bounced: 1 } });
    expect(dirtyMinutes(db, 100).find((minute) => minute.ip === '192.0.2.11')).not.toHaveProperty('latencyMax');
  });

  it('adds events to their minute and slice: outcomes, bounce classes, latency; several batches add up', async () => {
    const { db, traffic } = await setup();
    await traffic.ingest([
      event({ latencyMs: 1_000 }),
      event({ latencyMs: 3_000 }),
      event({ outcome: 'deferred', smtpCode: 421, reply: '421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address.' }),
      event({ outcome: 'bounced', smtpCode: 550, reply: '550-5.1.1 The email account that you tried to reach does not exist.' }),
      event({ time: at(61), outcome: 'delivered' }),
      event({ recipientDomain: 'gmail.test', ip: '192.0.2.11' }),
    ]);
    await traffic.ingest([event({ outcome: 'deferred', smtpCode: 451, enhancedCode: '4.3.2' })]);
    const minutes = dirtyMinutes(db, 100);
    expect(minutes).toHaveLength(3);
    const first = minutes.find((minute) => minute.minute === Date.parse(start) - 120_000 && minute.ip === '192.0.2.10')!;
    expect(first).toMatchObject({ provider: 'gmail', pool: 'a', counts: { delivered: 2, deferred: 2, bounced: 1, expired: 0, complained: 0 }, latencySum: 4_000, latencyCount: 2, latencyMax: 3_000 });
    // 4.3.2 (system not accepting messages) with no text: a temporary failure with no more specific reason.
    expect(first.classes).toEqual({ rate_limited: 1, transient: 1, invalid_recipient: 1 });
    // gmail.test is a configured gmail domain.
    expect(minutes.find((minute) => minute.ip === '192.0.2.11')?.provider).toBe('gmail');
    const byProvider = trafficTotals(db, window, 'provider');
    expect(byProvider.map((row) => [row.key, row.counts.delivered, row.counts.deferred])).toEqual([['gmail', 4, 2]]);
    expect(trafficTotals(db, { ...window, ip: '192.0.2.11' }, 'ip').map((row) => row.key)).toEqual(['192.0.2.11']);
  });

  it('keeps what the receivers said per hour, provider and class: one reason for a thousand recipients, bounded and cleaned', async () => {
    const { db, traffic } = await setup();
    const refusals = Array.from({ length: 1_000 }, (_, i) =>
      event({ outcome: 'bounced', smtpCode: 550, reply: `550 5.1.1 <user${i}@gmail.com>: Recipient address rejected: User unknown in 192.0.2.${i % 250} queue Q${i}ABCDEF012345` }),
    );
    await traffic.ingest([...refusals, event({ outcome: 'deferred', reply: `421 try later\u001b[2J${'x'.repeat(5_000)}` })]);
    const reasons = topReasons(db, window, 10);
    expect(reasons[0]).toMatchObject({ provider: 'gmail', class: 'invalid_recipient', count: 1_000, reason: '550 5.1.1 <address>: Recipient address rejected: User unknown in <ip> queue <id>' });
    const noisy = reasons.find((reason) => reason.class === 'transient')!;
    expect(noisy.example.length).toBeLessThanOrEqual(300);
    expect(noisy.example).not.toMatch(/[\u0000-\u001f]/);
    expect(reasonOf('421-4.7.0 [192.0.2.7 15] Our system has detected')).toBe('421-4.7.0 <ip> 15] Our system has detected');
  });

  it('keeps at most `reasons` distinct replies per hour, provider and class: the least recently seen go', async () => {
    const { db, traffic } = await setup();
    await traffic.ingest(['one', 'two', 'three', 'four', 'five'].map((word, i) => event({ time: at(i), outcome: 'deferred', reply: `450 busy ${word}` })));
    expect(
      topReasons(db, window, 10)
        .map((reason) => reason.reason)
        .sort(),
    ).toEqual(['450 busy five', '450 busy four', '450 busy three']);
  });

  it('finds the provider of an unknown domain by its MX hosts, once; a failed lookup counts as unknown, not other', async () => {
    const asked: string[] = [];
    const { db, traffic } = await setup({
      dns: (query) => {
        asked.push(`${query.type} ${query.name}`);
        if (query.name === 'corp.example') return { answers: [{ type: 'MX', name: 'corp.example', ttl: 60, data: { preference: 1, exchange: 'aspmx.l.google.com' } } as Answer] };
        if (query.name === 'tenant.example')
          return { answers: [{ type: 'MX', name: 'tenant.example', ttl: 60, data: { preference: 0, exchange: 'tenant-example.mail.protection.outlook.com' } } as Answer] };
        if (query.name === 'broken.example') return { rcode: 'SERVFAIL' };
        return { rcode: 'NXDOMAIN' };
      },
    });
    await traffic.ingest([
      event({ recipientDomain: 'corp.example' }),
      event({ recipientDomain: 'corp.example' }),
      event({ recipientDomain: 'tenant.example' }),
      event({ recipientDomain: 'broken.example' }),
      event({ recipientDomain: 'nowhere.example' }),
    ]);
    await traffic.ingest([event({ recipientDomain: 'corp.example' })]);
    expect(new Map(trafficTotals(db, window, 'provider').map((row) => [row.key, row.counts.delivered]))).toEqual(
      new Map([
        ['gmail', 3],
        ['outlook', 1],
        ['unknown', 1],
        ['other', 1],
      ]),
    );
    expect(asked.filter((query) => query === 'MX corp.example')).toHaveLength(1);
  });

  it('keeps campaigns apart only when asked to', async () => {
    const apart = await setup({ campaignTag: true });
    await apart.traffic.ingest([event({ campaign: 'spring' }), event({ campaign: 'autumn' })]);
    expect(
      dirtyMinutes(apart.db, 10)
        .map((minute) => minute.campaign)
        .sort(),
    ).toEqual(['autumn', 'spring']);
    const together = await setup();
    await together.traffic.ingest([event({ campaign: 'spring' }), event({ campaign: 'autumn' })]);
    expect(dirtyMinutes(together.db, 10).map((minute) => [minute.campaign, minute.counts.delivered])).toEqual([['', 2]]);
  });

  it('refuses a batch with an event dated outside what is kept, naming it, and counts nothing of it', async () => {
    const { db, traffic } = await setup();
    const error = await traffic.ingest([event({}), event({ time: new Date(Date.parse(start) + 2 * 3_600_000) })]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SourceInputError);
    expect(error).toMatchObject({ record: 1, field: 'time' });
    await expect(traffic.ingest([event({ time: new Date('2020-01-01T00:00:00Z') })])).rejects.toThrow('event 0, time: 2020-01-01T00:00:00.000Z is outside what is kept');
    expect(dirtyMinutes(db, 10)).toEqual([]);
  });

  it("commits a tailing source's checkpoint with its events; what it skips for age is logged, not refused", async () => {
    const { db, traffic, log } = await setup();
    const ctx = traffic.contextFor('maillog', { signal: new AbortController().signal });
    expect(ctx.checkpoint()).toBeUndefined();
    await ctx.commit([event({}), event({ time: new Date('2020-01-01T00:00:00Z') })], '{"inode":7,"position":120}');
    expect(ctx.checkpoint()).toBe('{"inode":7,"position":120}');
    expect(dirtyMinutes(db, 10)[0]?.counts.delivered).toBe(1);
    expect(log.entries().some((entry) => entry.msg === 'events dated outside what is kept were skipped' && entry.skipped === 1)).toBe(true);
  });
});

describe('the traffic flusher', () => {
  it('writes each changed minute as a traffic point (again when it changes), and the rules see it', async () => {
    const { db, clock, traffic, log } = await setup();
    const rule = RuleSchema.parse({ id: 'gmail-deferring', condition: 'traffic.deferral_rate > 0.2', where: { provider: 'gmail' }, severity: 'warning' });
    const alerts = new AlertEngine({ db, rules: [rule], clock, log: log.log, settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { windowMs: 3_600_000, maxTransitions: 4 } } });
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 10_000, campaignTag: false, keepMs: 30 * 86_400_000, evaluate: (points, options) => alerts.evaluate(points, options) });
    await traffic.ingest([event({}), event({}), event({ outcome: 'deferred', reply: '421 4.7.28 unusual rate' })]);
    expect(flusher.flush()).toBe(1);
    expect(flusher.flush()).toBe(0);
    // The traffic point, and the alert engine's own point for the alert it fired.
    const lines = takeBatch(db, 10)
      .map((row) => row.line)
      .filter((line) => line.startsWith('traffic,'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^traffic,ip=192\.0\.2\.10,pool=a,provider=gmail attempts=3i,.*deferral_rate=0\.333333,.*delivered=2i/);
    expect(listAlerts(db, { limit: 10 }).map((alert) => [alert.ruleId, alert.labels.provider, alert.state])).toEqual([['gmail-deferring', 'gmail', 'firing']]);
    // More of the same minute: written again, with the new counts.
    await traffic.ingest([event({}), event({}), event({}), event({}), event({}), event({})]);
    expect(flusher.flush()).toBe(1);
    expect(
      takeBatch(db, 10)
        .filter((row) => row.line.startsWith('traffic,'))
        .at(-1)?.line,
    ).toMatch(/delivered=8i/);
    expect(listAlerts(db, { limit: 10 })[0]?.state).toBe('resolved');
  });

  it('does not let a minute still being counted resolve (or fire) a rule below its minimum, and sees it again once it is over', async () => {
    const { db, clock, traffic, log } = await setup();
    const rule = RuleSchema.parse({ id: 'gmail-deferring', condition: 'traffic.deferral_rate > 0.2', where: { provider: 'gmail' }, minimum: { attempts: 5 }, severity: 'warning' });
    const alerts = new AlertEngine({ db, rules: [rule], clock, log: log.log, settings: { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { windowMs: 3_600_000, maxTransitions: 4 } } });
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 10_000, campaignTag: false, keepMs: 30 * 86_400_000, evaluate: (points, options) => alerts.evaluate(points, options) });
    const state = () => listAlerts(db, { limit: 10 }).map((alert) => alert.state);
    // A finished minute with enough evidence: it fires.
    await traffic.ingest(Array.from({ length: 6 }, (_, i) => event({ outcome: i < 3 ? 'deferred' : 'delivered' })));
    flusher.flush();
    expect(state()).toEqual(['firing']);
    // Ten seconds into the current minute: two deliveries are no evidence of recovery yet.
    clock.set(new Date(Date.parse(start) + 10_000));
    await traffic.ingest([event({ time: new Date(Date.parse(start) + 5_000) }), event({ time: new Date(Date.parse(start) + 6_000) })]);
    flusher.flush();
    expect(state()).toEqual(['firing']);
    expect(flusher.settle()).toBe(0);
    // Nor is a deferral a new alert's evidence, in another slice of traffic.
    await traffic.ingest([event({ time: new Date(Date.parse(start) + 7_000), ip: '192.0.2.99', outcome: 'deferred' })]);
    flusher.flush();
    expect(listAlerts(db, { limit: 10 })).toHaveLength(1);
    // The minute is over, quiet: now it is evidence, and the alert resolves.
    clock.set(new Date(Date.parse(start) + 61_000));
    expect(flusher.settle()).toBe(2);
    expect(state()).toEqual(['resolved']);
    expect(flusher.settle()).toBe(0);
  });

  it('after a change of leader, shows the rules again, once over, a minute the leader before saw while it was still being counted', async () => {
    const { db, clock, traffic, log } = await setup();
    const rule = RuleSchema.parse({ id: 'gmail-deferring', condition: 'traffic.deferral_rate > 0.2', where: { provider: 'gmail' }, minimum: { attempts: 5 }, severity: 'warning' });
    const settings = { intervalMs: 30_000, renotifyMs: 3_600_000, flap: { windowMs: 3_600_000, maxTransitions: 4 } };
    const flusherOf = () => {
      const alerts = new AlertEngine({ db, rules: [rule], clock, log: log.log, settings });
      return new TrafficFlusher({ db, clock, log: log.log, intervalMs: 10_000, campaignTag: false, keepMs: 30 * 86_400_000, evaluate: (points, options) => alerts.evaluate(points, options) });
    };
    const state = () => listAlerts(db, { limit: 10 }).map((alert) => alert.state);
    const before = flusherOf();
    await traffic.ingest(Array.from({ length: 6 }, (_, i) => event({ outcome: i < 3 ? 'deferred' : 'delivered' })));
    before.flush();
    expect(state()).toEqual(['firing']);
    // The leader before saw the current minute while it was still being counted, then went away.
    clock.set(new Date(Date.parse(start) + 10_000));
    await traffic.ingest([event({ time: new Date(Date.parse(start) + 5_000) }), event({ time: new Date(Date.parse(start) + 6_000) })]);
    before.flush();
    expect(state()).toEqual(['firing']);
    // The new leader knows nothing of that minute until it takes on the ones not over.
    const after = flusherOf();
    const forgetful = flusherOf();
    // The current minute (the one before is over, and was shown as such).
    expect(after.adopt()).toBe(1);
    expect(after.adopt()).toBe(0);
    clock.set(new Date(Date.parse(start) + 61_000));
    expect(forgetful.settle()).toBe(0);
    expect(state()).toEqual(['firing']);
    expect(after.settle()).toBe(1);
    expect(state()).toEqual(['resolved']);
  });

  it('writes many changed minutes a batch at a time on its timer, letting the event loop run between batches', async () => {
    const { db, clock, traffic, log } = await setup();
    // 1,200 slices of one minute: more than two batches of the timed flush.
    await traffic.ingest(Array.from({ length: 1_200 }, (_, i) => event({ ip: `10.0.${i >> 8}.${i & 255}` })));
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 20, campaignTag: false, keepMs: 30 * 86_400_000 });
    const dirtyBetween: number[] = [];
    const watch = setInterval(() => dirtyBetween.push(dirtyMinutes(db, 2_000).length), 1);
    flusher.start();
    await vi.waitFor(() => expect(dirtyMinutes(db, 10)).toEqual([]), { timeout: 5_000 });
    clearInterval(watch);
    flusher.stop();
    expect(takeBatch(db, 2_000).filter((row) => row.line.startsWith('traffic,'))).toHaveLength(1_200);
    // Seen part-way: some minutes written, some not yet.
    expect(dirtyBetween.some((count) => count > 0 && count < 1_200)).toBe(true);
  });

  it('prunes minutes and reasons older than the retention period, once written', async () => {
    const { db, clock, traffic, log } = await setup();
    await traffic.ingest([event({ outcome: 'deferred', reply: '450 later' })]);
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 10_000, campaignTag: false, keepMs: 86_400_000 });
    flusher.flush();
    clock.advance(2 * 86_400_000);
    expect(flusher.prune()).toBe(2);
    expect(trafficTotals(db, { since: 0, until: Date.parse(start) * 2 }, 'provider')).toEqual([]);
  });

  it('writes nothing while this instance does not lead (the minutes stay dirty for the leader), and writes them once it leads', async () => {
    const { db, clock, traffic, log } = await setup();
    const duty = testDuty({ leading: false, epoch: 2 });
    const evaluated: unknown[] = [];
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 20, campaignTag: false, keepMs: 30 * 86_400_000, evaluate: (points) => evaluated.push(...points), duty });
    const trafficLines = () => takeBatch(db, 100).filter((row) => row.line.startsWith('traffic,'));
    await traffic.ingest([event({}), event({ outcome: 'deferred', reply: '421 4.7.28 unusual rate' })]);

    expect(flusher.flush()).toBe(0);
    // Nor on its timer, nor at stop.
    flusher.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    flusher.stop();
    expect(dirtyMinutes(db, 10)).toHaveLength(1);
    expect(trafficLines()).toEqual([]);
    expect(evaluated).toEqual([]);
    expect(duty.fences).toBe(0);

    duty.leading = true;
    expect(flusher.flush()).toBe(1);
    expect(duty.fences).toBe(1);
    expect(dirtyMinutes(db, 10)).toEqual([]);
    expect(trafficLines()).toHaveLength(1);
    expect(trafficLines()[0]!.line).toMatch(/^traffic,ip=192\.0\.2\.10,pool=a,provider=gmail attempts=2i,.*deferred=1i,.*delivered=1i/);
    expect(evaluated).toHaveLength(1);
  });

  it('a flush whose fence finds the lease lost writes nothing: the minutes stay dirty and the rules see nothing; the timed flush says so and goes on', async () => {
    const { db, clock, traffic, log } = await setup();
    const duty = testDuty({ leading: true, epoch: 2, lost: true });
    const evaluated: unknown[] = [];
    const flusher = new TrafficFlusher({ db, clock, log: log.log, intervalMs: 20, campaignTag: false, keepMs: 30 * 86_400_000, evaluate: (points) => evaluated.push(...points), duty });
    await traffic.ingest([event({}), event({ ip: '192.0.2.11' })]);

    expect(() => flusher.flush()).toThrow(expect.objectContaining({ code: 'LEASE_LOST' }));
    expect(dirtyMinutes(db, 10)).toHaveLength(2);
    expect(takeBatch(db, 100)).toEqual([]);
    expect(evaluated).toEqual([]);

    flusher.start();
    await vi.waitFor(() => expect(log.entries().some((entry) => entry.msg === 'traffic flush failed; trying again at the next interval')).toBe(true), { timeout: 5_000 });
    expect(dirtyMinutes(db, 10)).toHaveLength(2);
    // The lease is this instance's again: the next interval writes both minutes.
    duty.lost = false;
    await vi.waitFor(() => expect(dirtyMinutes(db, 10)).toEqual([]), { timeout: 5_000 });
    flusher.stop();
    expect(takeBatch(db, 100).filter((row) => row.line.startsWith('traffic,'))).toHaveLength(2);
    expect(evaluated).toHaveLength(2);
  });
});
