/** The audit log (`/audit`): who changed which control, how and why, newest first, by actor and subject. */
import { cursorOf, filterOf, paged, pageSize, urlOf } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

export const auditPage: ConsolePage = (app, services, tools) => {
  app.get('/audit', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const actor = filterOf(request, 'actor');
    const subject = filterOf(request, 'subject');
    const found = services.queries.audit.list({ ...(actor ? { actor } : {}), ...(subject ? { subject } : {}), limit: pageSize + 1, after: cursorOf(request) });
    const { items, next } = paged(found, pageSize, (entry) => ({ time: entry.at, id: entry.id }));
    return tools.render(request, reply, 'audit', {
      title: 'Audit',
      section: 'Audit',
      entries: items,
      filter: { actor: actor ?? '', subject: subject ?? '' },
      older: next ? urlOf('/audit', { actor, subject, cursor: next }) : undefined,
    });
  });
};
