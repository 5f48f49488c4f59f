import { onTestFinished } from 'vitest';
import type { ProbeServices } from '../../src/probes/define.ts';
import { buildCatalog } from '../../src/probes/dnsbl-lists.ts';
import { DnsClient, type DnsClientOptions } from '../../src/protocols/dns/client.ts';
import type { DnsServer } from '../../src/protocols/dns/types.ts';

/**
 * A resolver that is not there (nothing listens on loopback port 1): where a unit
 * test's DNS goes when the test does not mean to ask anything. A question sent
 * there by mistake comes back an error, never an answer from a lab that happens
 * to be up.
 */
export const noResolver: DnsServer = { host: '127.0.0.1', port: 1 };

/**
 * The services a unit test's probe gets: a DNS client on no resolver (closed after
 * the test; pass `dns` for one on a fakeDns), the built-in catalog, and the outbox
 * of a store that has none. The lab's are in helpers/lab.ts.
 */
export function unitServices(options: Partial<DnsClientOptions> = {}): ProbeServices & { dns: DnsClient } {
  const dns = new DnsClient({ servers: [noResolver], timeoutMs: 1_000, attempts: 2, ...options });
  onTestFinished(() => dns.close());
  return { dns, blocklists: buildCatalog(), outbox: () => ({ configured: false, depth: 0, oldestAgeMs: 0, quarantined: 0, consecutiveFailures: 0 }) };
}
