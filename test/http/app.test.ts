import { describe, expect, it } from 'vitest';
import { measurements } from '../../src/measurements/index.ts';
import { listRuns } from '../../src/store/runs.ts';
import { apiRig, tcpProbeYaml } from '../helpers/api.ts';
import { waitFor } from '../helpers/probes.ts';
import { tcpServer } from '../helpers/servers.ts';

async function rigWithSmtp(extra = '') {
  const { port } = await tcpServer((socket) => socket.write('220 mx.lab.test ESMTP\r\n'));
  const rig = await apiRig({ probesYaml: tcpProbeYaml(port, extra) });
  return { ...rig, port };
}

describe('API: probes, runs, observations', () => {
  it('runs a probe on request and serves the run and its observations back', async () => {
    const rig = await rigWithSmtp();
    const ran = await rig.request({ method: 'POST', url: '/v1/probes/smtp/run', as: 'operator' });
    expect(ran.statusCode).toBe(200);
    const body = ran.json();
    expect(body.run).toMatchObject({ id: 1, probe: 'smtp', kind: 'tcp', trigger: 'api', success: true, error: null, observationCount: 1 });
    expect(body.observations.map((o: { measurement: string }) => o.measurement)).toEqual(['reachability', 'probe_run']);
    expect(body.observations[0]).toMatchObject({ runId: 1, probe: 'smtp', tags: { target: `127.0.0.1:${rig.port}`, protocol: 'tcp', probe: 'smtp' }, fields: { status: 'up', up: true } });

    const runs = (await rig.request({ method: 'GET', url: '/v1/runs?probe=smtp', as: 'viewer' })).json();
    expect(runs.runs).toEqual([body.run]);
    expect((await rig.request({ method: 'GET', url: '/v1/runs/1', as: 'viewer' })).json()).toEqual(body);

    const observations = (await rig.request({ method: 'GET', url: '/v1/observations?measurement=reachability&since=1h', as: 'viewer' })).json();
    expect(observations.observations).toHaveLength(1);
    expect((await rig.request({ method: 'GET', url: '/v1/observations?since=2999-01-01T00:00:00Z', as: 'viewer' })).json()).toEqual({ observations: [] });
    expect((await rig.request({ method: 'GET', url: '/v1/runs?until=2000-01-01T00:00:00Z', as: 'viewer' })).json()).toEqual({ runs: [] });
  });

  it('lists probes with their definition, last run, next run and whether they are running', async () => {
    const rig = await rigWithSmtp('    expectBanner: "^220 "\n');
    const before = (await rig.request({ method: 'GET', url: '/v1/probes', as: 'viewer' })).json();
    expect(before.probes).toEqual([
      {
        id: 'smtp',
        kind: 'tcp',
        description: null,
        schedule: '0 0 1 1 *',
        timezone: null,
        enabled: true,
        timeoutMs: 30_000,
        jitterMs: 0,
        file: 'probes/probes.yaml',
        running: false,
        nextRun: null,
        lastRun: null,
        definition: {
          id: 'smtp',
          kind: 'tcp',
          schedule: '0 0 1 1 *',
          timeout: 30_000,
          jitter: 0,
          enabled: true,
          targets: [{ host: '127.0.0.1', port: rig.port }],
          expectBanner: '^220 ',
          connectTimeout: 5_000,
        },
      },
    ]);
    await rig.request({ method: 'POST', url: '/v1/probes/smtp/run', as: 'operator' });
    const after = (await rig.request({ method: 'GET', url: '/v1/probes/smtp', as: 'viewer' })).json();
    expect(after.lastRun).toMatchObject({ id: 1, success: true });
  });

  it('starts a run without waiting when asked (202), and it is recorded', async () => {
    const rig = await rigWithSmtp();
    const response = await rig.request({ method: 'POST', url: '/v1/probes/smtp/run?wait=false', as: 'operator' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ status: 'started', probe: 'smtp' });
    await waitFor(() => listRuns(rig.db, { limit: 1 }).length === 1, 'the run to be recorded');
    expect(listRuns(rig.db, { limit: 1 })[0]).toMatchObject({ trigger: 'api', success: true });
  });

  it('answers 409 while the probe is already running, and records only the one run', async () => {
    const { port } = await tcpServer(() => {});
    const rig = await apiRig({ probesYaml: tcpProbeYaml(port, '    expectBanner: "^220"\n    connectTimeout: 1s\n') });
    const first = rig.request({ method: 'POST', url: '/v1/probes/smtp/run', as: 'operator' });
    await waitFor(() => rig.runner.isRunning('smtp'), 'the first run to start');
    const second = await rig.request({ method: 'POST', url: '/v1/probes/smtp/run', as: 'operator' });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({ error: { code: 'PROBE_BUSY', message: 'probe "smtp" is already running' } });
    const third = await rig.request({ method: 'POST', url: '/v1/probes/smtp/run?wait=false', as: 'operator' });
    expect(third.statusCode).toBe(409);
    expect((await first).json().run).toMatchObject({ success: true });
    expect(listRuns(rig.db, { limit: 10 })).toHaveLength(1);
  });

  it('reports readiness: 503 without a running scheduler, 200 with one', async () => {
    const { port } = await tcpServer(() => {});
    const idle = await apiRig({ probesYaml: tcpProbeYaml(port) });
    const notReady = await idle.request({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, store: 'open', scheduler: 'disabled' });

    const live = await apiRig({ probesYaml: tcpProbeYaml(port), scheduler: true });
    const ready = await live.request({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, store: 'open', scheduler: 'running' });
    expect((await live.request({ method: 'GET', url: '/v1/probes/smtp', as: 'viewer' })).json().nextRun).toMatch(/^\d{4}-01-01T/);
    expect((await live.request({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });

    live.db.close();
    const storeGone = await live.request({ method: 'GET', url: '/readyz' });
    expect(storeGone.statusCode).toBe(503);
    expect(storeGone.json()).toEqual({ ready: false, store: 'unavailable', scheduler: 'running' });
  });

  it('describes the series registry', async () => {
    const rig = await rigWithSmtp();
    const series = (await rig.request({ method: 'GET', url: '/v1/series', as: 'viewer' })).json();
    const probeRun = series.measurements.find((m: { name: string }) => m.name === 'probe_run');
    expect(probeRun.tags).toEqual(['probe', 'kind']);
    expect(probeRun.fields).toContainEqual({ name: 'duration_ms', type: 'float', unit: 'ms', description: 'wall time of the run' });
  });
});

describe('API: bad input gets 400 with every issue, and changes nothing', () => {
  it.each([
    ['/v1/runs?limit=0', 'querystring.limit: "0" is not a whole number from 1 to 1000'],
    ['/v1/runs?limit=5000', 'querystring.limit: "5000" is not a whole number from 1 to 1000'],
    ['/v1/runs?limit=ten', 'querystring.limit: "ten" is not a whole number from 1 to 1000'],
    ['/v1/runs?limit=0x10', 'querystring.limit: "0x10" is not a whole number from 1 to 1000'],
    ['/v1/runs?since=yesterday', 'querystring.since: "yesterday" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)'],
    ['/v1/runs?since=99999999999999999999d', 'querystring.since: "99999999999999999999d" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)'],
    ['/v1/runs?since=3651d', 'querystring.since: "3651d" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)'],
    ['/v1/runs?until=275760-09-13T00:00:00Z', 'querystring.until: "275760-09-13T00:00:00Z" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)'],
    ['/v1/runs?until=2026-13-45', 'querystring.until: "2026-13-45" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d)'],
    ['/v1/runs?probes=smtp', 'querystring: unknown key "probes" (expected one of: probe, since, until, limit, cursor)'],
    ['/v1/runs?cursor=abc', 'querystring.cursor: not a cursor this API handed out (pass the `next` of the previous page as it is)'],
    ['/v1/runs?probe=', 'querystring.probe: must not be empty'],
    ['/v1/runs/abc', 'params.id: "abc" is not a run id (a whole number, 1 or more)'],
    ['/v1/runs/0x1', 'params.id: "0x1" is not a run id (a whole number, 1 or more)'],
    ['/v1/runs/1e0', 'params.id: "1e0" is not a run id (a whole number, 1 or more)'],
    ['/v1/runs/-1', 'params.id: "-1" is not a run id (a whole number, 1 or more)'],
    ['/v1/observations?measurement=placement_rate', `querystring.measurement: expected one of: ${Object.keys(measurements).join(', ')}; got "placement_rate"`],
    [
      '/v1/observations?limit=0&since=x',
      'querystring.since: "x" is neither an ISO 8601 time (1970-9999) nor a duration back from now such as 15m, 24h, 7d (at most 3650d); querystring.limit: "0" is not a whole number from 1 to 1000',
    ],
  ])('GET %s', async (url, message) => {
    const rig = await rigWithSmtp();
    const response = await rig.request({ method: 'GET', url, as: 'viewer' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'BAD_REQUEST', message: `invalid request: ${message}` });
    const issues = response.json().error.issues as { in: string; path: string; message: string }[];
    expect(issues.map((issue) => `${issue.in}${issue.path ? `.${issue.path}` : ''}: ${issue.message}`).join('; ')).toBe(message);
  });

  it.each([
    [
      'POST /v1/probes/smtp/run?wait=maybe',
      { method: 'POST', url: '/v1/probes/smtp/run?wait=maybe' },
      400,
      'BAD_REQUEST',
      'invalid request: querystring.wait: expected one of: 0, 1, true, false; got "maybe"',
    ],
    ['POST /v1/probes/smtp/run?force=1', { method: 'POST', url: '/v1/probes/smtp/run?force=1' }, 400, 'BAD_REQUEST', 'invalid request: querystring: unknown key "force" (expected one of: wait)'],
    [
      'POST with a malformed JSON body',
      { method: 'POST', url: '/v1/probes/smtp/run', headers: { 'content-type': 'application/json' }, payload: '{"wait": tru' },
      400,
      'BAD_REQUEST',
      expect.stringContaining('JSON'),
    ],
    ['POST /v1/probes/nope/run', { method: 'POST', url: '/v1/probes/nope/run' }, 404, 'PROBE_NOT_FOUND', 'no probe "nope"'],
    ['GET /v1/probes/nope', { method: 'GET', url: '/v1/probes/nope' }, 404, 'PROBE_NOT_FOUND', 'no probe "nope"'],
    ['GET /v1/runs/999', { method: 'GET', url: '/v1/runs/999' }, 404, 'NOT_FOUND', 'no run 999'],
    ['GET /v1/nothing', { method: 'GET', url: '/v1/nothing?x=1' }, 404, 'NOT_FOUND', 'no route GET /v1/nothing'],
  ] as const)('%s', async (_name, request, status, code, message) => {
    const rig = await rigWithSmtp();
    const response = await rig.request({ ...request, as: 'admin' });
    expect(response.statusCode).toBe(status);
    expect(response.json().error).toMatchObject({ code, message });
    expect(listRuns(rig.db, { limit: 10 })).toEqual([]);
  });

  it('hides the details of an unexpected failure (500) and logs them', async () => {
    const rig = await rigWithSmtp();
    rig.db.close();
    const response = await rig.request({ method: 'GET', url: '/v1/runs', as: 'viewer' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(response.body).not.toMatch(/sqlite|database|stack|at /i);
    const logged = rig.logs.entries().find((entry) => entry.msg === 'unexpected error');
    expect(logged).toMatchObject({ level: 'error' });
    expect(JSON.stringify(logged?.err)).toMatch(/database is not open/i);
  });
});
