/**
 * The blocklist sweep, shared by the `blacklist` probe and `mailscope check
 * blacklist`: each list's test points first, then every (target, list) pair that
 * applies, a bounded number at a time.
 */
import type { Resolver } from '../protocols/dns/types.ts';
import { queryPrefix, type DnsblTarget } from './dnsbl-targets.ts';
import { verdictOf, type ListSpec, type Verdict } from './dnsbl-verdict.ts';

export interface ListHealth {
  list: ListSpec;
  healthy: boolean;
  /** Why it is broken; or, when healthy without a check, why there was none. */
  reason?: string;
  ms: number;
}

export interface PairResult {
  target: DnsblTarget;
  list: ListSpec;
  verdict: Verdict;
  /** The list's TXT record(s) for a listing. */
  reason?: string;
  /** Of the A lookup. */
  ms: number;
}

export interface SweepOptions {
  signal?: AbortSignal;
  /** Pairs in progress at once (the DNS client also bounds what is in flight per server). */
  concurrency?: number;
  /** Look up the TXT reason of each listing. */
  txtReasons?: boolean;
  /** Called for each pair as it completes (the sweep then keeps no list of results). */
  onResult?: (result: PairResult) => void;
}

function queryName(prefix: string, list: ListSpec): string {
  return `${prefix}.${list.zone}`;
}

function testPointPrefix(list: ListSpec, point: string): string {
  return list.kind === 'ip' ? point.split('.').reverse().join('.') : point;
}

/** RFC 5782: the listed test point must be listed, the other must not. */
async function checkHealth(dns: Resolver, list: ListSpec, signal?: AbortSignal): Promise<ListHealth> {
  const started = performance.now();
  if (!list.testPoints) return { list, healthy: true, reason: 'the list documents no test points', ms: 0 };
  const { listed, unlisted } = list.testPoints;
  const [yes, no] = await Promise.all([
    dns.query(queryName(testPointPrefix(list, listed), list), 'A', signal ? { signal } : {}),
    dns.query(queryName(testPointPrefix(list, unlisted), list), 'A', signal ? { signal } : {}),
  ]);
  const ms = performance.now() - started;
  const positive = verdictOf(list, yes);
  if (positive.status === 'error') return { list, healthy: false, reason: `test point ${listed}: ${positive.message}`, ms };
  if (positive.status !== 'listed') {
    return { list, healthy: false, reason: `test point ${listed} is not listed: the list is not answering (gone, renamed, or refusing us)`, ms };
  }
  const negative = verdictOf(list, no);
  if (negative.status === 'error') return { list, healthy: false, reason: `test point ${unlisted}: ${negative.message}`, ms };
  if (negative.status === 'listed') {
    return { list, healthy: false, reason: `test point ${unlisted} is listed too: something answers every name (a wildcard, or a resolver rewriting answers)`, ms };
  }
  return { list, healthy: true, ms };
}

export function applies(list: ListSpec, target: DnsblTarget): boolean {
  if (list.kind !== target.kind) return false;
  return target.kind === 'domain' || target.family === 4 || list.ipv6;
}

async function reasonOf(dns: Resolver, name: string, signal?: AbortSignal): Promise<string | undefined> {
  const outcome = await dns.query(name, 'TXT', signal ? { signal } : {});
  if (outcome.status !== 'answer') return undefined;
  return outcome.records.map((record) => (Array.isArray(record.data) ? record.data.join('') : String(record.data))).join(' / ');
}

async function checkPair(dns: Resolver, target: DnsblTarget, prefix: string, list: ListSpec, options: SweepOptions): Promise<PairResult> {
  const name = queryName(prefix, list);
  const outcome = await dns.query(name, 'A', options.signal ? { signal: options.signal } : {});
  const verdict = verdictOf(list, outcome);
  const result: PairResult = { target, list, verdict, ms: outcome.ms };
  if (verdict.status === 'listed' && options.txtReasons !== false) {
    const reason = await reasonOf(dns, name, options.signal);
    if (reason !== undefined) result.reason = reason;
  }
  return result;
}

export interface Sweep {
  health: ListHealth[];
  results: PairResult[];
  pairs: number;
}

/** Every applicable (target, list) pair; a broken list's pairs are errors, without a query. */
export async function sweep(dns: Resolver, targets: readonly DnsblTarget[], lists: readonly ListSpec[], options: SweepOptions = {}): Promise<Sweep> {
  const used = lists.filter((list) => targets.some((target) => applies(list, target)));
  const health = await Promise.all(used.map((list) => checkHealth(dns, list, options.signal)));
  const broken = new Map(health.filter((entry) => !entry.healthy).map((entry) => [entry.list.id, entry.reason ?? '']));
  const results: PairResult[] = [];
  const emit = options.onResult ?? ((result: PairResult) => void results.push(result));

  function* pairs(): Generator<[DnsblTarget, string, ListSpec]> {
    for (const target of targets) {
      const prefix = queryPrefix(target);
      for (const list of used) if (applies(list, target)) yield [target, prefix, list];
    }
  }
  const queue = pairs();
  let count = 0;
  const worker = async () => {
    for (let next = queue.next(); !next.done; next = queue.next()) {
      const [target, prefix, list] = next.value;
      count++;
      const why = broken.get(list.id);
      if (why !== undefined) {
        emit({ target, list, verdict: { status: 'error', code: 'DNSBL_BROKEN', message: `${list.name} failed its test points this run: ${why}`, codes: [] }, ms: 0 });
        continue;
      }
      emit(await checkPair(dns, target, prefix, list, options));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 256 }, worker));
  return { health, results, pairs: count };
}
