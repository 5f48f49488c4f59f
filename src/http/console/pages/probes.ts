/**
 * Probes (`/probes`): every probe and how its last run went; a probe's page
 * (`/probes/:id`) has its definition, its runs (paged) and its last
 * observations, and for operators "Run now" (as POST /v1/probes/:id/run does).
 */
import type { LoadedProbe } from '../../../config/load.ts';
import { MailscopeError } from '../../../core/errors.ts';
import { cursorOf, doneMessage, doneRedirect, formOf, paged, pageSize, reasonOf, urlOf } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { operatorForm, viewerPage } from './page.ts';

/** How long "Run now" waits for the run before it answers (a quick probe shows its result at once). */
const runWaitMs = 3_000;

export const probesPage: ConsolePage = (app, services, tools) => {
  const byId = new Map(services.probes.map((probe) => [probe.definition.id, probe]));
  const find = (id: string): LoadedProbe => {
    const probe = byId.get(id);
    if (!probe) throw new MailscopeError('PROBE_NOT_FOUND', `no probe "${id}"`);
    return probe;
  };

  app.get('/probes', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const probes = services.probes.map(({ definition, file }) => ({
      id: definition.id,
      kind: definition.kind,
      description: definition.description,
      schedule: definition.schedule,
      enabled: definition.enabled,
      file,
      running: services.runner.isRunning(definition.id),
      next: services.scheduler?.nextRun(definition.id)?.getTime(),
      last: services.queries.runs.lastOf(definition.id),
    }));
    return tools.render(request, reply, 'probes', { title: 'Probes', section: 'Probes', probes });
  });

  app.get('/probes/:id', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const { definition, file } = find((request.params as { id: string }).id);
    const found = services.queries.runs.list({ probe: definition.id, limit: pageSize + 1, after: cursorOf(request) });
    const { items: runs, next } = paged(found, pageSize, (run) => ({ time: Date.parse(run.startedAt), id: run.id }));
    const observations = services.queries.observations.list({ probe: definition.id, limit: 100 });
    // Secrets turn into "[redacted]" on the way through JSON (core/secret.ts), as in the API.
    const shown = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
    const { id: _id, kind: _kind, description: _description, schedule: _schedule, timezone: _timezone, enabled: _enabled, timeout: _timeout, jitter: _jitter, ...settings } = shown;
    return tools.render(request, reply, 'probe', {
      title: `Probe ${definition.id}`,
      section: 'Probes',
      probe: {
        id: definition.id,
        kind: definition.kind,
        description: definition.description,
        schedule: definition.schedule,
        timezone: definition.timezone,
        enabled: definition.enabled,
        timeoutMs: definition.timeout,
        jitterMs: definition.jitter,
        file,
        running: services.runner.isRunning(definition.id),
        next: services.scheduler?.nextRun(definition.id)?.getTime(),
      },
      settings: JSON.stringify(settings, null, 2),
      runs,
      older: next ? urlOf(`/probes/${encodeURIComponent(definition.id)}`, { cursor: next }) : undefined,
      observations,
      done: doneMessage(request, { ran: 'The probe ran: its run is at the top of the list.', started: 'The probe is running: its run appears here when it finishes.' }),
    });
  });

  app.post('/probes/:id/run', { config: operatorForm, schema: { hide: true } }, async (request, reply) => {
    tools.checkForm(request, request.session?.csrf);
    const { definition } = find((request.params as { id: string }).id);
    const reason = reasonOf(formOf(request));
    // The API's run-now is not in the audit log (it has entries for controls only): the log names the person.
    request.log.info({ probe: definition.id, by: request.principal!.name, reason }, 'probe run requested from the console');
    const running = services.runner.run(definition, 'api');
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waiting'>((resolve) => {
      timer = setTimeout(() => resolve('waiting'), runWaitMs);
    });
    try {
      // A run that cannot start (already running, shutting down) rejects at once: that is the answer.
      const outcome = await Promise.race([running, waited]);
      if (outcome === 'waiting') running.catch((error: unknown) => request.log.error({ err: error }, 'console run failed'));
      return doneRedirect(reply, `/probes/${encodeURIComponent(definition.id)}`, outcome === 'waiting' ? 'started' : 'ran');
    } finally {
      clearTimeout(timer);
    }
  });
};
