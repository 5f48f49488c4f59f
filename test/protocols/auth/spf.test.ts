/**
 * The RFC 7208 conformance suite (spf-suite.ts), each scenario's zone served by
 * an in-process DNS server: every test through the SPF evaluation with the
 * suite's own MAIL FROM and HELO, and every test the spf_ip check can express
 * through that check (a DNS failure, which the check reports as an error, counts
 * as temperror).
 */
import type { Answer } from 'dns-packet';
import { describe, expect, it, onTestFinished } from 'vitest';
import { checkSpfIp } from '../../../src/probes/dns-auth-spf.ts';
import { evaluateSpf, type SpfResult } from '../../../src/protocols/auth/spf.ts';
import { DnsClient } from '../../../src/protocols/dns/client.ts';
import { fakeDns, type Query, type Reply } from '../../helpers/dns-server.ts';
import { scenarios, type Rr, type Scenario, type SuiteTest } from './spf-suite.ts';

type Served = Exclude<Rr, { type: 'SPF' } | { type: 'NO_TXT' }>;

/** The zone as the suite's driver serves it: SPF-type records copied to TXT where a name lists no TXT of its own. */
function served(zone: Scenario['zone']): Map<string, Served[]> {
  const names = new Map<string, Served[]>();
  for (const [name, entries] of Object.entries(zone)) {
    const ownTxt = entries.some((entry) => entry.type === 'TXT' || entry.type === 'NO_TXT');
    const kept = entries.filter((entry): entry is Served => entry.type !== 'SPF' && entry.type !== 'NO_TXT');
    const copies: Served[] = ownTxt ? [] : entries.flatMap((entry) => (entry.type === 'SPF' ? [{ type: 'TXT' as const, strings: entry.strings }] : []));
    names.set(name.toLowerCase(), [...kept, ...copies]);
  }
  return names;
}

function toAnswer(name: string, rr: Exclude<Served, { type: 'TIMEOUT' }>): Answer {
  const base = { name, ttl: 60 };
  switch (rr.type) {
    case 'TXT':
      return { ...base, type: 'TXT', data: [...rr.strings] } as Answer;
    case 'MX':
      return { ...base, type: 'MX', data: { preference: rr.preference, exchange: rr.exchange } } as Answer;
    default:
      return { ...base, type: rr.type, data: rr.value } as Answer;
  }
}

/**
 * Answers like a recursive resolver in front of the zone: CNAMEs followed, a CNAME loop is
 * SERVFAIL, and so is the suite's TIMEOUT (what a resolver answers when the authority stays
 * silent), so no test waits out a timeout; the dropped query itself is dns-auth-records.test.ts's.
 */
function resolverFor(zone: Map<string, Served[]>) {
  return (query: Query): Reply => {
    const answers: Answer[] = [];
    const visited = new Set<string>();
    let name = query.name.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const entries = zone.get(name);
      if (!entries) return answers.length > 0 ? { rcode: 'NXDOMAIN', answers } : { rcode: 'NXDOMAIN' };
      const found: Answer[] = [];
      for (const entry of entries) {
        // The suite's TIMEOUT: no answer, unless records of the type asked for came before it.
        if (entry.type === 'TIMEOUT') {
          if (found.length === 0) return { rcode: 'SERVFAIL' };
          break;
        }
        if (entry.type === query.type) found.push(toAnswer(name, entry));
      }
      if (found.length > 0 || query.type === 'CNAME') return { answers: [...answers, ...found] };
      const alias = entries.find((entry) => entry.type === 'CNAME');
      if (alias?.type !== 'CNAME') return { answers };
      visited.add(name);
      answers.push(toAnswer(name, alias));
      name = alias.value.toLowerCase().replace(/\.$/, '');
      if (visited.has(name)) return { rcode: 'SERVFAIL' };
    }
  };
}

async function dnsFor(scenario: Scenario): Promise<DnsClient> {
  const server = await fakeDns(resolverFor(served(scenario.zone)));
  // Patient: the server shares this worker's event loop, on a machine that may be busy.
  const dns = new DnsClient({ servers: [server.server], timeoutMs: 5_000, attempts: 1, cacheEntries: 0 });
  onTestFinished(() => dns.close());
  return dns;
}

const accepted = (test: SuiteTest): SpfResult[] => [test.result].flat();

/** The domain whose policy the test checks: MAIL FROM's, or the HELO name's for the null reverse-path. */
const checkedDomain = (test: SuiteTest): string => (test.mailfrom ? test.mailfrom.slice(test.mailfrom.lastIndexOf('@') + 1) : test.helo);

const allTests = scenarios.flatMap((scenario) => scenario.tests.map((test) => ({ ...test, scenario })));

describe('RFC 7208 conformance: the OpenSPF suite', () => {
  it('has every test of the suite, once', () => {
    expect(allTests).toHaveLength(201);
    expect(new Set(allTests.map((test) => test.id)).size).toBe(201);
  });

  describe.each(scenarios)('$description: evaluated with the suite’s MAIL FROM and HELO', (scenario) => {
    it.each(scenario.tests)('$id', async (test) => {
      const dns = await dnsFor(scenario);
      const evaluation = await evaluateSpf(dns, { ip: test.host, mailFrom: test.mailfrom, helo: test.helo });
      expect(accepted(test), `${test.id}: ${evaluation.reason}`).toContain(evaluation.result);
      if (test.explanation === false) expect(evaluation.explanation).toBeUndefined();
      else if (test.explanationCaseless) expect(evaluation.explanation?.toLowerCase()).toBe(test.explanation?.toLowerCase());
      else if (test.explanation !== undefined) expect(evaluation.explanation).toBe(test.explanation);
    });
  });

  describe.each(scenarios)('$description: through the spf_ip check', (scenario) => {
    const reproducible = scenario.tests.filter((test) => !test.needs);
    it.each(reproducible)('$id', async (test) => {
      const dns = await dnsFor(scenario);
      const checked = await checkSpfIp({ dns }, checkedDomain(test), test.host);
      const result = checked.status === 'error' ? 'temperror' : checked.details.spf_result;
      expect(accepted(test), `${test.id}: ${checked.message}`).toContain(result);
    });
  });

  it.each(allTests.filter((test) => test.needs))('$id cannot go through the spf_ip check: $needs', (test) => {
    // The check asks as postmaster@<domain> with HELO <domain>; these records expand what it does not know.
    const records = Object.values(test.scenario.zone)
      .flat()
      .flatMap((rr) => (rr.type === 'SPF' || rr.type === 'TXT' ? rr.strings : []));
    const macro = test.needs!.includes('%{h}') ? /%\{h/i : /%\{l/i;
    expect(records.some((record) => macro.test(record))).toBe(true);
  });
});
