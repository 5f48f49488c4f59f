/**
 * dns-auth against an in-process resolver: what happens when DNS cannot answer.
 * The checks of real records are in dns-auth.lab.test.ts (the lab's zones).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CheckContext, CheckResult } from '../../src/probes/dns-auth-check.ts';
import { checkDomain } from '../../src/probes/dns-auth.ts';
import { DnsClient } from '../../src/protocols/dns/client.ts';
import { fakeDns } from '../helpers/dns-server.ts';

/** The lab's sending domain, by name only: this resolver answers SERVFAIL whatever is asked. */
const sender = { domain: 'sender.test' };

/** Every check of a domain, keyed "check" or "check:selector/ip". */
async function checks(domain: string, options: { ips?: string[]; selectors?: string[] }, ctx: CheckContext): Promise<Record<string, CheckResult>> {
  const results = await checkDomain({ domain, ips: options.ips ?? [], selectors: options.selectors ?? [], skip: [] }, ctx);
  return Object.fromEntries(results.map((result) => [[result.check, result.selector ?? result.ip].filter(Boolean).join(':'), result]));
}

describe('dns-auth: unknown is not a failure', () => {
  it('a resolver that answers SERVFAIL makes every check an error, none a fail, and no digest', async () => {
    const broken = await fakeDns(() => ({ rcode: 'SERVFAIL' }));
    const dns = new DnsClient({ servers: [broken.server], timeoutMs: 500, attempts: 1 });
    onTestFinished(() => dns.close());
    const found = await checks(sender.domain, { ips: ['127.0.0.10'], selectors: ['lab2026'] }, { dns });
    for (const [key, result] of Object.entries(found)) {
      expect([key, result.status, result.errorCode, result.digest, result.record], key).toEqual([key, 'error', expect.stringMatching(/^(DNS_SERVFAIL|TARGET_UNRESOLVED)$/), undefined, undefined]);
    }
    expect(found.spf!.message).toMatch(
      /^The TXT lookup of sender\.test failed \(DNS_SERVFAIL: 127\.0\.0\.1:\d+ answered SERVFAIL\), so this could not be checked; it is not known to be wrong\. Check the resolver and the domain's name servers\.$/,
    );
  });
});
