/**
 * Placement faults that need no server of the lab: OAuth2 token sources that fail,
 * before any mailbox is opened. The routing engine's faults, with the lab's seed
 * mailboxes, are in placement-faults.lab.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { placement } from '../../src/probes/placement.ts';
import { probeContext } from '../helpers/context.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';

/** A placement probe whose seeds come from `overrides`; no IMAP server is there (port 1): a seed whose token fails never gets that far. */
function definition(port: number, overrides: Record<string, unknown> = {}) {
  return placement.configSchema.parse({
    id: 'seeds',
    kind: 'placement',
    schedule: '0 * * * *',
    wait: '1s',
    timeout: '60s',
    pollInterval: '250ms',
    imap: { host: '127.0.0.1', port: 1, security: 'none' },
    smtp: { host: '127.0.0.1', port, security: 'none', envelopeFrom: 'bounces@sender.test', timeout: '5s' },
    message: { from: 'Lab News <news@sender.test>', subject: 'Hello {token}', text: 'Hello.' },
    ...overrides,
  });
}

const perSeed = (observations: Observation[]) => Object.fromEntries(observations.filter((o) => o.measurement === 'placement').map((o) => [o.tags.seed!, o.fields]));

describe('placement: OAuth2 access tokens for seed mailboxes', () => {
  it('a token command that fails is OAUTH_TOKEN_FAILED for that seed', async () => {
    const observations = await placement.run(
      definition(await closedPort(), {
        seeds: { gmail: [{ address: 'seed1@gmail.test', auth: { oauth2: { command: ['sh', '-c', 'echo nope >&2; exit 3'] } } }] },
      }),
      probeContext(),
    );
    expect(perSeed(observations)['seed1@gmail.test']).toMatchObject({ outcome: 'error', error_code: 'OAUTH_TOKEN_FAILED', error: 'the token command sh failed (exit code 3)' });
  });

  it('asks the token endpoint with the refresh-token grant; a refusal is OAUTH_TOKEN_FAILED without the secrets', async () => {
    const requests: Record<string, string>[] = [];
    const endpoint = await httpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({ method: request.method!, type: request.headers['content-type'] ?? '', ...Object.fromEntries(new URLSearchParams(body)) });
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }));
      });
    });
    const observations = await placement.run(
      definition(await closedPort(), {
        seeds: {
          gmail: [
            {
              address: 'seed1@gmail.test',
              auth: {
                oauth2: { tokenUrl: `${endpoint.url}/token`, clientId: 'mailscope-app', clientSecret: 'client-secret-0815', refreshToken: 'refresh-token-4242', scope: 'https://mail.google.com/' },
              },
            },
          ],
        },
      }),
      probeContext(),
    );
    expect(requests).toEqual([
      {
        method: 'POST',
        type: 'application/x-www-form-urlencoded',
        grant_type: 'refresh_token',
        refresh_token: 'refresh-token-4242',
        client_id: 'mailscope-app',
        client_secret: 'client-secret-0815',
        scope: 'https://mail.google.com/',
      },
    ]);
    const seed = perSeed(observations)['seed1@gmail.test']!;
    expect(seed).toMatchObject({ outcome: 'error', error_code: 'OAUTH_TOKEN_FAILED' });
    expect(seed.error).toMatch(/^the token endpoint http:\/\/127\.0\.0\.1:\d+ gave no access token \(invalid_grant\)$/);
    expect(JSON.stringify(observations)).not.toMatch(/client-secret-0815|refresh-token-4242/);
  });
});
