import { onTestFinished } from 'vitest';
import type { ProbeServices } from '../../src/probes/define.ts';
import { buildCatalog } from '../../src/probes/dnsbl-lists.ts';
import { DnsClient, type DnsClientOptions } from '../../src/protocols/dns/client.ts';
import { lab } from '../lab/plan.ts';

/** A DNS client on the lab's resolver (closed after the test) and the built-in catalog. */
export function labServices(options: Partial<DnsClientOptions> = {}): ProbeServices & { dns: DnsClient } {
  const dns = new DnsClient({ servers: [lab.resolver], timeoutMs: 1_000, attempts: 2, ...options });
  onTestFinished(() => dns.close());
  return { dns, blocklists: buildCatalog() };
}
