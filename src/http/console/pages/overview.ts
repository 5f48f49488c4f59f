/**
 * The overview (`/`): what is wrong now, worst first — the firing alerts and the
 * active controls (resume for operators), then the panels in the order of their
 * state (bad, warn, ok; a panel with nothing to show last or, for traffic and
 * feedback, not at all): the blocklist matrix, inbox placement per provider, DNS
 * authentication per domain, the last hour's traffic, feedback reports, and the
 * probes with the outbox. Every read is bounded by what is shown
 * (store/overview.ts): the latest sweep of each probe, a week of placement and
 * DMARC, an hour and a day of traffic.
 */
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';
import { blocklistPanel, dnsPanel, feedbackPanel, type PanelState, panelStates, placementPanel, trafficPanel } from './overview-panels.ts';

const severityRank: Record<string, number> = { critical: 0, warning: 1, info: 2 };

const hour = 3_600_000;
const day = 24 * hour;
const week = 7 * day;

/** The panels in their order when equally well (or badly) off. */
const panelOrder = ['blocklists', 'placement', 'dns', 'traffic', 'feedback', 'probes'] as const;

export const overviewPage: ConsolePage = (app, services, tools) => {
  // A week of placement is read again only when a placement run was recorded or the hour turned: the page is
  // asked again at every change (live updates), and that read is most of its cost on a store with history.
  let trendCache: { key: string; trend: ReturnType<typeof services.queries.console.placementTrend> } | undefined;
  const placementTrend = (ids: readonly string[], now: number) => {
    const key = JSON.stringify([Math.floor(now / hour), ids.map((id) => services.queries.runs.lastOf(id)?.id ?? 0)]);
    if (trendCache?.key !== key) trendCache = { key, trend: services.queries.console.placementTrend(Math.floor((now - week) / hour) * hour) };
    return trendCache.trend;
  };

  app.get('/', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const now = services.clock.now().getTime();
    const { queries } = services;
    const alerts = queries.alerts.list({ states: ['firing'], limit: 500 }).sort((a, b) => (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) || b.updatedAt - a.updatedAt);
    const controls = queries.controls.list({ active: true, limit: 500 }).map((control) => {
      const { held, releaseError } = queries.controls.heldCount(control.id);
      return { ...control, held, ...(releaseError ? { releaseError } : {}) };
    });

    const idsOf = (kind: string) => services.probes.filter(({ definition }) => definition.kind === kind).map(({ definition }) => definition.id);
    const blocklists = blocklistPanel(queries.console.latestSweeps(idsOf('blacklist')));
    const placementIds = idsOf('placement');
    const placement = placementPanel(queries.console.latestSweeps(placementIds), placementIds.length > 0 ? placementTrend(placementIds, now) : [], { since: now - week, until: now });
    const dnsIds = idsOf('dns-auth');
    const dns = dnsPanel(queries.console.latestSweeps(dnsIds), dnsIds.length > 0 ? queries.console.lastRecordChanges() : new Map());
    const traffic = trafficPanel(queries.traffic.totals({ since: now - hour, until: now + 1 }, 'provider'));
    const feedback = feedbackPanel(
      queries.console.dmarcByDomain({ since: now - week, until: now + 1 }),
      queries.traffic.totals({ since: now - day, until: now + 1 }, 'provider'),
      queries.console.reportCounts(now - week),
    );

    const probes = services.probes
      .map(({ definition }) => {
        const last = queries.runs.lastOf(definition.id);
        const next = services.scheduler?.nextRun(definition.id) ?? null;
        return { id: definition.id, kind: definition.kind, schedule: definition.schedule, last, next: next ? next.getTime() : undefined };
      })
      .sort((a, b) => rankOfRun(a.last) - rankOfRun(b.last) || (a.id < b.id ? -1 : 1));
    const outboxStatus = services.outbox?.status();
    const outbox = outboxStatus ? { configured: true as const, ...outboxStatus } : { configured: false as const, ...queries.outbox.stats(new Date(now)) };
    // Sources (report mailboxes, log tails, ingest routes): failing ones first; an error counts like a failing probe.
    const sources = (services.sourceHealth?.list() ?? []).sort((a, b) => Number(a.ok ?? 0.5) - Number(b.ok ?? 0.5) || (a.id < b.id ? -1 : 1));
    const sourcesFailing = sources.filter((source) => source.ok === false).length;
    const probesState: PanelState =
      probes.length === 0 && outbox.depth === 0 && sources.length === 0
        ? 'empty'
        : probes.some((probe) => probe.last && !probe.last.success) || sourcesFailing > 0 || (outbox.configured && outbox.lastError && outbox.consecutiveFailures > 0)
          ? 'bad'
          : probes.some((probe) => !probe.last) || outbox.quarantined > 0
            ? 'warn'
            : 'ok';

    const states: Record<(typeof panelOrder)[number], PanelState> = {
      blocklists: blocklists.state,
      placement: placement.state,
      dns: dns.state,
      traffic: traffic.state,
      feedback: feedback.state,
      probes: probesState,
    };
    // Traffic and feedback appear once there is any; the probes' panels say "nothing yet" on a fresh install.
    const sections = panelOrder
      .filter((id) => !((id === 'traffic' || id === 'feedback') && states[id] === 'empty'))
      .map((id, position) => ({ id, state: states[id], position }))
      .sort((a, b) => panelStates.indexOf(a.state) - panelStates.indexOf(b.state) || a.position - b.position);

    const failing = probes.filter((probe) => probe.last && !probe.last.success).length;
    const summary = [
      { href: '#alerts-heading', count: alerts.length, label: alerts.length === 1 ? 'alert firing' : 'alerts firing', state: alerts.length > 0 ? 'bad' : 'ok' },
      { href: '#controls-heading', count: controls.length, label: controls.length === 1 ? 'control active' : 'controls active', state: controls.length > 0 ? 'warn' : 'ok' },
      { href: '#blocklists-heading', count: blocklists.listed, label: blocklists.listed === 1 ? 'listing' : 'listings', state: blocklists.listed > 0 ? 'bad' : 'ok' },
      { href: '#dns-heading', count: dns.failures, label: dns.failures === 1 ? 'DNS check failing' : 'DNS checks failing', state: dns.failures > 0 ? 'bad' : 'ok' },
      { href: '#probes-heading', count: failing, label: failing === 1 ? 'probe failing' : 'probes failing', state: failing > 0 ? 'bad' : 'ok' },
    ];

    return tools.render(request, reply, 'overview', {
      title: 'Overview',
      section: 'Overview',
      summary,
      alerts,
      controls,
      sections,
      blocklists,
      placement,
      dns,
      traffic,
      feedback,
      probes,
      outbox,
      sources,
    });
  });
};

/** A failed last run first, then never run, then ok. */
function rankOfRun(last: { success: boolean } | undefined): number {
  return !last ? 1 : last.success ? 2 : 0;
}
