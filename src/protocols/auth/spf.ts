/**
 * SPF's check_host() (RFC 7208) as receivers run it: mailauth's evaluator in its
 * strict mode (the whole record is validated first, void lookups are counted for
 * the client's address family only, malformed target names do not match), asking
 * our DNS client through the resolver adapter.
 *
 * A DNS failure that RFC 7208 turns into temperror is that result's reason. The
 * failures it tells receivers to step over are kept apart, since they do not
 * make the result unknown in the same way: the explanation lookup (exp=, looked
 * up after the result is decided, and ignored when it fails: 6.2), and the
 * lookups that validate the client's PTR names (a failed lookup makes "ptr" not
 * match, or skips that name: 5.5).
 */
import { spf } from 'mailauth/lib/spf/index.js';
import type { Resolver } from '../dns/types.ts';
import { mailauthResolver, type DnsFailure } from './resolver.ts';

const spfResults = ['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror'] as const;
export type SpfResult = (typeof spfResults)[number];

export interface SpfQuestion {
  /** The connecting client's address (IPv4, IPv6, or IPv4-mapped IPv6). */
  ip: string;
  /** The MAIL FROM address; '' for the null reverse-path, when the HELO identity is checked (RFC 7208 2.4). */
  mailFrom: string;
  /** The HELO/EHLO name the client gave. */
  helo: string;
  signal?: AbortSignal;
  /** DNS-querying terms allowed (RFC 7208 4.6.4: 10); more only to count how far over a record is. */
  maxLookups?: number;
  /** Lookups that may find nothing (RFC 7208 4.6.4: 2). */
  maxVoidLookups?: number;
}

export interface SkippedLookup {
  /** explanation: the exp= text; ptr: validating a PTR name of the client (or the %{p} macro). */
  purpose: 'explanation' | 'ptr';
  failure: DnsFailure;
}

export interface SpfEvaluation {
  result: SpfResult;
  /** Why, in the evaluator's words (for permerror, what is wrong with the record). */
  reason: string;
  /** The domain's explanation for a fail (exp=): third-party text, validated as US-ASCII without control characters. */
  explanation?: string;
  lookups: { count: number; void: number };
  /** The DNS failure behind a temperror result. */
  failure?: DnsFailure;
  /** Lookups that failed and that receivers step over; the result stands without them. */
  skipped: SkippedLookup[];
}

const mta = 'mailscope';

export async function evaluateSpf(dns: Resolver, question: SpfQuestion): Promise<SpfEvaluation> {
  const adapter = mailauthResolver(dns, question.signal);
  const evaluated = await spf({
    sender: question.mailFrom,
    ip: question.ip,
    helo: question.helo,
    mta,
    resolver: adapter.resolve as never,
    strict: true,
    ...(question.maxLookups !== undefined ? { maxResolveCount: question.maxLookups } : {}),
    ...(question.maxVoidLookups !== undefined ? { maxVoidCount: question.maxVoidLookups } : {}),
  });
  const result = evaluated.status.result as SpfResult;
  const failures = adapter.failures();
  const evaluation: SpfEvaluation = {
    result,
    reason: String(evaluated.status.comment ?? '').replace(`${mta}: `, ''),
    lookups: { count: evaluated.lookups?.count ?? 0, void: evaluated.lookups?.void ?? 0 },
    skipped: [],
  };
  if (evaluated.explanation) evaluation.explanation = evaluated.explanation;
  if (result === 'temperror') {
    // The lookup that ended the evaluation is the last to fail: the PTR lookups stepped over before it did not.
    const failure = failures.at(-1);
    if (failure) evaluation.failure = failure;
  } else {
    // In strict mode every failed TXT, MX, A or AAAA lookup of a term (and of an include's or a
    // redirect's record) is temperror; what failed without one is the exp= TXT lookup, or a PTR
    // lookup and the address lookups that validate its names.
    evaluation.skipped = failures.map((failure) => ({ purpose: failure.type === 'TXT' ? 'explanation' : 'ptr', failure }));
  }
  return evaluation;
}
