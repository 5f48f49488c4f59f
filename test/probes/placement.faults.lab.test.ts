/**
 * Faults the lab's real servers will not produce on demand: a routing engine that
 * refuses a recipient or the credentials (smtp-server in-process), one that is not
 * there. The seed mailboxes are the lab's. (OAuth2 token sources that fail: placement-faults.test.ts.)
 */
import { SMTPServer } from 'smtp-server';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { placement } from '../../src/probes/placement.ts';
import { lab, labPassword, sender } from '../lab/plan.ts';
import { probeContext } from '../helpers/lab.ts';
import { closedPort } from '../helpers/servers.ts';

async function smtpServer(options: ConstructorParameters<typeof SMTPServer>[0]): Promise<number> {
  const server = new SMTPServer({ disabledCommands: ['STARTTLS'], logger: false, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.server.address() as { port: number }).port;
}

function definition(port: number, overrides: Record<string, unknown> = {}) {
  return placement.configSchema.parse({
    id: 'seeds',
    kind: 'placement',
    schedule: '0 * * * *',
    wait: '1s',
    timeout: '60s',
    pollInterval: '250ms',
    imap: { host: lab.imap.host, port: lab.imap.port, security: 'none' },
    smtp: { host: '127.0.0.1', port, security: 'none', envelopeFrom: sender.bounceMailbox, timeout: '5s' },
    message: { from: `Lab News <news@${sender.domain}>`, subject: 'Hello {token}', text: 'Hello.' },
    seeds: {
      yahoo: [
        { address: 'seed1@yahoo.test', auth: { password: labPassword } },
        { address: 'seed2@yahoo.test', auth: { password: labPassword } },
      ],
    },
    ...overrides,
  });
}

const perSeed = (observations: Observation[]) => Object.fromEntries(observations.filter((o) => o.measurement === 'placement').map((o) => [o.tags.seed!, o.fields]));

describe('placement: the routing engine', () => {
  it('a recipient refused at submission is rejected with the SMTP code and text; the others are still read', async () => {
    const port = await smtpServer({
      authOptional: true,
      onRcptTo(address, _session, callback) {
        if (address.address === 'seed2@yahoo.test') {
          const error = new Error('5.1.1 <seed2@yahoo.test>: Recipient address rejected: policy') as Error & { responseCode: number };
          error.responseCode = 550;
          callback(error);
        } else callback();
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    const observations = await placement.run(definition(port), probeContext());
    const seeds = perSeed(observations);
    expect(seeds['seed2@yahoo.test']).toMatchObject({ outcome: 'rejected', rejected_at: 'submission', smtp_code: 550 });
    expect(seeds['seed2@yahoo.test']!.smtp_response).toMatch(/^550 5\.1\.1 <seed2@yahoo\.test>: Recipient address rejected: policy$/);
    // Accepted by this engine, which delivers nothing: missing, after the wait.
    expect(seeds['seed1@yahoo.test']).toMatchObject({ outcome: 'missing' });
    expect(observations.find((o) => o.measurement === 'placement_run')!.fields).toMatchObject({ submitted: true, rejected: 1, missing: 1 });
  });

  it('an engine that is not there makes every seed an error (SMTP_UNREACHABLE), never missing', async () => {
    const observations = await placement.run(definition(await closedPort()), probeContext());
    for (const fields of Object.values(perSeed(observations))) expect(fields).toMatchObject({ outcome: 'error', error_code: 'SMTP_UNREACHABLE' });
    expect(observations.find((o) => o.measurement === 'placement_run')!.fields).toMatchObject({ submitted: false, errors: 2 });
  });

  it('refused credentials are SMTP_AUTH_FAILED, and the password is not in the message', async () => {
    const port = await smtpServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      onAuth(_auth, _session, callback) {
        callback(new Error('5.7.8 Authentication credentials invalid'));
      },
    });
    const observations = await placement.run(
      definition(port, { smtp: { host: '127.0.0.1', port, security: 'none', envelopeFrom: sender.bounceMailbox, auth: { user: 'platform', password: 'smtp-secret-4711' } } }),
      probeContext(),
    );
    const seed = perSeed(observations)['seed1@yahoo.test']!;
    expect(seed).toMatchObject({ outcome: 'error', error_code: 'SMTP_AUTH_FAILED' });
    expect(JSON.stringify(observations)).not.toContain('smtp-secret-4711');
  });
});
