/**
 * Probes in the console: the list and a probe's page (definition, runs paged,
 * last observations) with and without runs; "Run now" for operators (recorded
 * like a scheduled run, a reason in the log with the person's name), refused
 * to a viewer and to a form without its token.
 */
import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml, tokens } from '../../helpers/api.ts';
import { signedIn } from '../../helpers/console.ts';
import { tcpServer } from '../../helpers/servers.ts';

async function rig() {
  const { port } = await tcpServer(() => {});
  const rig = await apiRig({ probesYaml: tcpProbeYaml(port) });
  const runCount = () => (rig.db.statement('SELECT count(*) AS n FROM probe_runs').get() as { n: number }).n;
  return { ...rig, runCount };
}

describe('the console: probes', () => {
  it('lists the probes and shows one that has never run', async () => {
    const { app } = await rig();
    const viewer = await signedIn(app, tokens.viewer);
    const list = await viewer.get('/probes');
    expect(list.statusCode).toBe(200);
    expect(list.body).toMatch(/<a href="\/probes\/smtp">smtp<\/a>/);
    expect(list.body).toMatch(/not run/);
    const page = await viewer.get('/probes/smtp');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/It has not run yet/);
    expect(page.body).toMatch(/No observation recorded/);
    expect(page.body).toMatch(/0 0 1 1 \*/);
    // A viewer sees no button.
    expect(page.body).not.toMatch(/Run now<\/button>/);
    expect((await viewer.get('/probes/nope')).statusCode).toBe(404);
  });

  it('runs a probe now for an operator: recorded, shown, and logged with the person and the reason', async () => {
    const { app, logs, runCount } = await rig();
    const ops = await signedIn(app, tokens.operator);
    const page = await ops.get('/probes/smtp');
    expect(page.body).toMatch(/action="\/probes\/smtp\/run"/);
    const ran = await ops.post('/probes/smtp/run', { reason: 'checking the fix' });
    expect(ran.statusCode).toBe(303);
    expect(ran.headers.location).toBe('/probes/smtp?done=ran');
    expect(runCount()).toBe(1);
    const after = await ops.get('/probes/smtp?done=ran');
    expect(after.body).toMatch(/The probe ran/);
    expect(after.body).toMatch(/<td>api<\/td>/);
    expect(after.body).toMatch(/<span class="badge ok">ok<\/span>/);
    expect(after.body).toMatch(/<td>reachability<\/td>/);
    expect(logs.entries()).toContainEqual(expect.objectContaining({ msg: 'probe run requested from the console', probe: 'smtp', by: 'ops', reason: 'checking the fix' }));
    expect((await ops.get('/probes')).body).toMatch(/<span class="badge ok">ok<\/span>/);
  });

  it('refuses a viewer, a form without its token, and a run without a reason; nothing runs', async () => {
    const { app, runCount } = await rig();
    const viewer = await signedIn(app, tokens.viewer);
    expect((await viewer.post('/probes/smtp/run', { reason: 'x' })).statusCode).toBe(403);
    const ops = await signedIn(app, tokens.operator);
    expect((await ops.post('/probes/smtp/run', { reason: 'x', _csrf: 'forged' })).statusCode).toBe(403);
    const noReason = await ops.post('/probes/smtp/run', { reason: '' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.body).toMatch(/reason: must not be empty/);
    expect((await ops.post('/probes/nope/run', { reason: 'x' })).statusCode).toBe(404);
    expect(runCount()).toBe(0);
  });

  it('pages the runs', async () => {
    const { app, runner, config } = await rig();
    const definition = config.probes[0]!.definition;
    for (let i = 0; i < 52; i++) await runner.run(definition, 'api');
    const viewer = await signedIn(app, tokens.viewer);
    const first = await viewer.get('/probes/smtp');
    const older = /href="(\/probes\/smtp\?cursor=[^"]+)"/.exec(first.body)?.[1];
    expect(older).toBeDefined();
    const second = await viewer.get(older!);
    expect(second.statusCode).toBe(200);
    expect(second.body.match(/<td>api<\/td>/g)).toHaveLength(2);
  });
});
