import { describe, expect, it } from 'vitest';
import { tcp } from '../../src/probes/tcp.ts';
import { probeContext } from '../helpers/lab.ts';

function config(targets: string[], extra: Record<string, unknown> = {}) {
  return tcp.configSchema.parse({ id: 'p', kind: 'tcp', schedule: '* * * * *', targets, ...extra });
}

describe('tcp probe: names resolve through the configured DNS (the lab resolver)', () => {
  it('connects to a name the lab serves', async () => {
    const [observation] = await tcp.run(config(['mx.gmail.test:25'], { expectBanner: '^220 mx\\.gmail\\.test' }), probeContext());
    expect(observation).toMatchObject({ tags: { target: 'mx.gmail.test:25' }, fields: { status: 'up', banner: expect.stringMatching(/^220 mx\.gmail\.test/) } });
  });

  it('reports a name that does not exist as an error, TARGET_UNRESOLVED, not as down', async () => {
    const [observation] = await tcp.run(config(['nothing.sender.test:25']), probeContext());
    expect(observation?.fields).toEqual({
      status: 'error',
      error_code: 'TARGET_UNRESOLVED',
      reason: 'cannot resolve nothing.sender.test: NXDOMAIN',
      duration_ms: expect.any(Number),
    });
  });
});
