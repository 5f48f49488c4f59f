/**
 * The overview (`/`): what is wrong now, worst first — the firing alerts, the
 * active controls (resume for operators), then the state of every probe.
 */
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

const severityRank: Record<string, number> = { critical: 0, warning: 1, info: 2 };

export const overviewPage: ConsolePage = (app, services, tools) => {
  app.get('/', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const alerts = services.queries.alerts.list({ states: ['firing'], limit: 500 }).sort((a, b) => (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) || b.updatedAt - a.updatedAt);
    const controls = services.queries.controls.list({ active: true, limit: 500 }).map((control) => ({ ...control, held: services.queries.controls.heldCount(control.id) }));
    const probes = services.probes.map(({ definition }) => {
      const last = services.queries.runs.lastOf(definition.id);
      return { id: definition.id, kind: definition.kind, schedule: definition.schedule, last };
    });
    return tools.render(request, reply, 'overview', { title: 'Overview', section: 'Overview', alerts, controls, probes });
  });
};
