/**
 * A mailbox provider (`/providers/:provider`): inbox placement over time (a
 * chart, from the placement probes), the traffic to it per sending IP (counts,
 * rates, complaints) and what it said most, and the controls on it.
 */
import { MailscopeError } from '../../../core/errors.ts';
import { trafficRow } from './traffic.ts';
import { windowOf, windows } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

/** How far back the placement chart looks, and how many points it reads at most. */
const placementMs = 30 * 86_400_000;
const placementRows = 5_000;

const rate = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export const providersPage: ConsolePage = (app, services, tools) => {
  app.get('/providers/:provider', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const provider = (request.params as { provider: string }).provider.trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(provider)) throw new MailscopeError('BAD_REQUEST', 'not a provider name (letters, digits, . _ -)');
    const window = windowOf(request, '24h');
    const now = services.clock.now().getTime();

    const points = services.queries.pages
      .observationsTagged({ measurement: 'placement_provider', tag: 'provider', value: provider, since: now - placementMs, until: now + 1, limit: placementRows })
      .reverse();
    const chart =
      points.length > 0
        ? {
            x: points.map((point) => Math.round(Date.parse(point.time) / 1000)),
            y: [points.map((point) => rate(point.fields.inbox_rate)), points.map((point) => rate(point.fields.spam_rate)), points.map((point) => rate(point.fields.missing_rate))],
            series: ['inbox', 'spam', 'missing'],
            percent: true,
            range: [0, 1],
            xRange: [Math.floor((now - placementMs) / 1000), Math.ceil(now / 1000)],
          }
        : undefined;

    const filter = { since: now - windows[window], until: now + 1, provider };
    const overall = services.queries.traffic.totals(filter, 'provider').map(trafficRow)[0];
    const byIp = services.queries.traffic.totals(filter, 'ip').map(trafficRow);
    const reasons = services.queries.traffic.reasons(filter, 20);
    const controls = services.queries.controls.list({ active: true, limit: 500 }).filter((control) => control.scope.provider === provider);

    return tools.render(request, reply, 'provider', {
      title: `Provider ${provider}`,
      section: 'Traffic',
      provider,
      window,
      windows: Object.keys(windows),
      chart,
      latest: points.slice(-10).reverse(),
      overall,
      byIp,
      reasons,
      controls,
    });
  });
};
