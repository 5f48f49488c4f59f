import { onTestFinished } from 'vitest';
import type { ProbeServices } from '../../src/probes/define.ts';
import { buildCatalog } from '../../src/probes/dnsbl-lists.ts';
import { DnsClient, type DnsClientOptions } from '../../src/protocols/dns/client.ts';
import { lab } from '../lab/plan.ts';

/**
 * A DNS client on the lab's resolver (closed after the test), the built-in catalog,
 * and the outbox of a store that has none (the outbox probe's own tests pass a real one).
 */
export function labServices(options: Partial<DnsClientOptions> = {}): ProbeServices & { dns: DnsClient } {
  const dns = new DnsClient({ servers: [lab.resolver], timeoutMs: 1_000, attempts: 2, ...options });
  onTestFinished(() => dns.close());
  return { dns, blocklists: buildCatalog(), outbox: () => ({ configured: false, depth: 0, oldestAgeMs: 0, quarantined: 0, consecutiveFailures: 0 }) };
}
