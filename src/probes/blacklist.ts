import { z } from 'zod';
import type { MeasurementSpec } from '../core/measurement.ts';
import type { Observation } from '../core/observation.ts';
import { identifier } from '../core/schema.ts';
import { applies, sweep, type PairResult } from './dnsbl-check.ts';
import { unknownListProblem } from './dnsbl-config.ts';
import { defaultListIds } from './dnsbl-lists.ts';
import { defaultMaxRangeSize, expandTargets, parseTarget } from './dnsbl-targets.ts';
import { defineProbe, ProbeBase, type DefinitionProblem, type ProbeContext, type ProbeLoadContext } from './define.ts';

const configSchema = ProbeBase.extend({
  kind: z.literal('blacklist'),
  targets: z
    .array(z.string())
    .min(1, { message: 'expected at least one IP, CIDR range or domain' })
    .describe('IPv4/IPv6 addresses, CIDR ranges (expanded) and domains, e.g. [203.0.113.0/28, "2001:db8::25", news.example.com]'),
  lists: z
    .array(identifier)
    .min(1)
    .default([...defaultListIds])
    .describe('list ids from the catalog or from blocklists.lists in mailscope.yaml; default: the free public set'),
  maxRangeSize: z.int().min(1).max(65_536).default(defaultMaxRangeSize).describe('largest range expanded, in addresses (4096 = an IPv4 /20)'),
  txtReasons: z.boolean().default(true).describe("look up each listing's TXT reason"),
})
  .strict()
  .superRefine((config, ctx) => {
    config.targets.forEach((target, index) => {
      const parsed = parseTarget(target, config.maxRangeSize, { expand: false });
      if (!parsed.ok) ctx.addIssue({ code: 'custom', path: ['targets', index], message: parsed.problem });
    });
  });

type BlacklistConfig = z.output<typeof configSchema>;

/** The observation of one (target, list) pair. */
export function pairObservation(result: PairResult, time: Date): Observation {
  const { target, list, verdict } = result;
  const fields: Observation['fields'] = { status: verdict.status, query_ms: result.ms };
  if (verdict.status !== 'error') fields.listed = verdict.status === 'listed';
  if (verdict.codes.length > 0) fields.codes = verdict.codes.join(',');
  if (verdict.status !== 'error' && verdict.meanings.length > 0) fields.meanings = verdict.meanings.join('; ');
  if (verdict.status === 'listed' && result.reason) fields.reason = result.reason.slice(0, 2_000);
  if (verdict.status === 'listed' && list.delistUrl) fields.delist_url = list.delistUrl;
  if (verdict.status === 'error') {
    fields.error_code = verdict.code;
    fields.error = verdict.message;
  }
  const tags: Record<string, string> = { target: target.value, target_kind: target.kind, list: list.id };
  if (target.range) tags.range = target.range;
  return { measurement: 'blacklist', tags, fields, time };
}

async function run(config: BlacklistConfig, ctx: ProbeContext): Promise<Observation[]> {
  const lists = config.lists.map((id) => {
    const list = ctx.blocklists.get(id);
    // The config loader checked every id against the catalog; a miss here is a bug.
    if (!list) throw new Error(`list "${id}" is not in the catalog`);
    return list;
  });
  const { targets, problems } = expandTargets(config.targets, config.maxRangeSize);
  // The config schema checked every target; a problem here is a bug.
  if (problems.length > 0) throw new Error(problems.join('; '));
  const time = ctx.clock.now();
  const observations: Observation[] = [];
  const summaries = new Map(targets.map((target) => [target.value, { target, checked: 0, listed: [] as string[], errors: 0 }]));
  const result = await sweep(ctx.dns, targets, lists, {
    signal: ctx.signal,
    txtReasons: config.txtReasons,
    onResult: (pair) => {
      observations.push(pairObservation(pair, time));
      const summary = summaries.get(pair.target.value)!;
      summary.checked++;
      if (pair.verdict.status === 'listed') summary.listed.push(pair.list.id);
      if (pair.verdict.status === 'error') summary.errors++;
    },
  });
  if (ctx.signal.aborted) throw ctx.signal.reason;
  for (const health of result.health) {
    observations.push({
      measurement: 'blacklist_list',
      tags: { list: health.list.id },
      fields: { healthy: health.healthy, test_ms: health.ms, ...(health.healthy ? {} : { reason: health.reason ?? '' }) },
      time,
    });
  }
  for (const summary of summaries.values()) {
    observations.push({
      measurement: 'blacklist_target',
      tags: { target: summary.target.value, target_kind: summary.target.kind, ...(summary.target.range ? { range: summary.target.range } : {}) },
      fields: { lists_checked: summary.checked, listed_count: summary.listed.length, error_count: summary.errors, listed_on: summary.listed.join(',') },
      time,
    });
  }
  return observations;
}

/**
 * Checked at load, like every reference: each list exists in the catalog (built
 * in, DQS with its key, or the user's own), and the sweep fits in the timeout at
 * the configured DNS rate limit.
 */
function checkAtLoad(config: BlacklistConfig, context: ProbeLoadContext): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const unknown: string[] = [];
  config.lists.forEach((id, position) => {
    const problem = unknownListProblem(id, context.blocklists);
    if (problem) {
      problems.push({ path: ['lists', position], message: problem });
      unknown.push(id);
    }
  });
  const rate = context.dnsRateLimit;
  if (unknown.length > 0 || rate === 0) return problems;
  const lists = config.lists.map((id) => context.blocklists.get(id)!);
  const { targets } = expandTargets(config.targets, config.maxRangeSize);
  const pairs = targets.reduce((sum, target) => sum + lists.filter((list) => applies(list, target)).length, 0);
  // Two test points per list, then one query per pair: the least the sweep asks.
  const seconds = (pairs + 2 * lists.length) / rate;
  if (seconds * 1000 > config.timeout) {
    problems.push({
      path: ['timeout'],
      message: `${pairs} (target, list) lookups need at least ${Math.ceil(seconds)} s at dns.rateLimit ${rate}/s, more than the timeout of ${config.timeout} ms: raise timeout or dns.rateLimit`,
    });
  }
  return problems;
}

/** What a sweep writes: one point per (target, list), per target and per list. */
const measurements = {
  blacklist: {
    description: 'One target on one DNS blocklist: listed, not listed, or an error (never a guess).',
    tags: {
      target: 'the IP address or domain looked up',
      target_kind: 'ip | domain',
      list: 'list id (spamhaus-zen, spamcop, or your own)',
      range: 'the configured CIDR range the address belongs to, when it came from one',
    },
    fields: {
      status: { type: 'string', description: 'listed | not_listed | error' },
      listed: { type: 'boolean', description: 'absent when status is error: unknown is not clean' },
      codes: { type: 'string', description: 'the answer addresses, comma-separated (127.0.0.2,127.0.0.4)' },
      meanings: { type: 'string', description: "what the codes mean, from the list's catalog entry" },
      reason: { type: 'string', description: "the list's TXT record for the listing" },
      delist_url: { type: 'string', description: 'where to ask for delisting' },
      listed_since: { type: 'integer', unit: 'ms', description: 'when this listing was first seen (ms since the epoch); present while listed' },
      query_ms: { type: 'float', unit: 'ms', description: 'time of the A lookup' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error (DNS_TIMEOUT, DNSBL_REFUSED, DNSBL_BROKEN, ...)' },
      error: { type: 'string', description: 'the error in words' },
    },
    since: { when: 'listed', field: 'listed_since' },
  },
  blacklist_target: {
    description: 'Per target and run: how many lists were checked, list it, or could not answer.',
    tags: { target: 'the IP address or domain', target_kind: 'ip | domain', range: 'the configured CIDR range, when it came from one' },
    fields: {
      lists_checked: { type: 'integer', description: 'lists that apply to the target' },
      listed_count: { type: 'integer', description: 'lists that list it' },
      error_count: { type: 'integer', description: 'lists that could not answer' },
      listed_on: { type: 'string', description: 'ids of the lists that list it, comma-separated' },
    },
  },
  blacklist_list: {
    description: "Per list and run: whether it passed its RFC 5782 test points (a broken list's answers are errors that run).",
    tags: { list: 'list id' },
    fields: {
      healthy: { type: 'boolean', description: 'the listed test point is listed and the other is not' },
      reason: { type: 'string', description: 'why it is broken' },
      test_ms: { type: 'float', unit: 'ms', description: 'time of the test-point lookups' },
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

/** Is any sending IP, range or domain on a blocklist? One observation per (target, list), a summary per target. */
export const blacklist = defineProbe({
  kind: 'blacklist',
  description: 'Looks up IPs, CIDR ranges and domains on DNS blocklists, each list health-checked with its test points every run.',
  configSchema,
  measurements,
  checkAtLoad,
  sendingAddresses: (config) => expandTargets(config.targets, config.maxRangeSize).targets.flatMap((target) => (target.kind === 'ip' ? [target.value] : [])),
  run,
});
