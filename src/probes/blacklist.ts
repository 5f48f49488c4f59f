import { z } from 'zod';
import type { Observation } from '../core/observation.ts';
import { identifier } from '../core/schema.ts';
import { sweep, type PairResult } from './dnsbl-check.ts';
import { defaultListIds } from './dnsbl-lists.ts';
import { defaultMaxRangeSize, expandTargets, parseTarget } from './dnsbl-targets.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';

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

/** Is any sending IP, range or domain on a blocklist? One observation per (target, list), a summary per target. */
export const blacklist = defineProbe({
  kind: 'blacklist',
  description: 'Looks up IPs, CIDR ranges and domains on DNS blocklists, each list health-checked with its test points every run.',
  configSchema,
  run,
});
