import { applies } from '../probes/dnsbl-check.ts';
import { buildCatalog, keyedListIds, rfc5782TestPoints, type ListCatalog } from '../probes/dnsbl-lists.ts';
import { expandTargets } from '../probes/dnsbl-targets.ts';
import type { ListSpec } from '../probes/dnsbl-verdict.ts';
import type { ProbeDefinition } from '../probes/index.ts';
import type { ConfigProblem } from './issues.ts';
import type { CustomListConfig, InstanceConfig } from './schema.ts';

function toListSpec(list: CustomListConfig): ListSpec {
  const errors = Object.fromEntries(Object.entries(list.errors ?? {}).map(([answer, meaning]) => [answer, { code: 'DNSBL_ERROR_ANSWER' as const, meaning }]));
  return {
    id: list.id,
    name: list.name ?? list.id,
    zone: list.zone.toLowerCase(),
    kind: list.kind,
    ipv6: list.ipv6,
    ...(list.codes ? { codes: list.codes } : {}),
    ...(list.bitmask ? { bitmask: Object.fromEntries(Object.entries(list.bitmask).map(([bit, meaning]) => [Number(bit), meaning])) } : {}),
    ...(list.errors ? { errors } : {}),
    testPoints: list.testPoints === false ? null : (list.testPoints ?? rfc5782TestPoints[list.kind]),
    ...(list.delistUrl ? { delistUrl: list.delistUrl } : {}),
    ...(list.terms ? { terms: list.terms } : {}),
  };
}

/** The lists in effect for this configuration. */
export function catalogOf(instance: InstanceConfig): ListCatalog {
  return buildCatalog({
    custom: instance.blocklists.lists.map(toListSpec),
    ...(instance.blocklists.spamhausDqsKey ? { spamhausDqsKey: instance.blocklists.spamhausDqsKey.reveal() } : {}),
  });
}

/** The names a person may use, for "expected one of" messages. */
export function listChoices(catalog: ListCatalog): string {
  return [...catalog.keys()].sort().join(', ');
}

/** A list name that is neither built in nor configured; or a keyed list without its key. */
export function unknownListProblem(id: string, catalog: ListCatalog): string | undefined {
  if (catalog.has(id)) return undefined;
  if (keyedListIds.includes(id)) return `list "${id}" needs blocklists.spamhausDqsKey in the instance configuration`;
  return `unknown list "${id}" (expected one of: ${listChoices(catalog)})`;
}

/**
 * Every blacklist probe's lists exist in the catalog (checked at load, like every
 * reference), and its sweep fits in its timeout at the configured DNS rate limit.
 * (The loaded probes' shape is spelled out: importing it from load.ts, which calls this, was an import cycle.)
 */
export function checkBlacklistProbes(instance: InstanceConfig, probes: readonly { definition: ProbeDefinition; file: string; index: number }[]): ConfigProblem[] {
  const catalog = catalogOf(instance);
  const problems: ConfigProblem[] = [];
  for (const { definition, file, index } of probes) {
    if (definition.kind !== 'blacklist') continue;
    const unknown: string[] = [];
    definition.lists.forEach((id, position) => {
      const problem = unknownListProblem(id, catalog);
      if (problem) {
        problems.push({ file, path: ['probes', index, 'lists', position], message: problem });
        unknown.push(id);
      }
    });
    const rate = instance.dns.rateLimit;
    if (unknown.length > 0 || rate === 0) continue;
    const lists = definition.lists.map((id) => catalog.get(id)!);
    const { targets } = expandTargets(definition.targets, definition.maxRangeSize);
    const pairs = targets.reduce((sum, target) => sum + lists.filter((list) => applies(list, target)).length, 0);
    // Two test points per list, then one query per pair: the least the sweep asks.
    const seconds = (pairs + 2 * lists.length) / rate;
    if (seconds * 1000 > definition.timeout) {
      problems.push({
        file,
        path: ['probes', index, 'timeout'],
        message: `${pairs} (target, list) lookups need at least ${Math.ceil(seconds)} s at dns.rateLimit ${rate}/s, more than the timeout of ${definition.timeout} ms: raise timeout or dns.rateLimit`,
      });
    }
  }
  return problems;
}
