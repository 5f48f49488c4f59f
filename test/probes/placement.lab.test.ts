/**
 * The placement probe end to end through the lab: the real routing engine
 * (Postfix submission pools), the providers' MX with OpenDKIM, pyspf, OpenDMARC,
 * SpamAssassin and Sieve, and the seed mailboxes on Dovecot.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { placement } from '../../src/probes/placement.ts';
import { labKeys } from '../lab/keys.ts';
import { findMessages, submit } from '../lab/mail.ts';
import { lab, labPassword, sender } from '../lab/plan.ts';
import { probeContext } from '../helpers/lab.ts';

const gtube = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

const seed = (address: string, password = labPassword) => ({ address, auth: { password } });

function definition(overrides: Record<string, unknown>) {
  return placement.configSchema.parse({
    id: 'seeds',
    kind: 'placement',
    schedule: '0 * * * *',
    wait: '20s',
    timeout: '60s',
    pollInterval: '500ms',
    imap: { host: lab.imap.host, port: lab.imap.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: sender.pools.clean.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
    message: { from: `Lab News <news@${sender.domain}>`, subject: 'Our November letter {token}', text: 'Hello. Here is what changed this month at the lab.' },
    ...overrides,
  });
}

const perSeed = (observations: Observation[]) => Object.fromEntries(observations.filter((o) => o.measurement === 'placement').map((o) => [o.tags.seed!, o.fields]));

describe('placement probe: active mode through the lab', () => {
  it('a clean message lands in each inbox, with the receiver’s verdicts, and is cleaned up; a wrong password is an error, not missing', async () => {
    const observations = await placement.run(
      definition({
        seeds: {
          gmail: [seed('seed1@gmail.test')],
          outlook: [seed('seed1@outlook.test'), seed('seed2@outlook.test', 'not-the-password')],
          yahoo: [seed('seed1@yahoo.test')],
        },
      }),
      probeContext(),
    );
    const seeds = perSeed(observations);
    for (const address of ['seed1@gmail.test', 'seed1@outlook.test', 'seed1@yahoo.test']) {
      expect(seeds[address], address).toMatchObject({
        outcome: 'inbox',
        folder: 'INBOX',
        found_by: 'inbox',
        spf: 'pass',
        dkim: 'pass',
        dmarc: 'pass',
        authserv_id: 'mx.lab.test',
        spam_flag: false,
        cleanup: 'deleted',
      });
      expect(seeds[address]!.delivery_ms).toBeGreaterThanOrEqual(0);
      expect(seeds[address]!.found_ms).toBeGreaterThanOrEqual(seeds[address]!.delivery_ms as number);
      expect(seeds[address]!.hops).toBeGreaterThanOrEqual(2);
    }
    expect(seeds['seed2@outlook.test']).toMatchObject({ outcome: 'error', error_code: 'IMAP_AUTH_FAILED' });
    expect(seeds['seed2@outlook.test']!.error).toMatch(/^127\.0\.0\.1:\d+ refused the login of seed2@outlook\.test/);

    const token = String(seeds['seed1@gmail.test']!.token);
    expect(token).toMatch(/^[\w-]{16}$/);
    expect(seeds['seed1@gmail.test']!.message_id).toBe(`<${token}.mailscope@sender.test>`);
    // Cleaned up: the probe message is gone from every seed.
    for (const address of ['seed1@gmail.test', 'seed1@outlook.test', 'seed1@yahoo.test']) {
      expect(await findMessages(address, { header: { 'X-Mailscope-Token': token } }), address).toEqual([]);
    }

    const outlook = observations.find((o) => o.measurement === 'placement_provider' && o.tags.provider === 'outlook')!;
    // The seed that could not be read is counted as an error and left out of the rates.
    expect(outlook.fields).toMatchObject({ seeds: 2, inbox: 1, errors: 1, inbox_rate: 1, spam_rate: 0, missing_rate: 0 });
    const run = observations.find((o) => o.measurement === 'placement_run')!;
    expect(run.fields).toMatchObject({ mode: 'active', submitted: true, seeds: 4, inbox: 3, errors: 1, inbox_rate: 1 });
    expect(run.fields.smtp_response).toMatch(/^250 /);
    expect(run.fields.latency_p50_ms).toBeGreaterThanOrEqual(0);
  });

  it('a spammy message lands in Junk (found by its \\Junk attribute); bulk mail in the Promotions category', async () => {
    const spammy = await placement.run(
      definition({ seeds: { gmail: [seed('seed2@gmail.test')] }, message: { from: `Lab News <news@${sender.domain}>`, subject: 'Win {token}', text: gtube } }),
      probeContext(),
    );
    expect(perSeed(spammy)['seed2@gmail.test']).toMatchObject({ outcome: 'spam', folder: 'Junk', found_by: 'special-use', spam_flag: true, cleanup: 'deleted' });
    expect(perSeed(spammy)['seed2@gmail.test']!.spam_score).toBeGreaterThan(5);

    const bulk = await placement.run(
      definition({
        seeds: { gmail: [seed('seed2@gmail.test')] },
        message: {
          from: `Lab News <news@${sender.domain}>`,
          subject: 'Autumn sale {token}',
          text: 'Our autumn collection.',
          headers: { 'List-Unsubscribe': '<https://sender.test/u/1>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        },
      }),
      probeContext(),
    );
    expect(perSeed(bulk)['seed2@gmail.test']).toMatchObject({ outcome: 'category:promotions', category: 'promotions', folder: 'Promotions', found_by: 'name' });
  });

  it('mail failing DKIM and DMARC goes to Junk at the strict provider and to the inbox at the lenient one', async () => {
    const observations = await placement.run(
      definition({
        seeds: { outlook: [seed('seed2@outlook.test')], yahoo: [seed('seed2@yahoo.test')] },
        smtp: { host: '127.0.0.1', port: sender.pools.unsigned.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
      }),
      probeContext(),
    );
    const seeds = perSeed(observations);
    expect(seeds['seed2@outlook.test']).toMatchObject({ outcome: 'spam', folder: 'Junk', dkim: 'none', spf: 'fail', dmarc: 'fail' });
    expect(seeds['seed2@yahoo.test']).toMatchObject({ outcome: 'inbox', dmarc: 'fail' });
  });

  it('from a blocklisted source: refused by the provider that checks DNSBLs, rejected with the bounce’s reason; delivered elsewhere', async () => {
    const observations = await placement.run(
      definition({
        seeds: { yahoo: [seed('seed1@yahoo.test')], gmail: [seed('seed1@gmail.test')] },
        smtp: { host: '127.0.0.1', port: sender.pools.listed.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
        bounces: seed(sender.bounceMailbox),
      }),
      probeContext(),
    );
    const seeds = perSeed(observations);
    expect(seeds['seed1@yahoo.test']).toMatchObject({ outcome: 'rejected', rejected_at: 'delivery', bounce_status: '5.7.1' });
    expect(seeds['seed1@yahoo.test']!.bounce_reason).toMatch(/^554 5\.7\.1 .*Client host \[127\.0\.0\.11\] blocked using zen\.dnsbl\.test/);
    expect(seeds['seed1@gmail.test']).toMatchObject({ outcome: 'inbox' });
    expect(observations.find((o) => o.measurement === 'placement_run')!.fields).toMatchObject({ rejected: 1, inbox: 1, rejected_rate: 0.5 });
  });

  it('a seed whose message never comes is missing after the deadline; an unreachable IMAP server is an error', async () => {
    const observations = await placement.run(
      definition({
        wait: '2s',
        seeds: {
          yahoo: [seed('seed2@yahoo.test')],
          elsewhere: [{ ...seed('nobody@gmail.test'), imap: { host: '127.0.0.1', port: 1, security: 'none' } }],
        },
        // Accepted by the routing engine for the first seed only: the second's mailbox cannot be opened, so it is not sent to.
        smtp: { host: '127.0.0.1', port: sender.pools.listed.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
      }),
      probeContext(),
    );
    const seeds = perSeed(observations);
    expect(seeds['seed2@yahoo.test']).toMatchObject({ outcome: 'missing' });
    expect(seeds['seed2@yahoo.test']!.searches).toBeGreaterThanOrEqual(3);
    expect(seeds['nobody@gmail.test']).toMatchObject({ outcome: 'error', error_code: 'IMAP_UNREACHABLE' });
  });
});

describe('placement probe: TLS to the seed mailboxes', () => {
  it('reads over IMAPS and STARTTLS with the private CA; without it, IMAP_TLS_FAILED', async () => {
    const tls = { host: lab.imap.host, servername: lab.imap.hostname, caFile: labKeys().caCert };
    const observations = await placement.run(
      definition({
        seeds: {
          yahoo: [
            { ...seed('seed1@yahoo.test'), imap: { ...tls, port: lab.imap.tlsPort, security: 'tls' } },
            { ...seed('seed2@yahoo.test'), imap: { ...tls, port: lab.imap.port, security: 'starttls' } },
          ],
          gmail: [{ ...seed('seed1@gmail.test'), imap: { host: lab.imap.host, port: lab.imap.tlsPort, security: 'tls' } }],
        },
      }),
      probeContext(),
    );
    const seeds = perSeed(observations);
    expect(seeds['seed1@yahoo.test']).toMatchObject({ outcome: 'inbox' });
    expect(seeds['seed2@yahoo.test']).toMatchObject({ outcome: 'inbox' });
    expect(seeds['seed1@gmail.test']).toMatchObject({ outcome: 'error', error_code: 'IMAP_TLS_FAILED' });
  });
});

describe('placement probe: passive mode', () => {
  it('finds a campaign message sent straight through the MTA by its header, and keeps it', async () => {
    const campaign = `autumn-${randomUUID()}`;
    await submit('clean', { to: 'seed1@yahoo.test', subject: 'The autumn campaign', text: 'A real campaign message.', headers: { 'X-Campaign-Id': campaign } });
    const observations = await placement.run(
      placement.configSchema.parse({
        id: 'campaign',
        kind: 'placement',
        schedule: '0 * * * *',
        mode: 'passive',
        wait: '15s',
        timeout: '60s',
        pollInterval: '500ms',
        imap: { host: lab.imap.host, port: lab.imap.port, security: 'none' },
        passive: { header: 'X-Campaign-Id', value: campaign, window: '1h' },
        seeds: { yahoo: [seed('seed1@yahoo.test')] },
      }),
      probeContext(),
    );
    expect(perSeed(observations)['seed1@yahoo.test']).toMatchObject({ outcome: 'inbox', matches: 1, cleanup: 'kept', dkim: 'pass', dmarc: 'pass' });
    expect(await findMessages('seed1@yahoo.test', { header: { 'X-Campaign-Id': campaign } })).toHaveLength(1);
  });
});
