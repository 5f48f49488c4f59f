/**
 * A target (`/targets/:target`, an IP address or a domain): every blocklist
 * that checks it and what it says now, its listings and delistings over time,
 * inbox placement of mail from it (where that can be told), the traffic it
 * sent, what DMARC reports say of it as a source, the controls on it, and for
 * operators the form that pauses or throttles it.
 */
import { MailscopeError } from '../../../core/errors.ts';
import type { LoadedProbe } from '../../../config/load.ts';
import { expandTargets, parseTarget } from '../../../probes/dnsbl-targets.ts';
import { trafficRow } from './traffic.ts';
import { doneMessage, windowOf, windows } from './forms.ts';
import type { ConsolePage } from './page.ts';
import { viewerPage } from './page.ts';

/** How far back the history of listings looks, and how many of its observations it reads at most. */
const historyMs = 30 * 86_400_000;
const historyRows = 20_000;

interface Listing {
  list: string;
  status: string;
  codes?: string;
  meanings?: string;
  reason?: string;
  delistUrl?: string;
  since?: number;
  error?: string;
  probe: string;
  at: string;
}

const text = (value: unknown): string | undefined => (value === undefined || value === null || value === '' ? undefined : String(value));

/** The domain of an address or a From header ("News <news@example.com>"). */
function domainOfAddress(address: string | undefined): string | undefined {
  const match = address ? /@([^\s>@]+)>?\s*$/.exec(address) : null;
  return match ? match[1]!.toLowerCase() : undefined;
}

export const targetsPage: ConsolePage = (app, services, tools) => {
  const blacklistProbes = services.probes.filter((probe) => probe.definition.kind === 'blacklist');
  const placementProbes = services.probes.filter((probe) => probe.definition.kind === 'placement');
  // Which targets each blocklist probe checks: worked out once, when first asked.
  let covered: Map<LoadedProbe, Set<string>> | undefined;
  const checkedBy = (target: string) => {
    covered ??= new Map(
      blacklistProbes.map((probe) => {
        const definition = probe.definition as unknown as { targets: string[]; maxRangeSize?: number };
        return [probe, new Set(expandTargets(definition.targets, definition.maxRangeSize).targets.map((entry) => entry.value))];
      }),
    );
    return blacklistProbes.filter((probe) => covered!.get(probe)!.has(target));
  };

  app.get('/targets/:target', { config: viewerPage, schema: { hide: true } }, async (request, reply) => {
    const parsed = parseTarget((request.params as { target: string }).target, 1);
    if (!parsed.ok || parsed.targets.length !== 1) throw new MailscopeError('BAD_REQUEST', parsed.ok ? 'a target is one IP address or one domain' : parsed.problem);
    const { value: target, kind } = parsed.targets[0]!;
    const window = windowOf(request, '24h');
    const now = services.clock.now().getTime();

    // Every list that checks it, as its probe's last run found it.
    const listings: Listing[] = [];
    const failedRuns: { probe: string; at: string; code: string; message: string }[] = [];
    for (const probe of checkedBy(target)) {
      const run = services.queries.runs.lastOf(probe.definition.id);
      if (!run) continue;
      const found = services.queries.runs.observationsOf(run.id).filter((observation) => observation.measurement === 'blacklist' && observation.tags.target === target);
      if (found.length === 0 && run.error) failedRuns.push({ probe: probe.definition.id, at: run.startedAt, code: run.error.code, message: run.error.message });
      for (const observation of found) {
        const fields = observation.fields;
        listings.push({
          list: observation.tags.list ?? '',
          status: String(fields.status ?? 'error'),
          codes: text(fields.codes),
          meanings: text(fields.meanings),
          reason: text(fields.reason),
          delistUrl: text(fields.delist_url),
          since: typeof fields.listed_since === 'number' ? fields.listed_since : undefined,
          error: text(fields.error_code) ? `${fields.error_code}: ${fields.error ?? ''}` : undefined,
          probe: probe.definition.id,
          at: observation.time,
        });
      }
    }
    listings.sort((a, b) => (a.status === b.status ? a.list.localeCompare(b.list) : a.status === 'listed' ? -1 : b.status === 'listed' ? 1 : a.status === 'error' ? -1 : 1));

    // Listed and delisted, per list: where its status changed between runs (an error is unknown, not a change).
    const history = services.queries.pages.observationsTagged({ measurement: 'blacklist', tag: 'target', value: target, since: now - historyMs, until: now + 1, limit: historyRows }).reverse();
    const last = new Map<string, string>();
    const changes: { at: string; list: string; change: 'listed' | 'delisted'; detail?: string }[] = [];
    for (const observation of history) {
      const list = observation.tags.list ?? '';
      const status = observation.fields.status;
      if (status !== 'listed' && status !== 'not_listed') continue;
      const before = last.get(list);
      last.set(list, status);
      if (before === status || (before === undefined && status === 'not_listed')) continue;
      changes.push({
        at: observation.time,
        list,
        change: status === 'listed' ? 'listed' : 'delisted',
        ...(status === 'listed' ? { detail: [text(observation.fields.codes), text(observation.fields.reason)].filter(Boolean).join(' ') } : {}),
      });
    }
    changes.reverse();

    // Placement: a probe's seed message names its sender's domain, never the IP it left from.
    const placement =
      kind === 'domain'
        ? placementProbes
            .filter(({ definition }) => {
              const settings = definition as unknown as { message?: { from?: string }; smtp?: { envelopeFrom?: string } };
              return [domainOfAddress(settings.message?.from), domainOfAddress(settings.smtp?.envelopeFrom)].some((domain) => domain === target || domain?.endsWith(`.${target}`));
            })
            .map(({ definition }) => {
              const run = services.queries.runs.lastOf(definition.id);
              const providers = run ? services.queries.runs.observationsOf(run.id).filter((observation) => observation.measurement === 'placement_provider') : [];
              return { probe: definition.id, run, providers };
            })
        : undefined;

    const until = now + 1;
    const filter = { since: now - windows[window], until, ip: target };
    const traffic = kind === 'ip' ? services.queries.traffic.totals(filter, 'provider').map(trafficRow) : undefined;
    const dmarc = kind === 'ip' ? services.queries.pages.dmarcDomainsOfSource({ ip: target, since: now - 7 * 86_400_000, until, limit: 50 }) : undefined;
    const scopeKey = kind === 'ip' ? 'ip' : 'from_domain';
    const controls = services.queries.controls.list({ active: true, limit: 500 }).filter((control) => control.scope[scopeKey] === target);
    const alerts = services.queries.alerts
      .list({ states: ['firing', 'pending'], limit: 500 })
      .filter((alert) => alert.labels.target === target || alert.labels.ip === target || alert.labels.domain === target);

    return tools.render(request, reply, 'target', {
      title: `Target ${target}`,
      target,
      kind,
      window,
      windows: Object.keys(windows),
      probes: checkedBy(target).map((probe) => probe.definition.id),
      listings,
      failedRuns,
      changes,
      historyDays: historyMs / 86_400_000,
      placement,
      traffic,
      dmarc,
      controls,
      alerts,
      scope: { [scopeKey]: target },
      back: `/targets/${encodeURIComponent(target)}`,
      done: doneMessage(request, {
        paused: `Paused: the policy answers pause for ${scopeKey}=${target} from now on.`,
        throttled: `Throttled: the policy answers throttle for ${scopeKey}=${target} from now on.`,
        updated: 'The same control was already active: it is updated.',
        resumed: 'Resumed: the control is lifted.',
      }),
    });
  });
};
