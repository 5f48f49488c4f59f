/**
 * The placement probe reads every time of day on its context's clock (ctx.clock):
 * when it submitted and when it found the message (the latencies), when its wait
 * ends, and where a passive window starts. Shown with clocks that differ from the
 * system's, against the lab's real MTA and seed mailboxes.
 */
import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { placement } from '../../src/probes/placement.ts';
import { submit, waitForMessage } from '../lab/mail.ts';
import { lab, labPassword, sender } from '../lab/plan.ts';
import { probeContext } from '../helpers/lab.ts';

const hour = 3_600_000;
const seed = (address: string) => ({ address, auth: { password: labPassword } });

function definition(overrides: Record<string, unknown>) {
  return placement.configSchema.parse({
    id: 'seeds',
    kind: 'placement',
    schedule: '0 * * * *',
    wait: '20s',
    timeout: '60s',
    pollInterval: '250ms',
    imap: { host: lab.imap.host, port: lab.imap.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: sender.pools.clean.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
    message: { from: `Lab News <news@${sender.domain}>`, subject: 'Clock check {token}', text: 'Hello.' },
    ...overrides,
  });
}

const perSeed = (observations: Observation[]) => Object.fromEntries(observations.filter((o) => o.measurement === 'placement').map((o) => [o.tags.seed!, o.fields]));

/** The system clock, `offsetMs` away. */
const shifted = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

describe('placement: times come from ctx.clock', () => {
  it('submission and finding are read on the probe’s clock: an hour behind, the receiver’s Received time is an hour later than the submission', async () => {
    const observations = await placement.run(definition({ seeds: { yahoo: [seed('seed2@yahoo.test')] } }), probeContext(undefined, { clock: shifted(-hour) }));
    const fields = perSeed(observations)['seed2@yahoo.test']!;
    expect(fields).toMatchObject({ outcome: 'inbox' });
    // Submitted and found on the same (shifted) clock: seconds apart.
    expect(fields.found_ms).toBeGreaterThanOrEqual(0);
    expect(fields.found_ms).toBeLessThan(60_000);
    // The receiver's Received header is in real time (1 s resolution): an hour after the submission as the probe read it.
    expect(fields.delivery_ms).toBeGreaterThan(hour - 2_000);
    expect(fields.delivery_ms).toBeLessThan(hour + 60_000);
    expect(observations.find((o) => o.measurement === 'placement_run')!.fields.latency_p50_ms).toBe(fields.delivery_ms);
  });

  it('the wait ends on the probe’s clock: a clock that runs a minute per reading ends a 10-minute wait in moments', async () => {
    // A routing engine that accepts the message and delivers nothing: the seed stays missing until the wait ends.
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as { port: number }).port;

    const manual = new ManualClock('2026-11-23T10:00:00Z');
    const fast: Clock = {
      now: () => {
        const now = manual.now();
        manual.advance(60_000);
        return now;
      },
    };
    const started = performance.now();
    const observations = await placement.run(
      definition({ wait: '10m', timeout: '15m', smtp: { host: '127.0.0.1', port, security: 'none', envelopeFrom: sender.bounceMailbox }, seeds: { yahoo: [seed('seed2@yahoo.test')] } }),
      probeContext(undefined, { clock: fast }),
    );
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(perSeed(observations)['seed2@yahoo.test']).toMatchObject({ outcome: 'missing' });
    expect(observations.find((o) => o.measurement === 'placement_run')!.fields).toMatchObject({ submitted: true, missing: 1 });
    // The observations carry the time the run started, on the same clock.
    expect(observations.every((o) => o.time.toISOString() === '2026-11-23T10:00:00.000Z')).toBe(true);
  });

  it('a passive window starts on the probe’s clock: three days ahead, the message sent today is outside it', async () => {
    const campaign = `clock-${randomUUID()}`;
    await submit('clean', { to: 'seed2@yahoo.test', subject: 'The clock campaign', text: 'A real campaign message.', headers: { 'X-Campaign-Id': campaign } });
    await waitForMessage('seed2@yahoo.test', { header: { 'X-Campaign-Id': campaign } });
    const passive = definition({
      id: 'campaign',
      mode: 'passive',
      wait: '2s',
      smtp: undefined,
      message: undefined,
      passive: { header: 'X-Campaign-Id', value: campaign, window: '1h' },
      seeds: { yahoo: [seed('seed2@yahoo.test')] },
    });
    const ahead = await placement.run(passive, probeContext(undefined, { clock: shifted(72 * hour) }));
    expect(perSeed(ahead)['seed2@yahoo.test']).toMatchObject({ outcome: 'missing' });
    const now = await placement.run(passive, probeContext(undefined, { clock: systemClock }));
    expect(perSeed(now)['seed2@yahoo.test']).toMatchObject({ outcome: 'inbox', matches: 1, cleanup: 'kept' });
  });
});
