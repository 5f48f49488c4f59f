// npm run dashboards: write the Grafana dashboards in dashboards/ from the definitions below.
// The JSON files are what users import or provision; test/dashboards.test.ts fails when they
// drift from this file, when a query names something the series registry does not declare,
// or when a query returns nothing on a real InfluxDB loaded with Mailscope's own points.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlertState } from '../src/alerts/state.ts';
import type { Severity } from '../src/core/alert-vocabulary.ts';
import type { ControlAction } from '../src/core/control-vocabulary.ts';
import type { TrafficOutcome } from '../src/core/traffic.ts';
import { bounceClassNames } from '../src/protocols/mail/bounce-class.ts';
import { tlsFailureField, tlsResultTypes } from '../src/sources/feedback.ts';

const datasource = { type: 'influxdb', uid: '${datasource}' } as const;

interface Query {
  query: string;
  format?: 'time_series' | 'table';
  /** Grafana's series name: $tag_<tag>, $col. */
  alias?: string;
}

type Mapping = Record<string, { text: string; color: string }>;

interface Panel {
  type: 'stat' | 'timeseries' | 'table' | 'state-timeline' | 'bargauge' | 'text';
  title: string;
  /** Which probe kind feeds it, and how to read it. */
  description: string;
  w: number;
  h: number;
  queries: Query[];
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  /** [color, from] steps; the first starts at -infinity. */
  thresholds?: [string, number | null][];
  mappings?: Mapping;
  noValue?: string;
  /** Per column or series name: unit, mappings, thresholds, colored cells. */
  overrides?: Record<string, { unit?: string; mappings?: Mapping; thresholds?: [string, number | null][]; cell?: 'color-background' | 'color-text'; width?: number; color?: string }>;
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  transformations?: unknown[];
  /** Only for type text. */
  content?: string;
  /** Grafana's min interval: $__interval is never shorter (reports that cover a day are charted per day). */
  interval?: string;
  /** A relative time range of its own ('7d': the last 7 days), whatever the dashboard's. */
  timeFrom?: string;
}

interface Row {
  row: string;
  panels: Panel[];
  /** The dashboards (uids) that tell more: every panel of the row links to them. */
  links?: string[];
}

interface Variable {
  name: string;
  label: string;
  query: string;
  /**
   * What "All" sends instead of a regex of every value: '.*' for a tag some points
   * lack (a regex of the values would leave those points out).
   */
  allValue?: string;
}

interface Dashboard {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  rows: Row[];
  /** The default time range ('now-24h' unless said). */
  from?: string;
}

// ── shared pieces ───────────────────────────────────────────────────────────────

const statusLevel: Mapping = {
  '0': { text: 'pass', color: 'green' },
  '1': { text: 'warn', color: 'yellow' },
  '2': { text: 'fail', color: 'red' },
  '3': { text: 'error', color: 'orange' },
};
const dnsStatus: Mapping = { pass: { text: 'pass', color: 'green' }, warn: { text: 'warn', color: 'yellow' }, fail: { text: 'fail', color: 'red' }, error: { text: 'error', color: 'orange' } };
const listingStatus: Mapping = { listed: { text: 'listed', color: 'red' }, not_listed: { text: 'not listed', color: 'green' }, error: { text: 'error', color: 'orange' } };
const alertStates = {
  firing: { text: 'firing', color: 'red' },
  pending: { text: 'pending', color: 'orange' },
  resolved: { text: 'resolved', color: 'green' },
  inactive: { text: 'inactive', color: 'green' },
} satisfies Record<AlertState, Mapping[string]>;
const severityColors = { critical: { text: 'critical', color: 'red' }, warning: { text: 'warning', color: 'orange' }, info: { text: 'info', color: 'blue' } } satisfies Record<
  Severity,
  Mapping[string]
>;
const controlActionColors = { pause: { text: 'pause', color: 'red' }, throttle: { text: 'throttle', color: 'orange' } } satisfies Record<ControlAction, Mapping[string]>;
const yesNo = (yes: string): Mapping => ({ true: { text: 'yes', color: yes }, false: { text: 'no', color: 'transparent' } });
const runSuccess: Mapping = { true: { text: 'ok', color: 'green' }, false: { text: 'failed', color: 'red' } };
const upDown: Mapping = { up: { text: 'up', color: 'green' }, down: { text: 'down', color: 'red' }, error: { text: 'error', color: 'orange' } };
const outcomeColors: Mapping = {
  inbox: { text: 'inbox', color: 'green' },
  spam: { text: 'spam', color: 'red' },
  missing: { text: 'missing', color: 'purple' },
  rejected: { text: 'rejected', color: 'dark-red' },
  error: { text: 'error', color: 'orange' },
};
const inboxRateSteps: [string, number | null][] = [
  ['red', null],
  ['orange', 0.7],
  ['green', 0.9],
];
const countSteps = (bad: string): [string, number | null][] => [
  ['green', null],
  [bad, 1],
];

const inboxRateByProvider = (filter: string): Panel => ({
  type: 'stat',
  title: 'Inbox rate by provider, latest run',
  description: 'Share of the seeds with a known outcome that landed in the inbox (probe kind placement; measurement placement_provider). Seeds that could not be read are left out of the rate.',
  w: 12,
  h: 6,
  queries: [{ query: `SELECT last("inbox_rate") FROM "placement_provider" WHERE $timeFilter${filter} GROUP BY "provider"`, alias: '$tag_provider' }],
  unit: 'percentunit',
  min: 0,
  max: 1,
  decimals: 0,
  thresholds: inboxRateSteps,
  options: { colorMode: 'background', graphMode: 'none', textMode: 'value_and_name', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
});

const rateOverTime = (field: string, title: string, description: string, filter: string, steps?: [string, number | null][]): Panel => ({
  type: 'timeseries',
  title,
  description,
  w: 12,
  h: 8,
  queries: [{ query: `SELECT mean("${field}") FROM "placement_provider" WHERE $timeFilter${filter} GROUP BY time($__interval), "provider" fill(none)`, alias: '$tag_provider' }],
  unit: 'percentunit',
  min: 0,
  max: 1,
  ...(steps ? { thresholds: steps, custom: { thresholdsStyle: { mode: 'dashed' } } } : {}),
});

const targetBoard = (filter: string, w: number): Panel => ({
  type: 'table',
  title: 'Blocklist status board',
  description: 'Every target (IP or domain) of the blacklist probes, latest run: how many lists list it, which, and how many could not answer (an error is unknown, never clean).',
  w,
  h: 9,
  queries: [
    {
      query: `SELECT "listed_count" AS "listings", "listed_on" AS "listed on", "error_count" AS "errors", "lists_checked" AS "lists" FROM "blacklist_target" WHERE $timeFilter${filter} GROUP BY "probe", "target", "target_kind" ORDER BY time DESC LIMIT 1`,
      format: 'table',
    },
  ],
  overrides: {
    listings: { thresholds: countSteps('red'), cell: 'color-background' },
    errors: { thresholds: countSteps('orange'), cell: 'color-background' },
    Time: { unit: 'dateTimeAsIso', width: 170 },
  },
  options: { sortBy: [{ displayName: 'listings', desc: true }] },
});

const domainBoard = (filter: string, w: number): Panel => ({
  type: 'table',
  title: 'Sending domains',
  description: 'Each domain of the dns-auth probes, latest run: its worst check (fail, else error, else warn, else pass) and the checks that are not passing.',
  w,
  h: 9,
  queries: [
    {
      query: `SELECT "status", "failing", "passed", "warnings", "failures", "errors" FROM "dns_auth_domain" WHERE $timeFilter${filter} GROUP BY "probe", "domain" ORDER BY time DESC LIMIT 1`,
      format: 'table',
    },
  ],
  overrides: { status: { mappings: dnsStatus, cell: 'color-background' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
});

const recordChanges = (filter: string, w: number): Panel => ({
  type: 'table',
  title: 'DNS record changes',
  description: 'Every authentication record that changed between two runs of a dns-auth probe (measurement dns_auth_change), with the record before and after. Someone edited DNS: was it you?',
  w,
  h: 9,
  queries: [{ query: `SELECT "old_record" AS "before", "new_record" AS "after" FROM "dns_auth_change" WHERE $timeFilter${filter} GROUP BY "domain", "check", "selector", "ip"`, format: 'table' }],
  overrides: { Time: { unit: 'dateTimeAsIso', width: 170 } },
  options: { sortBy: [{ displayName: 'Time', desc: true }] },
});

/**
 * How many distinct `entity` values (a tag list) have, in the latest point of some
 * probe's series, a `field` that matches `condition`. InfluxQL has no count of
 * distinct tags, so: the latest point per probe and entity, those that match, one
 * per entity, counted. `field` must be in every point: last() skips points without
 * it, so an optional field would answer with a stale value.
 */
const countLatest = (measurement: string, field: string, entity: string, condition: (value: string) => string, filter = '') => {
  const series = entity.includes('"probe"') ? entity : `"probe", ${entity}`;
  const latest = `SELECT last("${field}") AS "v" FROM "${measurement}" WHERE $timeFilter${filter} GROUP BY ${series}`;
  return `SELECT count("v") FROM (SELECT last("v") AS "v" FROM (${latest}) WHERE ${condition('"v"')} GROUP BY ${entity})`;
};

const countStat = (title: string, description: string, query: string, bad: string, w = 6): Panel => ({
  type: 'stat',
  title,
  description,
  w,
  h: 5,
  queries: [{ query }],
  thresholds: countSteps(bad),
  noValue: '0',
  options: { colorMode: 'background', graphMode: 'none', textMode: 'value', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
});

const outboxStat = (field: string, title: string, description: string, unit: string, steps: [string, number | null][]): Panel => ({
  type: 'stat',
  title,
  description,
  w: 6,
  h: 5,
  queries: [{ query: `SELECT last("${field}") FROM "outbox" WHERE $timeFilter` }],
  unit,
  thresholds: steps,
  options: { colorMode: 'background', graphMode: 'area', textMode: 'value', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
});

const outboxDepthSteps: [string, number | null][] = [
  ['green', null],
  ['orange', 10_000],
  ['red', 100_000],
];
/** A few flush intervals is normal; a quarter of an hour means the database takes no writes. */
const outboxAgeSteps: [string, number | null][] = [
  ['green', null],
  ['orange', 60],
  ['red', 900],
];

const alertBoard: Panel = {
  type: 'table',
  title: 'Alerts',
  description:
    'Every alert instance (a rule and one series) that was pending, firing or changed state in the time range, latest state first (measurement alert, written by the alert engine at each evaluation). GET /v1/alerts has the same, with details; POST /v1/alerts/:id/ack acknowledges.',
  w: 24,
  h: 8,
  queries: [
    {
      query: `SELECT "state", "summary", "value", "acknowledged", "silenced", "flapping" FROM "alert" WHERE $timeFilter GROUP BY "severity", "rule", "alert", "probe" ORDER BY time DESC LIMIT 1`,
      format: 'table',
    },
  ],
  overrides: {
    state: { mappings: alertStates, cell: 'color-background', width: 100 },
    severity: { mappings: severityColors, cell: 'color-text', width: 90 },
    acknowledged: { mappings: yesNo('blue'), width: 110 },
    silenced: { mappings: yesNo('purple'), width: 90 },
    flapping: { mappings: yesNo('orange'), width: 90 },
    Time: { unit: 'dateTimeAsIso', width: 170 },
  },
  options: { sortBy: [{ displayName: 'state', desc: false }] },
};

const controlBoard: Panel = {
  type: 'table',
  title: 'Controls',
  description:
    'Every slice of traffic (action and scope) a send control held in the time range, with the latest state of the control that holds or held it (measurement control, written by the control service at each change and every minute while active). GET /v1/controls has the same, with each push to a platform; DELETE /v1/controls/:id lifts one.',
  w: 24,
  h: 8,
  queries: [
    {
      query: `SELECT "active", "reason", "source", "rate_per_minute", "held", "released", "push_failed", "control" FROM "control" WHERE $timeFilter GROUP BY "action", "scope" ORDER BY time DESC LIMIT 1`,
      format: 'table',
    },
  ],
  overrides: {
    active: { mappings: { true: { text: 'active', color: 'orange' }, false: { text: 'lifted', color: 'green' } }, cell: 'color-background', width: 90 },
    action: { mappings: controlActionColors, cell: 'color-text', width: 90 },
    push_failed: { mappings: yesNo('red'), width: 110 },
    rate_per_minute: { unit: 'none', width: 130 },
    Time: { unit: 'dateTimeAsIso', width: 170 },
  },
  options: { sortBy: [{ displayName: 'active', desc: true }] },
};

// ── traffic (measurement traffic: one point per minute and slice, from the sources) ──

/** The slices of traffic; a source may not say the sending IP or pool, so the per-IP and per-pool panels keep only traffic that has one (`known`). */
const trafficTags = {
  provider: { label: 'provider', known: '' },
  ip: { label: 'sending IP', known: ` AND "ip" != ''` },
  pool: { label: 'pool', known: ` AND "pool" != ''` },
} as const;
type TrafficTag = keyof typeof trafficTags;

/**
 * Rates of attempts, each the summed counts of its outcomes over the summed attempts
 * of the interval and group — never a mean of the points' own rates, which would weigh
 * a minute of 3 attempts like a minute of 3,000. Thresholds: some deferral is normal
 * (greylisting, retries), a tenth of attempts is a provider pushing back; bounces past
 * 2% are a list problem receivers notice, and near 5% sending platforms commonly
 * suspend a sender.
 */
const attemptRates = {
  delivery: {
    title: 'Delivery rate',
    outcomes: ['delivered'],
    meaning: 'delivered / attempts (a deferral is an attempt too: a message deferred twice and then delivered is 3 attempts, 1 delivered)',
    steps: [
      ['red', null],
      ['orange', 0.7],
      ['green', 0.9],
    ],
  },
  deferral: {
    title: 'Deferral rate',
    outcomes: ['deferred'],
    meaning: 'deferred / attempts (4xx replies: the provider asks to try later; rate_limited and reputation deferrals are the first sign of trouble)',
    steps: [
      ['green', null],
      ['orange', 0.1],
      ['red', 0.3],
    ],
  },
  bounce: {
    title: 'Bounce rate',
    outcomes: ['bounced', 'expired'],
    meaning: '(bounced + expired) / attempts (refused for good, or given up after the queue lifetime)',
    steps: [
      ['green', null],
      ['orange', 0.02],
      ['red', 0.05],
    ],
  },
} satisfies Record<string, { title: string; outcomes: TrafficOutcome[]; meaning: string; steps: [string, number | null][] }>;
type AttemptRate = keyof typeof attemptRates;

/** Gmail's sender guidelines: keep the spam rate below 0.1%, never reach 0.3% (Yahoo's limit too). */
const complaintRateSteps: [string, number | null][] = [
  ['green', null],
  ['orange', 0.001],
  ['red', 0.003],
];

/**
 * The InfluxQL of a rate. Groups and intervals without attempts (complaints only) are
 * left out by `"attempts" > 0`: InfluxQL answers 0 / 0 with 0, which would read as a
 * clean minute. Points without attempts add nothing to either sum, so the filter
 * changes no other rate.
 */
const rateExpression = (rate: AttemptRate) => {
  const { outcomes } = attemptRates[rate];
  const counts = outcomes.map((outcome) => `sum("${outcome}")`).join(' + ');
  return `${outcomes.length > 1 ? `(${counts})` : counts} / sum("attempts")`;
};
const withAttempts = ' AND "attempts" > 0';

const statOptions = { colorMode: 'background', graphMode: 'none', textMode: 'value', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };

const rateStat = (rate: AttemptRate, filter: string): Panel => ({
  type: 'stat',
  title: attemptRates[rate].title,
  description: `${attemptRates[rate].meaning}, over the time range and every slice of traffic the filters select (measurement traffic).`,
  w: 4,
  h: 5,
  queries: [{ query: `SELECT ${rateExpression(rate)} FROM "traffic" WHERE $timeFilter${withAttempts}${filter}` }],
  unit: 'percentunit',
  decimals: 1,
  thresholds: attemptRates[rate].steps,
  options: statOptions,
});

const attemptsBy = (tag: TrafficTag, filter: string, w: number, h = 8): Panel => ({
  type: 'timeseries',
  title: `Attempts by ${trafficTags[tag].label}`,
  description: `Delivery attempts (delivered, deferred, bounced, expired) per ${trafficTags[tag].label}, stacked: the volume the rates are computed on (measurement traffic, from the sources).${tag === 'provider' ? '' : ` Traffic whose source does not give the ${trafficTags[tag].label} is left out.`}`,
  w,
  h,
  queries: [{ query: `SELECT sum("attempts") FROM "traffic" WHERE $timeFilter${trafficTags[tag].known}${filter} GROUP BY time($__interval), "${tag}" fill(none)`, alias: `$tag_${tag}` }],
  min: 0,
  decimals: 0,
  custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
});

const rateBy = (rate: AttemptRate, tag: TrafficTag, filter: string, w: number, h = 8): Panel => ({
  type: 'timeseries',
  title: `${attemptRates[rate].title} by ${trafficTags[tag].label}`,
  description: `${attemptRates[rate].meaning}, per ${trafficTags[tag].label} and interval, from the counts summed over the interval (measurement traffic).${tag === 'provider' ? '' : ` Traffic whose source does not give the ${trafficTags[tag].label} is left out.`}`,
  w,
  h,
  queries: [
    { query: `SELECT ${rateExpression(rate)} FROM "traffic" WHERE $timeFilter${withAttempts}${trafficTags[tag].known}${filter} GROUP BY time($__interval), "${tag}" fill(none)`, alias: `$tag_${tag}` },
  ],
  unit: 'percentunit',
  min: 0,
  max: 1,
  thresholds: attemptRates[rate].steps,
  custom: { thresholdsStyle: { mode: 'dashed' } },
});

/** Every bounce class field, summed, named by its class: `sum("class_x") AS "x", ...`. */
const classSums = bounceClassNames.map((name) => `sum("class_${name}") AS "${name}"`).join(', ');

const rateColumns = (Object.keys(attemptRates) as AttemptRate[]).map((rate) => `${rateExpression(rate)} AS "${attemptRates[rate].title.toLowerCase()}"`).join(', ');
const rateOverrides = Object.fromEntries(
  (Object.keys(attemptRates) as AttemptRate[]).map((rate) => [
    attemptRates[rate].title.toLowerCase(),
    { unit: 'percentunit', ...(rate === 'delivery' ? {} : { thresholds: attemptRates[rate].steps, cell: 'color-text' as const }) },
  ]),
);

const probeFilter = ' AND "probe" =~ /^$probe$/';
const providerFilter = ' AND "provider" =~ /^$provider$/';
const targetFilter = ' AND "target" =~ /^$target$/';
const listFilter = ' AND "list" =~ /^$list$/';
const domainFilter = ' AND "domain" =~ /^$domain$/';
const trafficFilter = `${providerFilter} AND "ip" =~ /^$ip$/ AND "pool" =~ /^$pool$/`;

// ── feedback reports (dmarc, dmarc_domain, tls_rpt, tls_rpt_mx at each report's end time; complaints as recorded) ──

const dmarcFilter = `${domainFilter} AND "reporter" =~ /^$reporter$/`;
const tlsFilter = ' AND "domain" =~ /^$tls_domain$/';

/**
 * The base domains the big mailbox providers send from (a DMARC source is named by the
 * base domain of its forward-confirmed reverse DNS). Mail of yours that fails DMARC from
 * them is mostly their users' forwards: forwarding keeps your From but breaks SPF, and
 * DKIM when the message is altered on the way. Spoofers rarely send from there.
 */
const forwarderDomains = [
  'google.com',
  'outlook.com',
  'hotmail.com',
  'yahoo.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'gmx.net',
  'web.de',
  'mail.ru',
  'yandex.net',
  'protonmail.ch',
  'comcast.net',
  'orange.fr',
  'messagingengine.com',
];
const forwarderSources = `/^(${forwarderDomains.map((domain) => domain.replaceAll('.', '\\.')).join('|')})$/`;

/** DMARC pass rate: most of what is reported should pass; below 95%, something sends as the domain unaligned (a service not set up, forwarding, spoofing). */
const dmarcPassSteps: [string, number | null][] = [
  ['red', null],
  ['orange', 0.8],
  ['green', 0.95],
];
/** TLS-RPT failure rate: a sender that cannot negotiate TLS under an enforced MTA-STS or DANE policy does not deliver to you at all. */
const tlsFailureSteps: [string, number | null][] = [
  ['green', null],
  ['orange', 0.01],
  ['red', 0.05],
];
/** The InfluxQL of a pass rate: what passed over what was reported, groups without messages left out (InfluxQL's 0 / 0 is 0). */
const dmarcPassRate = 'sum("aligned") / sum("messages")';
const withMessages = ' AND "messages" > 0';
/** Every failure result type of RFC 8460, summed and named by its type (fail_other as other). */
const tlsFailureSums = [...tlsResultTypes, 'other'].map((type) => `sum("${tlsFailureField(type)}") AS "${type}"`).join(', ');
const stackedBars = { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } };
const alignedMapping: Mapping = { true: { text: 'pass', color: 'green' }, false: { text: 'fail', color: 'red' } };
/** Tables of sums over the range: InfluxDB's time column is the start of the range, which says nothing. */
const withoutTime = [{ id: 'organize', options: { excludeByName: { Time: true } } }];

const dmarcPassStat = (filter: string, groupBy: string, w: number, timeFrom?: string): Panel => ({
  type: 'stat',
  title: 'DMARC pass rate',
  description: `Messages that passed DMARC (DKIM or SPF aligned) over the messages the receivers reported${groupBy ? ', per domain' : ''} (DMARC aggregate reports; measurement dmarc_domain, summed counts). Below 95%: see who fails in Unaligned messages by source and Forwarders on the DMARC dashboard.`,
  w,
  h: 5,
  queries: [{ query: `SELECT ${dmarcPassRate} FROM "dmarc_domain" WHERE $timeFilter${withMessages}${filter}${groupBy}`, ...(groupBy ? { alias: '$tag_domain' } : {}) }],
  unit: 'percentunit',
  decimals: 1,
  thresholds: dmarcPassSteps,
  options: { ...statOptions, textMode: groupBy ? 'value_and_name' : 'value' },
  ...(timeFrom ? { timeFrom } : {}),
});

const unalignedStat = (title: string, description: string, w: number, filter: string, timeFrom?: string): Panel => ({
  type: 'stat',
  title,
  description,
  w,
  h: 5,
  queries: [{ query: `SELECT sum("messages") FROM "dmarc" WHERE $timeFilter AND "aligned" = 'false'${filter}` }],
  decimals: 0,
  noValue: '0',
  options: { ...statOptions, colorMode: 'none' },
  ...(timeFrom ? { timeFrom } : {}),
});

/** The latest complaint rate per provider: of each provider's source IPs (or the provider as a whole, where a complaint named no IP), the highest. */
const complaintRateStat = (title: string, w: number, h: number): Panel => ({
  type: 'stat',
  title,
  description:
    "Spam complaints over deliveries in the 24 hours before the latest complaint, per provider (feedback loop reports, ARF; measurement complaints): the highest among the provider's sending IPs. Gmail asks bulk senders to stay below 0.1% and never reach 0.3%; Yahoo too. Above 0.1%: find the campaign in Complaints by campaign, and slow or pause it. Empty where the traffic sources count no deliveries to the provider.",
  w,
  h,
  queries: [{ query: 'SELECT max("v") FROM (SELECT last("complaint_rate") AS "v" FROM "complaints" WHERE $timeFilter GROUP BY "provider", "ip") GROUP BY "provider"', alias: '$tag_provider' }],
  unit: 'percentunit',
  decimals: 2,
  thresholds: complaintRateSteps,
  options: { ...statOptions, textMode: 'value_and_name' },
});

const tlsFailuresStat = (title: string, w: number, h: number, filter: string, timeFrom?: string): Panel => ({
  type: 'stat',
  title,
  description:
    'Sessions to your MX hosts that senders could not secure under your MTA-STS or DANE policy, as their TLS reports (TLS-RPT, RFC 8460) say (measurement tls_rpt). Under an enforced policy that mail was not delivered: the TLS-RPT panels of the DMARC dashboard say which MX and why (an expired certificate, a name mismatch, STARTTLS missing).',
  w,
  h,
  queries: [{ query: `SELECT sum("failures") FROM "tls_rpt" WHERE $timeFilter${filter}` }],
  decimals: 0,
  noValue: '0',
  thresholds: countSteps('orange'),
  options: statOptions,
  ...(timeFrom ? { timeFrom } : {}),
});

// ── the dashboards ──────────────────────────────────────────────────────────────

const overview: Dashboard = {
  uid: 'mailscope-overview',
  title: 'Mailscope · Overview',
  description: 'Alerts, send control, traffic, inbox placement, blocklists, DNS authentication and the observatory itself, at a glance.',
  variables: [],
  rows: [
    {
      row: 'Alerts',
      panels: [
        countStat(
          'Critical alerts firing',
          'Alert instances of critical rules whose latest state is firing (measurement alert). The table below says which.',
          countLatest('alert', 'firing', '"alert"', (v) => `${v} = true`, ` AND "severity" = 'critical'`),
          'red',
          8,
        ),
        countStat(
          'Alerts firing',
          'Alert instances of any severity whose latest state is firing.',
          countLatest('alert', 'firing', '"alert"', (v) => `${v} = true`),
          'orange',
          8,
        ),
        countStat(
          'Alerts pending',
          "Conditions that hold but have not yet held long enough to fire (the rule's for:).",
          countLatest('alert', 'state', '"alert"', (v) => `${v} = 'pending'`),
          'yellow',
          8,
        ),
        alertBoard,
      ],
    },
    {
      row: 'Send control',
      panels: [
        countStat(
          'Pauses active',
          "Pause controls whose latest state is active: that slice of traffic is held (Postfix's hold queue) or suspended at the platform (measurement control).",
          countLatest('control', 'active', '"scope"', (v) => `${v} = true`, ` AND "action" = 'pause'`),
          'red',
          8,
        ),
        countStat(
          'Throttles active',
          'Throttle controls whose latest state is active: that slice of traffic is limited to its rate.',
          countLatest('control', 'active', '"scope"', (v) => `${v} = true`, ` AND "action" = 'throttle'`),
          'orange',
          8,
        ),
        countStat(
          'Messages held',
          'Messages a Postfix policy service held for a pause and that are not released yet (the latest count per action and scope). They wait in the hold queue: nothing is lost.',
          'SELECT sum("v") FROM (SELECT last("held") AS "v" FROM "control" WHERE $timeFilter GROUP BY "action", "scope")',
          'orange',
          8,
        ),
        controlBoard,
      ],
    },
    {
      row: 'Traffic',
      links: ['mailscope-traffic'],
      panels: [attemptsBy('provider', '', 8), rateBy('deferral', 'provider', '', 8), rateBy('bounce', 'provider', '', 8)],
    },
    {
      row: 'Inbox placement',
      links: ['mailscope-placement'],
      panels: [
        inboxRateByProvider(''),
        rateOverTime(
          'inbox_rate',
          'Inbox rate by provider',
          'Inbox rate per provider over time (probe kind placement). A drop at one provider is a reputation or content problem there; a drop everywhere is usually authentication or a blocklisting.',
          '',
          inboxRateSteps,
        ),
      ],
    },
    {
      row: 'Feedback',
      links: ['mailscope-dmarc'],
      panels: [
        dmarcPassStat('', ' GROUP BY "domain"', 6, '7d'),
        unalignedStat(
          'Unaligned messages, 24 hours',
          'Messages sent as your domains that failed DMARC, in the reports that ended in the last 24 hours (DMARC aggregate reports; measurement dmarc, aligned = false). Reports cover a day and come the day after: the 7-day count is steadier. Who sent them: the DMARC dashboard.',
          4,
          '',
          '24h',
        ),
        unalignedStat(
          'Unaligned messages, 7 days',
          'Messages sent as your domains that failed DMARC in the last 7 days of reports (measurement dmarc, aligned = false): spoofers, services of yours not set up, forwarding. Who sent them: Unaligned messages by source and Forwarders on the DMARC dashboard.',
          4,
          '',
          '7d',
        ),
        complaintRateStat('Complaint rate by provider', 6, 5),
        tlsFailuresStat('TLS failures, 7 days', 4, 5, '', '7d'),
      ],
    },
    {
      row: 'Blocklists',
      links: ['mailscope-blocklists', 'mailscope-dns-auth'],
      panels: [
        countStat(
          'Targets listed',
          'IPs and domains listed on at least one list in their latest blacklist run.',
          countLatest('blacklist_target', 'listed_count', '"target"', (v) => `${v} > 0`),
          'red',
        ),
        countStat(
          'Unhealthy lists',
          'Lists that failed their RFC 5782 test points in the latest run: their answers are treated as errors (a list that answers everything would otherwise look like a listing).',
          countLatest('blacklist_list', 'healthy', '"list"', (v) => `${v} = false`),
          'orange',
        ),
        countStat(
          'Failed lookups',
          'Target and list pairs that could not be looked up in the latest run (timeout, SERVFAIL, refused): unknown, not clean.',
          `SELECT sum("error_count") FROM (SELECT last("error_count") AS "error_count" FROM "blacklist_target" WHERE $timeFilter GROUP BY "probe", "target")`,
          'orange',
        ),
        countStat(
          'Domains failing authentication',
          'Sending domains whose latest dns-auth run has a failing check.',
          countLatest('dns_auth_domain', 'level', '"domain"', (v) => `${v} = 2`),
          'red',
        ),
        targetBoard('', 12),
        domainBoard('', 12),
      ],
    },
    {
      row: 'Observatory',
      links: ['mailscope-probe-health'],
      panels: [
        countStat(
          'Probes failing',
          'Probes whose latest run could not measure (any kind; measurement probe_run). The Probe health dashboard says why.',
          countLatest('probe_run', 'success', '"probe"', (v) => `${v} = false`),
          'red',
        ),
        outboxStat(
          'depth',
          'Outbox depth',
          "Points waiting to be written to the time-series database (probe kind outbox). Recorded in Mailscope's store first, so they arrive late, not never, after an outage.",
          'short',
          outboxDepthSteps,
        ),
        outboxStat(
          'oldest_age_s',
          'Oldest point waiting',
          'Age of the oldest point still in the outbox (probe kind outbox). Above a few flush intervals, InfluxDB is not taking writes.',
          's',
          outboxAgeSteps,
        ),
        outboxStat(
          'quarantined',
          'Quarantined lines',
          'Lines the time-series database refused as malformed (probe kind outbox). GET /v1/outbox/quarantine shows each with the reason.',
          'short',
          countSteps('orange'),
        ),
      ],
    },
  ],
};

const placement: Dashboard = {
  uid: 'mailscope-placement',
  title: 'Mailscope · Inbox placement',
  description: 'Where the seed messages landed, per provider and per seed, with what the receivers said about them.',
  variables: [
    { name: 'probe', label: 'Placement probe', query: 'SHOW TAG VALUES FROM "placement_run" WITH KEY = "probe"' },
    { name: 'provider', label: 'Provider', query: 'SHOW TAG VALUES FROM "placement_provider" WITH KEY = "provider"' },
  ],
  rows: [
    {
      row: 'Rates',
      panels: [
        inboxRateByProvider(probeFilter + providerFilter),
        {
          type: 'timeseries',
          title: 'Where the seeds landed, per run',
          description: 'Seeds per outcome over every provider (measurement placement_run). Errors are seeds that could not be read (IMAP or submission failure); they are not missing mail.',
          w: 12,
          h: 6,
          queries: [
            {
              query: `SELECT sum("inbox") AS "inbox", sum("category") AS "category", sum("spam") AS "spam", sum("missing") AS "missing", sum("rejected") AS "rejected", sum("errors") AS "errors" FROM "placement_run" WHERE $timeFilter${probeFilter} GROUP BY time($__interval) fill(none)`,
              alias: '$col',
            },
          ],
          custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
          overrides: { inbox: { color: 'green' }, category: { color: 'blue' }, spam: { color: 'red' }, missing: { color: 'purple' }, rejected: { color: 'dark-red' }, errors: { color: 'orange' } },
        },
        rateOverTime(
          'inbox_rate',
          'Inbox rate by provider',
          'Share of seeds with a known outcome in the inbox, per provider (measurement placement_provider).',
          probeFilter + providerFilter,
          inboxRateSteps,
        ),
        rateOverTime('spam_rate', 'Spam rate by provider', 'Share of seeds with a known outcome in the spam folder, per provider.', probeFilter + providerFilter),
      ],
    },
    {
      row: 'Delivery',
      panels: [
        {
          type: 'timeseries',
          title: 'Delivery latency',
          description: "Submission to the receiver's Received time, median and 90th percentile per provider (1 s resolution).",
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT mean("latency_p50_ms") AS "p50", mean("latency_p90_ms") AS "p90" FROM "placement_provider" WHERE $timeFilter${probeFilter}${providerFilter} GROUP BY time($__interval), "provider" fill(none)`,
              alias: '$tag_provider $col',
            },
          ],
          unit: 'ms',
        },
        {
          type: 'timeseries',
          title: 'Spam score by provider',
          description: "The receiving spam filter's score, from X-Spam-Status or X-Spam-Score (measurement placement).",
          w: 12,
          h: 8,
          queries: [{ query: `SELECT mean("spam_score") FROM "placement" WHERE $timeFilter${probeFilter}${providerFilter} GROUP BY time($__interval), "provider" fill(none)`, alias: '$tag_provider' }],
        },
      ],
    },
    {
      row: 'Seeds',
      panels: [
        {
          type: 'table',
          title: 'Seeds, latest run',
          description:
            'Each seed mailbox: where the message landed, the folder, the receiver’s SPF, DKIM and DMARC results, the spam score, the TLS of the receiving hop, and why it failed when it did.',
          w: 24,
          h: 10,
          queries: [
            {
              query: `SELECT "outcome", "folder", "spf", "dkim", "dmarc", "spam_score" AS "spam score", "delivery_ms" AS "delivery", "tls_version" AS "tls", "error_code" AS "error", "error" AS "reason" FROM "placement" WHERE $timeFilter${probeFilter}${providerFilter} GROUP BY "probe", "provider", "seed" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { outcome: { mappings: outcomeColors, cell: 'color-background' }, delivery: { unit: 'ms' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
        {
          type: 'table',
          title: 'Refusals and bounces',
          description: 'Seeds that refused the message, at submission (the routing engine’s reply) or by a bounce (its Diagnostic-Code): often a blocklisting, named in the reason.',
          w: 24,
          h: 8,
          queries: [
            {
              query: `SELECT "rejected_at" AS "at", "smtp_code", "smtp_response", "bounce_status", "bounce_reason" FROM "placement" WHERE $timeFilter AND "outcome" = 'rejected'${probeFilter}${providerFilter} GROUP BY "probe", "provider", "seed" ORDER BY time DESC LIMIT 10`,
              format: 'table',
            },
          ],
          overrides: { Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
      ],
    },
  ],
};

const traffic: Dashboard = {
  uid: 'mailscope-traffic',
  title: 'Mailscope · Traffic',
  description:
    "The platform's own traffic as its sources report it: attempts, delivery, deferral, bounce and complaint rates per provider, sending IP and pool, why mail failed, and delivery latency.",
  variables: [
    { name: 'provider', label: 'Provider', query: 'SHOW TAG VALUES FROM "traffic" WITH KEY = "provider"' },
    { name: 'ip', label: 'Sending IP', query: 'SHOW TAG VALUES FROM "traffic" WITH KEY = "ip"', allValue: '.*' },
    { name: 'pool', label: 'Pool', query: 'SHOW TAG VALUES FROM "traffic" WITH KEY = "pool"', allValue: '.*' },
  ],
  rows: [
    {
      row: 'Now',
      panels: [
        {
          type: 'stat',
          title: 'Attempts',
          description: 'Delivery attempts (delivered, deferred, bounced, expired) over the time range (measurement traffic, from the sources). Complaints are not attempts.',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT sum("attempts") FROM "traffic" WHERE $timeFilter${trafficFilter}` }],
          decimals: 0,
          noValue: '0',
          options: { ...statOptions, colorMode: 'none' },
        },
        rateStat('delivery', trafficFilter),
        rateStat('deferral', trafficFilter),
        rateStat('bounce', trafficFilter),
        {
          type: 'stat',
          title: 'Complaints',
          description: 'Recipients who reported a message as spam (feedback loop reports, ARF) over the time range.',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT sum("complained") FROM "traffic" WHERE $timeFilter${trafficFilter}` }],
          decimals: 0,
          noValue: '0',
          thresholds: countSteps('orange'),
          options: statOptions,
        },
        {
          type: 'stat',
          title: 'Complaint rate',
          description: 'complained / delivered over the time range. Empty without deliveries: a rate of nothing is unknown, not clean.',
          w: 4,
          h: 5,
          queries: [
            {
              query: `SELECT "complaints" / "deliveries" FROM (SELECT sum("complained") AS "complaints", sum("delivered") AS "deliveries" FROM "traffic" WHERE $timeFilter${trafficFilter}) WHERE "deliveries" > 0`,
            },
          ],
          unit: 'percentunit',
          decimals: 2,
          thresholds: complaintRateSteps,
          options: statOptions,
        },
      ],
    },
    {
      row: 'Providers',
      panels: [
        attemptsBy('provider', trafficFilter, 12),
        rateBy('delivery', 'provider', trafficFilter, 12),
        rateBy('deferral', 'provider', trafficFilter, 12),
        rateBy('bounce', 'provider', trafficFilter, 12),
        {
          type: 'table',
          title: 'Providers',
          description: 'Each provider over the time range: attempts per outcome and the rates, from the summed counts. Sorted by deferral rate.',
          w: 24,
          h: 8,
          queries: [
            {
              query: `SELECT sum("attempts") AS "attempts", sum("delivered") AS "delivered", sum("deferred") AS "deferred", sum("bounced") AS "bounced", sum("expired") AS "expired", ${rateColumns} FROM "traffic" WHERE $timeFilter${withAttempts}${trafficFilter} GROUP BY "provider"`,
              format: 'table',
            },
          ],
          overrides: { ...rateOverrides, Time: { unit: 'dateTimeAsIso', width: 170 } },
          options: { sortBy: [{ displayName: 'deferral rate', desc: true }] },
        },
      ],
    },
    {
      row: 'Bounce classes',
      panels: [
        {
          type: 'bargauge',
          title: 'Top bounce classes',
          description:
            'Why attempts failed over the time range: deferred, bounced and expired attempts and complaints per bounce class (fields class_*), most first. The class comes from the source, else from the SMTP code, the enhanced code and the reply text. GET /v1/traffic lists the replies behind each class.',
          w: 8,
          h: 12,
          queries: [{ query: `SELECT ${classSums} FROM "traffic" WHERE $timeFilter${trafficFilter}`, alias: '$col' }],
          decimals: 0,
          min: 0,
          options: {
            orientation: 'horizontal',
            displayMode: 'gradient',
            valueMode: 'color',
            namePlacement: 'left',
            showUnfilled: true,
            reduceOptions: { calcs: ['lastNotNull'], fields: '/^Total$/', values: true },
          },
          // One row per class (its sum over the range), most first, classes with none left out.
          transformations: [
            { id: 'reduce', options: { mode: 'seriesToRows', reducers: ['sum'], includeTimeField: false } },
            { id: 'sortBy', options: { sort: [{ field: 'Total', desc: true }] } },
            { id: 'filterByValue', options: { type: 'include', match: 'any', filters: [{ fieldName: 'Total', config: { id: 'greater', options: { value: 0 } } }] } },
          ],
        },
        {
          type: 'timeseries',
          title: 'Bounce classes over time',
          description:
            'Failed attempts and complaints per bounce class and interval, stacked. A class that grows at once (rate_limited, reputation) is usually one provider reacting: the table below says which.',
          w: 16,
          h: 12,
          queries: [{ query: `SELECT ${classSums} FROM "traffic" WHERE $timeFilter${trafficFilter} GROUP BY time($__interval) fill(none)`, alias: '$col' }],
          min: 0,
          decimals: 0,
          custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
        },
        {
          type: 'table',
          title: 'Bounce classes by provider',
          description: 'Failed attempts and complaints per provider and bounce class over the time range.',
          w: 24,
          h: 8,
          queries: [{ query: `SELECT ${classSums} FROM "traffic" WHERE $timeFilter${trafficFilter} GROUP BY "provider"`, format: 'table' }],
          overrides: { Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
      ],
    },
    {
      row: 'Sending IPs',
      panels: [
        attemptsBy('ip', trafficFilter, 12),
        rateBy('deferral', 'ip', trafficFilter, 12),
        {
          type: 'table',
          title: 'Sending IPs by provider',
          description:
            'Each sending IP at each provider over the time range: attempts and the rates, from the summed counts. One IP deferred or bounced by one provider is that IP’s reputation there; every IP at once is the content or the domain. Sorted by deferral rate.',
          w: 24,
          h: 9,
          queries: [
            {
              query: `SELECT sum("attempts") AS "attempts", ${rateColumns} FROM "traffic" WHERE $timeFilter${withAttempts}${trafficTags.ip.known}${trafficFilter} GROUP BY "ip", "provider"`,
              format: 'table',
            },
          ],
          overrides: { ...rateOverrides, Time: { unit: 'dateTimeAsIso', width: 170 } },
          options: { sortBy: [{ displayName: 'deferral rate', desc: true }] },
        },
      ],
    },
    {
      row: 'Pools',
      panels: [attemptsBy('pool', trafficFilter, 8), rateBy('deferral', 'pool', trafficFilter, 8), rateBy('bounce', 'pool', trafficFilter, 8)],
    },
    {
      row: 'Complaints and latency',
      panels: [
        {
          type: 'timeseries',
          title: 'Complaints by provider',
          description: 'Spam reports (feedback loops) per provider and interval, stacked.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT sum("complained") FROM "traffic" WHERE $timeFilter${trafficFilter} GROUP BY time($__interval), "provider" fill(none)`, alias: '$tag_provider' }],
          min: 0,
          decimals: 0,
          custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
        },
        {
          type: 'timeseries',
          title: 'Complaint rate by provider',
          description: 'complained / delivered per provider and interval, from the summed counts; intervals without deliveries are left out (a rate of nothing is unknown).',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT "complaints" / "deliveries" FROM (SELECT sum("complained") AS "complaints", sum("delivered") AS "deliveries" FROM "traffic" WHERE $timeFilter${trafficFilter} GROUP BY time($__interval), "provider" fill(none)) WHERE "deliveries" > 0 GROUP BY "provider"`,
              alias: '$tag_provider',
            },
          ],
          unit: 'percentunit',
          min: 0,
          thresholds: complaintRateSteps,
          custom: { thresholdsStyle: { mode: 'dashed' } },
        },
        {
          type: 'timeseries',
          title: 'Delivery latency by provider',
          description:
            'From reception to delivery, where the source gives it: the mean of the minutes’ averages (each slice of traffic’s minute weighs the same, whatever its deliveries) and the slowest delivery, per provider and interval.',
          w: 24,
          h: 8,
          queries: [
            {
              query: `SELECT mean("latency_avg_ms") AS "average", max("latency_max_ms") AS "slowest" FROM "traffic" WHERE $timeFilter${trafficFilter} GROUP BY time($__interval), "provider" fill(none)`,
              alias: '$tag_provider $col',
            },
          ],
          unit: 'ms',
          min: 0,
        },
      ],
    },
  ],
};

const dmarc: Dashboard = {
  uid: 'mailscope-dmarc',
  title: 'Mailscope · DMARC and feedback',
  description:
    'What the receivers report back: who sends as your domains and whether it passes DMARC (aggregate reports), whether senders reach your MX hosts over TLS (TLS-RPT), and spam complaints (feedback loops). Reports cover a day and arrive the day after: the default range is 30 days.',
  from: 'now-30d',
  variables: [
    { name: 'domain', label: 'Domain', query: 'SHOW TAG VALUES FROM "dmarc" WITH KEY = "domain"' },
    { name: 'reporter', label: 'Reporter', query: 'SHOW TAG VALUES FROM "dmarc" WITH KEY = "reporter"' },
    { name: 'tls_domain', label: 'TLS policy domain', query: 'SHOW TAG VALUES FROM "tls_rpt" WITH KEY = "domain"' },
  ],
  rows: [
    {
      row: 'DMARC',
      panels: [
        {
          type: 'stat',
          title: 'Messages reported',
          description:
            'Messages sent as the selected domains that the receivers saw, over the time range (DMARC aggregate reports; measurement dmarc_domain). None at all: no receiver sends you reports; check the rua= of the DMARC record on the DNS authentication dashboard.',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT sum("messages") FROM "dmarc_domain" WHERE $timeFilter${dmarcFilter}` }],
          decimals: 0,
          noValue: '0',
          options: { ...statOptions, colorMode: 'none' },
        },
        dmarcPassStat(dmarcFilter, '', 4),
        unalignedStat(
          'Unaligned messages',
          'Messages that failed DMARC (neither DKIM nor SPF aligned) over the time range (measurement dmarc, aligned = false): spoofers, your own services not set up to sign or be in SPF, and forwarded mail. The Who fails row says which.',
          4,
          dmarcFilter,
        ),
        {
          type: 'stat',
          title: 'Quarantined or rejected',
          description:
            'Messages the receivers quarantined or rejected by the DMARC policy over the time range (measurement dmarc). With p=quarantine or p=reject this is what the policy stopped: spoofing, or your own mail when one of your services is not aligned (see Your IPs and others).',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT sum("quarantined") + sum("rejected") FROM "dmarc" WHERE $timeFilter${dmarcFilter}` }],
          decimals: 0,
          noValue: '0',
          thresholds: countSteps('orange'),
          options: statOptions,
        },
        {
          type: 'stat',
          title: 'New sources',
          description:
            'Sources (a base domain by forward-confirmed reverse DNS, else an IP) seen for a domain for the first time, summed over the reports of the time range (measurement dmarc_domain). A new source that passes is a service someone set up; one that fails is a spoofer or a service to set up. The New sources table says which.',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT sum("new_sources") FROM "dmarc_domain" WHERE $timeFilter${dmarcFilter}` }],
          decimals: 0,
          noValue: '0',
          thresholds: countSteps('orange'),
          options: statOptions,
        },
        {
          type: 'stat',
          title: 'Reports',
          description:
            'DMARC aggregate reports received over the time range (measurement dmarc_domain, one point per report). Most big receivers send one a day per domain; GET /v1/reports lists them, GET /v1/reports/:id shows one with its rows.',
          w: 4,
          h: 5,
          queries: [{ query: `SELECT count("report_id") FROM "dmarc_domain" WHERE $timeFilter${dmarcFilter}` }],
          decimals: 0,
          noValue: '0',
          options: { ...statOptions, colorMode: 'none' },
        },
        {
          type: 'timeseries',
          title: 'DMARC pass rate by domain',
          description:
            'Messages that passed DMARC over the messages reported, per domain and day, from the counts summed over every report of the day (measurement dmarc_domain): a reporter with many messages weighs more than one with few. A drop is a new unaligned source or a broken key: see Unaligned messages by source.',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT ${dmarcPassRate} FROM "dmarc_domain" WHERE $timeFilter${withMessages}${dmarcFilter} GROUP BY time($__interval), "domain" fill(none)`,
              alias: '$tag_domain',
            },
          ],
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: dmarcPassSteps,
          custom: { thresholdsStyle: { mode: 'dashed' } },
          interval: '1d',
        },
        {
          type: 'timeseries',
          title: 'Messages by reporter',
          description:
            'Messages each receiver reported per day, stacked (measurement dmarc_domain): how your mail spreads over the providers that send reports. A reporter that stops reporting shows as a gap.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT sum("messages") FROM "dmarc_domain" WHERE $timeFilter${dmarcFilter} GROUP BY time($__interval), "reporter" fill(none)`, alias: '$tag_reporter' }],
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
        },
      ],
    },
    {
      row: 'Sources',
      panels: [
        {
          type: 'timeseries',
          title: 'Messages by source',
          description:
            'Messages per source and day, stacked; what failed DMARC is a series of its own, named "<source> (fail)" (measurement dmarc). A source is the base domain of the sending IP’s forward-confirmed reverse DNS (google.com, sendgrid.net), else the IP. The legend lists the sources by messages over the range, most first.',
          w: 24,
          h: 10,
          queries: [
            { query: `SELECT sum("messages") FROM "dmarc" WHERE $timeFilter AND "aligned" = 'true'${dmarcFilter} GROUP BY time($__interval), "source" fill(none)`, alias: '$tag_source' },
            { query: `SELECT sum("messages") FROM "dmarc" WHERE $timeFilter AND "aligned" = 'false'${dmarcFilter} GROUP BY time($__interval), "source" fill(none)`, alias: '$tag_source (fail)' },
          ],
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
          options: { legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['sum'], sortBy: 'Total', sortDesc: true } },
        },
        {
          type: 'table',
          title: 'Sources',
          description:
            'Every source that sent as the selected domains over the time range, passing DMARC and not apart: messages, how many passed DKIM and SPF aligned, how many the receivers let through by a local override (forwarded, mailing list), quarantined and rejected; yours are the IPs of the blacklist probes and the traffic sources (measurement dmarc). GET /v1/dmarc/sources has each source IP and its name.',
          w: 24,
          h: 10,
          queries: [
            {
              query: `SELECT sum("messages") AS "messages", sum("dkim_aligned") AS "DKIM aligned", sum("spf_aligned") AS "SPF aligned", sum("overridden") AS "overridden", sum("quarantined") AS "quarantined", sum("rejected") AS "rejected" FROM "dmarc" WHERE $timeFilter${dmarcFilter} GROUP BY "source", "aligned", "own"`,
              format: 'table',
            },
          ],
          overrides: { aligned: { mappings: alignedMapping, cell: 'color-text', width: 90 }, own: { mappings: yesNo('blue'), width: 80 } },
          options: { sortBy: [{ displayName: 'messages', desc: true }] },
          transformations: withoutTime,
        },
      ],
    },
    {
      row: 'Who fails',
      panels: [
        {
          type: 'timeseries',
          title: 'Unaligned messages by source',
          description:
            'Messages that failed DMARC per source and day, stacked (measurement dmarc, aligned = false). An unknown IP or hosting provider is a spoofer: p=reject stops it. A service you use (a CRM, a newsletter or ticketing tool) sending as you is to be set up: DKIM with your domain, or its servers in SPF with an aligned envelope sender. A big mailbox provider is forwarding: see Forwarders.',
          w: 12,
          h: 9,
          queries: [{ query: `SELECT sum("messages") FROM "dmarc" WHERE $timeFilter AND "aligned" = 'false'${dmarcFilter} GROUP BY time($__interval), "source" fill(none)`, alias: '$tag_source' }],
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
          options: { legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['sum'], sortBy: 'Total', sortDesc: true } },
        },
        {
          type: 'timeseries',
          title: 'Your IPs and others',
          description:
            'Messages per day from your own IPs (the targets of the blacklist probes and the sending IPs of the traffic sources) and from everyone else, passing DMARC or not, stacked (measurement dmarc, tag own). Your IPs failing is your own mail failing: a DKIM key or SPF record to fix, now. Others passing are services you authorized; others failing are spoofers and forwarders.',
          w: 12,
          h: 9,
          queries: (
            [
              ['true', 'true', 'your IPs, pass'],
              ['true', 'false', 'your IPs, fail'],
              ['false', 'true', 'others, pass'],
              ['false', 'false', 'others, fail'],
            ] as const
          ).map(([own, aligned, alias]) => ({
            query: `SELECT sum("messages") FROM "dmarc" WHERE $timeFilter AND "own" = '${own}' AND "aligned" = '${aligned}'${dmarcFilter} GROUP BY time($__interval) fill(none)`,
            alias,
          })),
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
          overrides: { 'your IPs, pass': { color: 'green' }, 'your IPs, fail': { color: 'red' }, 'others, pass': { color: 'blue' }, 'others, fail': { color: 'orange' } },
        },
        {
          type: 'table',
          title: 'Forwarders',
          description: `Sources whose messages failed DMARC but that look like forwarding, over the time range: the receiver let them through by a local override (forwarded, mailing list; column overridden), or they are a big mailbox provider's servers (${forwarderDomains.join(', ')}), whose users forward their mail on (measurement dmarc, aligned = false). Forwarding breaks SPF and, when the message is altered, DKIM: sign every message with DKIM for your domain (it survives a plain forward), and expect a little of this under p=reject.`,
          w: 12,
          h: 9,
          queries: [
            {
              query: `SELECT sum("messages") AS "messages", sum("overridden") AS "overridden", sum("quarantined") AS "quarantined", sum("rejected") AS "rejected" FROM "dmarc" WHERE $timeFilter AND "aligned" = 'false' AND ("overridden" > 0 OR "source" =~ ${forwarderSources})${dmarcFilter} GROUP BY "source", "reporter"`,
              format: 'table',
            },
          ],
          options: { sortBy: [{ displayName: 'messages', desc: true }] },
          transformations: withoutTime,
        },
        {
          type: 'table',
          title: 'New sources',
          description:
            'Each source the first time it was seen sending as a domain (no earlier report named it), with the report that did, newest first (measurement dmarc, new_source_messages). Passing: a service someone set up, check it is one of yours. Failing: a spoofer, or a service to set up.',
          w: 12,
          h: 9,
          queries: [
            {
              query: `SELECT "new_source_messages" AS "messages", "report_id" AS "report" FROM "dmarc" WHERE $timeFilter AND "new_source_messages" > 0${dmarcFilter} GROUP BY "domain", "source", "aligned", "own", "reporter"`,
              format: 'table',
            },
          ],
          overrides: { aligned: { mappings: alignedMapping, cell: 'color-text', width: 90 }, own: { mappings: yesNo('blue'), width: 80 }, Time: { unit: 'dateTimeAsIso', width: 170 } },
          options: { sortBy: [{ displayName: 'Time', desc: true }] },
        },
      ],
    },
    {
      row: 'Receivers',
      panels: [
        {
          type: 'timeseries',
          title: 'Dispositions',
          description:
            'Messages the receivers quarantined (spam folder) or rejected by your DMARC policy, per day, stacked (measurement dmarc). The rest was delivered (p=none, or a local override). Under p=quarantine or p=reject, a rise here with a rise of Your IPs and others in red is your own mail being stopped.',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT sum("quarantined") AS "quarantined", sum("rejected") AS "rejected" FROM "dmarc" WHERE $timeFilter${dmarcFilter} GROUP BY time($__interval) fill(none)`,
              alias: '$col',
            },
          ],
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
          overrides: { quarantined: { color: 'orange' }, rejected: { color: 'red' } },
        },
        {
          type: 'table',
          title: 'Reporters',
          description:
            'Each receiver that sent aggregate reports over the time range: reports, messages, messages that passed DMARC and the pass rate (measurement dmarc_domain). A reporter with a lower pass rate than the others sees more forwarded mail, or a source only it receives from.',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT count("report_id") AS "reports", sum("messages") AS "messages", sum("aligned") AS "passed", ${dmarcPassRate} AS "pass rate" FROM "dmarc_domain" WHERE $timeFilter${withMessages}${dmarcFilter} GROUP BY "reporter"`,
              format: 'table',
            },
          ],
          overrides: { 'pass rate': { unit: 'percentunit', thresholds: dmarcPassSteps, cell: 'color-text' } },
          options: { sortBy: [{ displayName: 'messages', desc: true }] },
          transformations: withoutTime,
        },
      ],
    },
    {
      row: 'TLS reports (TLS-RPT)',
      panels: [
        tlsFailuresStat('TLS failures', 6, 8, tlsFilter),
        {
          type: 'timeseries',
          title: 'TLS sessions by policy domain',
          description:
            'Sessions senders opened to your MX hosts per policy domain and day, successes and failures, as their TLS reports (RFC 8460) say (measurement tls_rpt). Only senders that send TLS reports are counted (Google, Microsoft, ...). The policy domain filter is separate from the DMARC domain filter.',
          w: 18,
          h: 8,
          queries: [
            {
              query: `SELECT sum("successes") AS "successes", sum("failures") AS "failures" FROM "tls_rpt" WHERE $timeFilter${tlsFilter} GROUP BY time($__interval), "domain" fill(none)`,
              alias: '$tag_domain $col',
            },
          ],
          min: 0,
          decimals: 0,
          interval: '1d',
        },
        {
          type: 'timeseries',
          title: 'TLS failure rate by policy domain',
          description:
            'Failed sessions over all sessions per policy domain and day, from the counts summed over the reports (measurement tls_rpt); days without sessions are left out. Under an enforced MTA-STS or DANE policy a failed session is mail that did not arrive: fix the MX named in TLS failures by MX.',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT "failed" / "sessions" FROM (SELECT sum("failures") AS "failed", sum("successes") + sum("failures") AS "sessions" FROM "tls_rpt" WHERE $timeFilter${tlsFilter} GROUP BY time($__interval), "domain" fill(none)) WHERE "sessions" > 0 GROUP BY "domain"`,
              alias: '$tag_domain',
            },
          ],
          unit: 'percentunit',
          min: 0,
          thresholds: tlsFailureSteps,
          custom: { thresholdsStyle: { mode: 'dashed' } },
          interval: '1d',
        },
        {
          type: 'timeseries',
          title: 'TLS failures by result type',
          description:
            'Failed sessions per RFC 8460 result type and day, stacked (fields fail_* of tls_rpt): certificate-expired, certificate-host-mismatch and certificate-not-trusted are your MX certificate; starttls-not-supported an MX without STARTTLS; sts-policy-fetch-error and sts-policy-invalid the policy file at mta-sts.<domain>; tlsa-invalid and dnssec-invalid your DANE records.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT ${tlsFailureSums} FROM "tls_rpt" WHERE $timeFilter${tlsFilter} GROUP BY time($__interval) fill(none)`, alias: '$col' }],
          min: 0,
          decimals: 0,
          custom: stackedBars,
          interval: '1d',
        },
        {
          type: 'table',
          title: 'TLS failures by MX',
          description:
            'Failed sessions per policy domain and receiving MX host over the time range, with the result types of its latest report (measurement tls_rpt_mx). The MX to fix, and what is wrong with it.',
          w: 24,
          h: 8,
          queries: [
            {
              query: `SELECT sum("failures") AS "failures", last("result_types") AS "result types" FROM "tls_rpt_mx" WHERE $timeFilter${tlsFilter} GROUP BY "domain", "mx"`,
              format: 'table',
            },
          ],
          overrides: { failures: { thresholds: countSteps('red'), cell: 'color-text' } },
          options: { sortBy: [{ displayName: 'failures', desc: true }] },
          transformations: withoutTime,
        },
      ],
    },
    {
      row: 'Complaints (feedback loops)',
      panels: [
        complaintRateStat('Complaint rate by provider, latest', 8, 8),
        {
          type: 'timeseries',
          title: 'Complaint rate by provider',
          description:
            'Spam complaints over deliveries in the 24 hours before each batch of complaints, per provider: the highest among its sending IPs (measurement complaints; deliveries as the traffic sources count them). The dashed lines are 0.1%, the rate Gmail asks bulk senders to stay below, and 0.3%, its limit (Yahoo’s too): past it, mail goes to spam or is refused.',
          w: 16,
          h: 8,
          queries: [{ query: 'SELECT max("complaint_rate") FROM "complaints" WHERE $timeFilter GROUP BY time($__interval), "provider" fill(none)', alias: '$tag_provider' }],
          unit: 'percentunit',
          min: 0,
          thresholds: complaintRateSteps,
          custom: { thresholdsStyle: { mode: 'dashed' } },
        },
        {
          type: 'timeseries',
          title: 'Complaints by provider',
          description:
            'Spam complaints per provider and interval, stacked, as the feedback loops report them (Yahoo CFL, Microsoft JMRP, ...; measurement complaints). Gmail sends none per message: its rate is in Postmaster Tools.',
          w: 12,
          h: 8,
          queries: [{ query: 'SELECT sum("complaints") FROM "complaints" WHERE $timeFilter GROUP BY time($__interval), "provider" fill(none)', alias: '$tag_provider' }],
          min: 0,
          decimals: 0,
          custom: stackedBars,
        },
        {
          type: 'timeseries',
          title: 'Complaints by campaign',
          description:
            'Spam complaints per campaign and interval, stacked, where the complained-about message’s headers name one (X-Campaign, X-Mailscope-Campaign, ...; measurement complaints). The campaign that draws them is the one to slow, pause (a send control) or clean the list of.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT sum("complaints") FROM "complaints" WHERE $timeFilter AND "campaign" != '' GROUP BY time($__interval), "campaign" fill(none)`, alias: '$tag_campaign' }],
          min: 0,
          decimals: 0,
          custom: stackedBars,
        },
      ],
    },
  ],
};

const blocklists: Dashboard = {
  uid: 'mailscope-blocklists',
  title: 'Mailscope · Blocklists',
  description: 'Sending IPs, ranges and domains on DNS blocklists: what is listed where, since when, and how to get delisted.',
  variables: [
    { name: 'target', label: 'Target', query: 'SHOW TAG VALUES FROM "blacklist_target" WITH KEY = "target"' },
    { name: 'list', label: 'List', query: 'SHOW TAG VALUES FROM "blacklist" WITH KEY = "list"' },
  ],
  rows: [
    {
      row: 'Now',
      panels: [
        countStat(
          'Targets listed',
          'Targets listed on at least one list in their latest run.',
          countLatest('blacklist_target', 'listed_count', '"target"', (v) => `${v} > 0`, targetFilter),
          'red',
        ),
        countStat(
          'Listings',
          'Target and list pairs listed in the latest run.',
          countLatest('blacklist', 'status', '"target", "list"', (v) => `${v} = 'listed'`, targetFilter + listFilter),
          'red',
        ),
        countStat(
          'Lookups that failed',
          'Target and list pairs whose latest lookup failed (timeout, SERVFAIL, refused, a broken list): unknown, not clean.',
          countLatest('blacklist', 'status', '"target", "list"', (v) => `${v} = 'error'`, targetFilter + listFilter),
          'orange',
        ),
        countStat(
          'Unhealthy lists',
          'Lists that failed their RFC 5782 test points in the latest run.',
          countLatest('blacklist_list', 'healthy', '"list"', (v) => `${v} = false`, listFilter),
          'orange',
        ),
        {
          type: 'table',
          title: 'Listings and errors',
          description:
            'Each target on each list, latest run, clean pairs hidden: the return codes and what they mean, the list’s own reason (TXT), when the listing was first seen, and where to ask for delisting.',
          w: 24,
          h: 10,
          queries: [
            {
              query: `SELECT "status", "codes", "meanings", "reason", "listed_since" AS "listed since", "delist_url" AS "delisting", "error_code" AS "error" FROM "blacklist" WHERE $timeFilter${targetFilter}${listFilter} GROUP BY "probe", "target", "list" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { status: { mappings: listingStatus, cell: 'color-background' }, 'listed since': { unit: 'dateTimeAsIso' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
          transformations: [
            {
              id: 'filterByValue',
              options: { type: 'exclude', match: 'any', filters: [{ fieldName: 'status', config: { id: 'equal', options: { value: 'not_listed' } } }] },
            },
          ],
        },
        targetBoard(targetFilter, 24),
      ],
    },
    {
      row: 'Over time',
      panels: [
        {
          type: 'state-timeline',
          title: 'Listed, per target and list',
          description: 'Red while listed, green while not, empty where the lookup failed.',
          w: 24,
          h: 10,
          queries: [
            {
              query: `SELECT last("listed") FROM "blacklist" WHERE $timeFilter${targetFilter}${listFilter} GROUP BY time($__interval), "target", "list" fill(none)`,
              alias: '$tag_target on $tag_list',
            },
          ],
          mappings: { true: { text: 'listed', color: 'red' }, false: { text: 'not listed', color: 'green' } },
          options: { showValue: 'never', mergeValues: true, rowHeight: 0.8 },
        },
        {
          type: 'timeseries',
          title: 'Lists per target',
          description: 'How many lists list each target (measurement blacklist_target).',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT max("listed_count") FROM "blacklist_target" WHERE $timeFilter${targetFilter} GROUP BY time($__interval), "target" fill(none)`, alias: '$tag_target' }],
          min: 0,
          decimals: 0,
        },
        {
          type: 'timeseries',
          title: 'Lookup time by list',
          description: 'Mean time of the A lookups per list: a slow list slows every sweep.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT mean("query_ms") FROM "blacklist" WHERE $timeFilter${listFilter} GROUP BY time($__interval), "list" fill(none)`, alias: '$tag_list' }],
          unit: 'ms',
        },
      ],
    },
    {
      row: 'Lists',
      panels: [
        {
          type: 'table',
          title: 'List health',
          description:
            'Whether each list passed its RFC 5782 test points (127.0.0.2 listed, 127.0.0.1 not) in its latest run. A list failing them is dead or answering everything: its answers are errors.',
          w: 24,
          h: 7,
          queries: [
            { query: `SELECT "healthy", "reason", "test_ms" AS "test time" FROM "blacklist_list" WHERE $timeFilter${listFilter} GROUP BY "probe", "list" ORDER BY time DESC LIMIT 1`, format: 'table' },
          ],
          overrides: {
            healthy: { mappings: { true: { text: 'healthy', color: 'green' }, false: { text: 'broken', color: 'orange' } }, cell: 'color-background' },
            'test time': { unit: 'ms' },
            Time: { unit: 'dateTimeAsIso', width: 170 },
          },
        },
      ],
    },
  ],
};

const dnsAuth: Dashboard = {
  uid: 'mailscope-dns-auth',
  title: 'Mailscope · DNS authentication',
  description: 'SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT and BIMI of the sending domains: what fails, what to change, and what changed.',
  variables: [{ name: 'domain', label: 'Domain', query: 'SHOW TAG VALUES FROM "dns_auth_domain" WITH KEY = "domain"' }],
  rows: [
    {
      row: 'Now',
      panels: [
        domainBoard(domainFilter, 24),
        {
          type: 'table',
          title: 'Checks',
          description: 'Every check of every domain, latest run: its verdict, what is wrong and what to change, the finding codes, and the records seen.',
          w: 24,
          h: 12,
          queries: [
            {
              query: `SELECT "status", "message", "findings", "record" FROM "dns_auth" WHERE $timeFilter${domainFilter} GROUP BY "probe", "domain", "check", "selector", "ip" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { status: { mappings: dnsStatus, cell: 'color-background' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
        recordChanges(domainFilter, 24),
      ],
    },
    {
      row: 'Details',
      panels: [
        {
          type: 'state-timeline',
          title: 'Domain status over time',
          description: 'The worst check of each domain, run by run.',
          w: 24,
          h: 6,
          queries: [{ query: `SELECT max("level") FROM "dns_auth_domain" WHERE $timeFilter${domainFilter} GROUP BY time($__interval), "domain" fill(none)`, alias: '$tag_domain' }],
          mappings: statusLevel,
          options: { showValue: 'auto', mergeValues: true, rowHeight: 0.8 },
        },
        {
          type: 'timeseries',
          title: 'SPF lookups',
          description: 'DNS-querying SPF terms, counted through includes and redirects. Receivers give permerror above 10.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT max("spf_lookups") FROM "dns_auth" WHERE $timeFilter AND "check" = 'spf'${domainFilter} GROUP BY time($__interval), "domain" fill(none)`, alias: '$tag_domain' }],
          min: 0,
          decimals: 0,
          thresholds: [
            ['green', null],
            ['orange', 9],
            ['red', 11],
          ],
          custom: { thresholdsStyle: { mode: 'line+area' } },
        },
        {
          type: 'table',
          title: 'DKIM keys',
          description: 'Each selector’s key, latest run: type, size, testing mode.',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT "status", "dkim_key_type" AS "type", "dkim_key_bits" AS "bits", "dkim_testing" AS "testing" FROM "dns_auth" WHERE $timeFilter AND "check" = 'dkim'${domainFilter} GROUP BY "probe", "domain", "selector" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { status: { mappings: dnsStatus, cell: 'color-background' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
        {
          type: 'table',
          title: 'DMARC policies',
          description: 'The policy that applies to each domain (sp= when inherited from the organizational domain), pct, alignment, and whether aggregate reports are requested.',
          w: 24,
          h: 7,
          queries: [
            {
              query: `SELECT "status", "dmarc_policy" AS "policy", "dmarc_pct" AS "pct", "dmarc_adkim" AS "adkim", "dmarc_aspf" AS "aspf", "dmarc_rua" AS "reports", "dmarc_record_domain" AS "record at" FROM "dns_auth" WHERE $timeFilter AND "check" = 'dmarc'${domainFilter} GROUP BY "probe", "domain" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { status: { mappings: dnsStatus, cell: 'color-background' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
      ],
    },
  ],
};

const probeHealth: Dashboard = {
  uid: 'mailscope-probe-health',
  title: 'Mailscope · Probe health and outbox',
  description: 'Whether every probe can measure, how long runs take, the services they reach, and the outbox toward the time-series database.',
  variables: [{ name: 'probe', label: 'Probe', query: 'SHOW TAG VALUES FROM "probe_run" WITH KEY = "probe"' }],
  rows: [
    {
      row: 'Probes',
      panels: [
        {
          type: 'table',
          title: 'Probes, latest run',
          description: 'Every probe (any kind; measurement probe_run): whether its latest run could measure, how long it took, how many observations it made, and the error code when it failed.',
          w: 24,
          h: 9,
          queries: [
            {
              query: `SELECT "success" AS "run", "duration_ms" AS "duration", "observations", "error_code" AS "error" FROM "probe_run" WHERE $timeFilter${probeFilter} GROUP BY "probe", "kind" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { run: { mappings: runSuccess, cell: 'color-background' }, duration: { unit: 'ms' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
        {
          type: 'state-timeline',
          title: 'Runs',
          description: 'Green when a run measured, red when it could not.',
          w: 24,
          h: 8,
          queries: [{ query: `SELECT last("success") FROM "probe_run" WHERE $timeFilter${probeFilter} GROUP BY time($__interval), "probe" fill(none)`, alias: '$tag_probe' }],
          mappings: runSuccess,
          options: { showValue: 'never', mergeValues: true, rowHeight: 0.8 },
        },
        {
          type: 'timeseries',
          title: 'Run duration',
          description: 'Wall time of the runs, per probe. A run still going at its timeout is recorded as PROBE_TIMEOUT.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT mean("duration_ms") FROM "probe_run" WHERE $timeFilter${probeFilter} GROUP BY time($__interval), "probe" fill(none)`, alias: '$tag_probe' }],
          unit: 'ms',
        },
        {
          type: 'table',
          title: 'Failed runs',
          description: 'The latest runs that could not measure, with their error code (GET /v1/runs has the message).',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT "error_code" AS "error", "duration_ms" AS "duration" FROM "probe_run" WHERE $timeFilter AND "success" = false${probeFilter} GROUP BY "probe", "kind" ORDER BY time DESC LIMIT 20`,
              format: 'table',
            },
          ],
          overrides: { duration: { unit: 'ms' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
          options: { sortBy: [{ displayName: 'Time', desc: true }] },
        },
      ],
    },
    {
      row: 'Services',
      panels: [
        {
          type: 'table',
          title: 'Reachability, latest run',
          description: 'The ports and endpoints of the tcp and http probes: up, down (with why), or error (could not tell).',
          w: 12,
          h: 8,
          queries: [
            {
              query: `SELECT "status", "duration_ms" AS "time", "status_code" AS "http", "reason" FROM "reachability" WHERE $timeFilter${probeFilter} GROUP BY "probe", "target", "protocol" ORDER BY time DESC LIMIT 1`,
              format: 'table',
            },
          ],
          overrides: { status: { mappings: upDown, cell: 'color-background' }, time: { unit: 'ms' }, Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
        {
          type: 'timeseries',
          title: 'Response time',
          description: 'Connect time (tcp) or full response time (http), per target.',
          w: 12,
          h: 8,
          queries: [{ query: `SELECT mean("duration_ms") FROM "reachability" WHERE $timeFilter${probeFilter} GROUP BY time($__interval), "target" fill(none)`, alias: '$tag_target' }],
          unit: 'ms',
        },
      ],
    },
    {
      row: 'Outbox',
      panels: [
        outboxStat('depth', 'Outbox depth', 'Points waiting to be written (probe kind outbox).', 'short', outboxDepthSteps),
        outboxStat('oldest_age_s', 'Oldest point waiting', 'Age of the oldest point still in the outbox.', 's', outboxAgeSteps),
        outboxStat('quarantined', 'Quarantined lines', 'Lines the server refused as malformed: GET /v1/outbox/quarantine.', 'short', countSteps('orange')),
        outboxStat('consecutive_failures', 'Failed writes in a row', 'Writes that failed since the last one that succeeded.', 'short', countSteps('red')),
        {
          type: 'timeseries',
          title: 'Outbox over time',
          description:
            'Depth and the oldest point’s age. Both rise together during an outage and fall once the database is back: the points were kept, not lost. They reach this graph only after they are written.',
          w: 24,
          h: 8,
          queries: [{ query: `SELECT max("depth") AS "depth", max("oldest_age_s") AS "oldest age" FROM "outbox" WHERE $timeFilter GROUP BY time($__interval) fill(none)`, alias: '$col' }],
          overrides: { 'oldest age': { unit: 's' } },
          custom: { axisPlacement: 'auto' },
        },
        {
          type: 'table',
          title: 'Write errors',
          description: 'The last write error seen by the outbox probe while writes were failing (no credentials).',
          w: 24,
          h: 6,
          queries: [
            {
              query: `SELECT "last_error" AS "error", "consecutive_failures" AS "failures in a row", "depth" FROM "outbox" WHERE $timeFilter AND "consecutive_failures" > 0 ORDER BY time DESC LIMIT 10`,
              format: 'table',
            },
          ],
          overrides: { Time: { unit: 'dateTimeAsIso', width: 170 } },
        },
      ],
    },
  ],
};

export const dashboards: Dashboard[] = [overview, traffic, dmarc, placement, blocklists, dnsAuth, probeHealth];

// ── rendering to Grafana's JSON model ───────────────────────────────────────────

const thresholdsOf = (steps: [string, number | null][]) => ({ mode: 'absolute', steps: steps.map(([color, value]) => ({ color, value })) });

const mappingsOf = (mapping: Mapping) => [
  {
    type: 'value',
    options: Object.fromEntries(Object.entries(mapping).map(([value, { text, color }], index) => [value, { text, color, index }])),
  },
];

/** A panel link to each of these dashboards, by uid (it opens with its own time range). */
function linksTo(uids: readonly string[]): { title: string; url: string }[] {
  return uids.map((uid) => {
    const target = dashboards.find((candidate) => candidate.uid === uid);
    if (!target) throw new Error(`a row links to ${uid}: no such dashboard`);
    return { title: target.title, url: `/d/${uid}` };
  });
}

function renderPanel(panel: Panel, id: number, x: number, y: number, links: readonly string[] = []): Record<string, unknown> {
  const custom: Record<string, unknown> =
    panel.type === 'timeseries'
      ? { drawStyle: 'line', lineWidth: 2, fillOpacity: 10, showPoints: 'auto', spanNulls: true, ...panel.custom }
      : panel.type === 'table'
        ? { align: 'auto', filterable: true, ...panel.custom }
        : { ...panel.custom };
  const defaults: Record<string, unknown> = {
    custom,
    color: { mode: panel.thresholds && panel.type === 'stat' ? 'thresholds' : panel.type === 'state-timeline' ? 'fixed' : 'palette-classic' },
    thresholds: thresholdsOf(panel.thresholds ?? [['green', null]]),
    mappings: panel.mappings ? mappingsOf(panel.mappings) : [],
  };
  if (panel.unit) defaults.unit = panel.unit;
  if (panel.min !== undefined) defaults.min = panel.min;
  if (panel.max !== undefined) defaults.max = panel.max;
  if (panel.decimals !== undefined) defaults.decimals = panel.decimals;
  if (panel.noValue) defaults.noValue = panel.noValue;
  const overrides = Object.entries(panel.overrides ?? {}).map(([name, override]) => {
    const properties: { id: string; value: unknown }[] = [];
    if (override.unit) properties.push({ id: 'unit', value: override.unit });
    if (override.mappings) properties.push({ id: 'mappings', value: mappingsOf(override.mappings) });
    if (override.thresholds) properties.push({ id: 'thresholds', value: thresholdsOf(override.thresholds) });
    if (override.cell) properties.push({ id: 'custom.cellOptions', value: { type: override.cell } });
    if (override.width) properties.push({ id: 'custom.width', value: override.width });
    if (override.color) properties.push({ id: 'color', value: { mode: 'fixed', fixedColor: override.color } });
    return { matcher: { id: 'byName', options: name }, properties };
  });
  const options =
    panel.type === 'timeseries'
      ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' }, ...panel.options }
      : panel.type === 'table'
        ? { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, ...panel.options }
        : panel.type === 'state-timeline'
          ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: false }, tooltip: { mode: 'single' }, ...panel.options }
          : { ...panel.options };
  return {
    id,
    type: panel.type,
    title: panel.title,
    description: panel.description,
    gridPos: { h: panel.h, w: panel.w, x, y },
    ...(links.length > 0 ? { links: linksTo(links) } : {}),
    ...(panel.interval ? { interval: panel.interval } : {}),
    ...(panel.timeFrom ? { timeFrom: panel.timeFrom } : {}),
    datasource,
    targets: panel.queries.map((query, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource,
      rawQuery: true,
      query: query.query,
      resultFormat: query.format ?? 'time_series',
      ...(query.alias ? { alias: query.alias } : {}),
    })),
    fieldConfig: { defaults, overrides },
    options,
    ...(panel.transformations ? { transformations: panel.transformations } : {}),
  };
}

export function renderDashboard(dashboard: Dashboard): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of dashboard.rows) {
    panels.push({ id: id++, type: 'row', title: row.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      if (x + panel.w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(renderPanel(panel, id++, x, y, row.links));
      x += panel.w;
      rowHeight = Math.max(rowHeight, panel.h);
    }
    y += rowHeight;
  }
  return {
    uid: dashboard.uid,
    title: dashboard.title,
    description: dashboard.description,
    tags: ['mailscope'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: dashboard.from ?? 'now-24h', to: 'now' },
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [{ title: 'Mailscope', type: 'dashboards', tags: ['mailscope'], asDropdown: true, includeVars: false, keepTime: true, targetBlank: false, icon: 'external link', tooltip: '', url: '' }],
    annotations: {
      list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }],
    },
    templating: {
      list: [
        { name: 'datasource', label: 'InfluxDB', type: 'datasource', query: 'influxdb', current: {}, hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '' },
        ...dashboard.variables.map((variable) => ({
          name: variable.name,
          label: variable.label,
          type: 'query',
          datasource,
          query: variable.query,
          definition: variable.query,
          current: {},
          hide: 0,
          includeAll: true,
          multi: true,
          options: [],
          refresh: 2,
          regex: '',
          sort: 1,
          ...(variable.allValue === undefined ? {} : { allValue: variable.allValue }),
        })),
      ],
    },
    panels,
  };
}

/** File name → content, for every dashboard. */
export function renderDashboardFiles(): Record<string, string> {
  return Object.fromEntries(dashboards.map((dashboard) => [`${dashboard.uid.replace(/^mailscope-/, '')}.json`, `${JSON.stringify(renderDashboard(dashboard), null, 2)}\n`]));
}

export const dashboardsDir = join(import.meta.dirname, '..', 'dashboards');

if (import.meta.main) {
  for (const [name, content] of Object.entries(renderDashboardFiles())) writeFileSync(join(dashboardsDir, name), content);
  process.stdout.write(`dashboards/: ${dashboards.length} dashboards written\n`);
}
