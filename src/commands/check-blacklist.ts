/**
 * `mailscope check blacklist <ip|cidr|domain>...`: the blocklist sweep by hand or
 * in a script. Exit 0 nothing listed, 1 something listed, 3 nothing listed but
 * some lookups failed (unknown is not clean), 2 bad input (nothing sent).
 */
import { InvalidArgumentError } from 'commander';
import type { InstanceConfig } from '../config/schema.ts';
import { pairObservation } from '../probes/blacklist.ts';
import { sweep, type PairResult } from '../probes/dnsbl-check.ts';
import { catalogOf, listChoices } from '../probes/dnsbl-config.ts';
import type { Resolver } from '../protocols/dns/types.ts';
import { defaultListIds, keyedListIds, rfc5782TestPoints } from '../probes/dnsbl-lists.ts';
import { defaultMaxRangeSize, expandTargets, type DnsblTarget } from '../probes/dnsbl-targets.ts';
import type { ListSpec } from '../probes/dnsbl-verdict.ts';
import { exitCodes, ExitError, type CommandContext } from './context.ts';

export interface CheckBlacklistInput {
  targets: string[];
  lists: string[];
  json: boolean;
  maxRangeSize?: number;
}

export type Resolved = { ok: true; targets: DnsblTarget[]; lists: ListSpec[] } | { ok: false; problems: string[] };

function adHocList(zone: string, kind: 'ip' | 'domain'): ListSpec {
  return {
    id: zone,
    name: zone,
    zone,
    kind,
    ipv6: kind === 'ip',
    testPoints: rfc5782TestPoints[kind],
  };
}

/** Targets and lists from the command line, or every problem with them: before a single query. */
function resolveInput(input: CheckBlacklistInput, instance: InstanceConfig): Resolved {
  const { targets, problems } = expandTargets(input.targets, input.maxRangeSize ?? defaultMaxRangeSize);
  if (input.targets.length === 0) problems.push('give at least one IP, CIDR range or domain to check');
  const catalog = catalogOf(instance);
  const lists: ListSpec[] = [];
  for (const id of input.lists.length > 0 ? input.lists : defaultListIds) {
    const known = catalog.get(id.toLowerCase());
    if (known) lists.push(known);
    else if (keyedListIds.includes(id)) problems.push(`list "${id}" needs blocklists.spamhausDqsKey in the configuration (--config FILE)`);
    else if (/^([a-z0-9_-]+\.)+[a-z0-9_-]+$/i.test(id)) lists.push(adHocList(id.toLowerCase(), 'ip'), adHocList(id.toLowerCase(), 'domain'));
    else problems.push(`unknown list "${id}" (expected one of: ${listChoices(catalog)}; or a DNSBL zone such as bl.example.net)`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, targets, lists };
}

function detail(result: PairResult): string {
  const { verdict } = result;
  if (verdict.status === 'error') return `${verdict.code}: ${verdict.message}`;
  if (verdict.status === 'not_listed') return verdict.meanings.join('; ');
  return [`${verdict.codes.join(',')} ${verdict.meanings.join('; ')}`, result.reason ? `"${result.reason}"` : '', result.list.delistUrl ? `delist: ${result.list.delistUrl}` : '']
    .filter(Boolean)
    .join('  ');
}

const statusText = { listed: 'LISTED', not_listed: 'not listed', error: 'ERROR' } as const;

async function checkBlacklist(dns: Resolver, resolved: Extract<Resolved, { ok: true }>, options: { json: boolean; now: () => Date; write: (line: string) => void }): Promise<number> {
  const results: PairResult[] = [];
  const done = await sweep(dns, resolved.targets, resolved.lists, { onResult: (result) => results.push(result) });
  // The order given on the command line, not the order answers came back in.
  const targetOrder = new Map(resolved.targets.map((target, index) => [target.value, index]));
  const listOrder = new Map(resolved.lists.map((list, index) => [list, index]));
  results.sort((a, b) => targetOrder.get(a.target.value)! - targetOrder.get(b.target.value)! || listOrder.get(a.list)! - listOrder.get(b.list)!);

  if (options.json) {
    for (const result of results) {
      const observation = pairObservation(result, options.now());
      options.write(JSON.stringify({ ...observation.tags, ...observation.fields }));
    }
  } else if (results.length === 0) {
    options.write('no list applies to these targets (IP lists take addresses, domain lists take domains)');
  } else {
    const rows = [['TARGET', 'LIST', 'STATUS', 'DETAIL'], ...results.map((result) => [result.target.value, result.list.id, statusText[result.verdict.status], detail(result)])];
    const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows)
      options.write(
        row
          .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell))
          .join('  ')
          .trimEnd(),
      );
    const listed = results.filter((result) => result.verdict.status === 'listed').length;
    const errors = results.filter((result) => result.verdict.status === 'error').length;
    const broken = done.health.filter((health) => !health.healthy).map((health) => `${health.list.id} failed its test points: ${health.reason}`);
    options.write('');
    options.write(`${done.pairs} checks: ${listed} listed, ${errors} errors, ${done.pairs - listed - errors} not listed`);
    for (const line of broken) options.write(line);
  }
  if (results.some((result) => result.verdict.status === 'listed')) return 1;
  if (results.some((result) => result.verdict.status === 'error')) return 3;
  return 0;
}

/** `--max-range`: how many addresses a CIDR range may expand to. */
export function parseMaxRange(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65_536) throw new InvalidArgumentError(`"${value}" is not a number of addresses from 1 to 65536`);
  return parsed;
}

/** The command: the input checked (exit 2 with every problem, nothing sent), then the sweep printed; exit as `checkBlacklist` says. */
export async function checkBlacklistCommand(ctx: CommandContext, targets: string[], options: { list?: string[]; json?: boolean; maxRange?: number }): Promise<void> {
  const instance = ctx.instanceIfPresent();
  const resolved = resolveInput({ targets, lists: options.list ?? [], json: Boolean(options.json), ...(options.maxRange ? { maxRangeSize: options.maxRange } : {}) }, instance);
  if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
  const dns = ctx.dns(instance);
  try {
    const code = await checkBlacklist(dns, resolved, { json: Boolean(options.json), now: () => ctx.host.clock.now(), write: ctx.out });
    if (code !== 0) throw new ExitError(code, '');
  } finally {
    dns.close();
  }
}
