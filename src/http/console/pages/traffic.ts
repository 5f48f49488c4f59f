/**
 * Traffic (`/traffic`): the platform's traffic over a window, per provider, IP
 * or pool (counts and rates), and what the receivers said most.
 */
import { MailscopeError } from '../../../core/errors.ts';
import { trafficGroupings, type TrafficGrouping, type TrafficTotals } from '../../../queries/index.ts';
import { queryOf, windowOf, windows } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

/** A row of traffic as the console shows it: counts, attempts and the rates (as /v1/traffic computes them). */
export function trafficRow(totals: TrafficTotals) {
  const { counts } = totals;
  const attempts = counts.delivered + counts.deferred + counts.bounced + counts.expired;
  return {
    key: totals.key,
    counts,
    attempts,
    deliveryRate: attempts > 0 ? counts.delivered / attempts : undefined,
    deferralRate: attempts > 0 ? counts.deferred / attempts : undefined,
    bounceRate: attempts > 0 ? (counts.bounced + counts.expired) / attempts : undefined,
    complaintRate: counts.delivered > 0 ? counts.complained / counts.delivered : undefined,
    latencyAvgMs: totals.latencyCount > 0 ? totals.latencySum / totals.latencyCount : undefined,
  };
}

export const trafficPage: ConsolePage = (app, services, tools) => {
  app.get('/traffic', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const window = windowOf(request, '1h');
    const by = queryOf(request).by ?? 'provider';
    if (!(trafficGroupings as readonly string[]).includes(by)) throw new MailscopeError('BAD_REQUEST', `by: expected one of ${trafficGroupings.join(', ')}`);
    const until = services.clock.now().getTime() + 1;
    const filter = { since: until - 1 - windows[window], until };
    const rows = services.queries.traffic.totals(filter, by as TrafficGrouping).map(trafficRow);
    const reasons = services.queries.traffic.reasons(filter, 20);
    return tools.render(request, reply, 'traffic', {
      title: 'Traffic',
      section: 'Traffic',
      window,
      windows: Object.keys(windows),
      by,
      groupings: trafficGroupings,
      rows,
      reasons,
      counted: services.traffic !== undefined,
    });
  });
};
