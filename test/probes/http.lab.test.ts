import { describe, expect, it } from 'vitest';
import { http } from '../../src/probes/http.ts';
import { labKeys } from '../lab/keys.ts';
import { probeContext } from '../helpers/lab.ts';

function config(targets: string[], extra: Record<string, unknown> = {}) {
  return http.configSchema.parse({ id: 'p', kind: 'http', schedule: '* * * * *', targets, ...extra });
}

describe('http probe: names through the configured DNS, HTTPS with a private CA', () => {
  const policy = 'https://mta-sts.sender.test/.well-known/mta-sts.txt';

  it('fetches the lab’s MTA-STS policy by name, trusting the lab CA', async () => {
    const [observation] = await http.run(config([policy], { caFile: labKeys().caCert }), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'up', up: true, status_code: 200 });
  });

  it('is down, saying why, when the certificate is not trusted', async () => {
    const [observation] = await http.run(config([policy]), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'down', up: false, reason: expect.stringMatching(/certificate/i) });
  });

  it('reports a name that does not exist as TARGET_UNRESOLVED', async () => {
    const [observation] = await http.run(config(['https://nothing.sender.test/']), probeContext());
    expect(observation?.fields).toMatchObject({ status: 'error', error_code: 'TARGET_UNRESOLVED', reason: 'cannot resolve nothing.sender.test: NXDOMAIN' });
  });
});
