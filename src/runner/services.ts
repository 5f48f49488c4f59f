import { catalogOf } from '../config/blocklists.ts';
import { MailscopeError } from '../core/errors.ts';
import type { InstanceConfig } from '../config/schema.ts';
import type { ProbeServices } from '../probes/define.ts';
import type { DnsClient, DnsClientOptions } from '../protocols/dns/client.ts';
import type { DnsServer } from '../protocols/dns/types.ts';

/** The DNS client's settings from the config: its resolvers, else the given ones (a --resolver flag), else the system's. */
export function dnsOptionsOf(instance: InstanceConfig, system: readonly DnsServer[], override?: readonly DnsServer[]): DnsClientOptions {
  const servers = override?.length ? override : (instance.dns.resolvers ?? system);
  if (servers.length === 0) {
    throw new MailscopeError('CONFIG_INVALID', 'no DNS resolver: the system has none (/etc/resolv.conf); set dns.resolvers or pass --resolver');
  }
  return {
    servers: [...servers],
    timeoutMs: instance.dns.timeout,
    attempts: instance.dns.attempts,
    rateLimit: instance.dns.rateLimit,
    maxInFlight: instance.dns.maxInFlight,
    cacheEntries: instance.dns.cacheEntries,
  };
}

export function probeServicesOf(instance: InstanceConfig, dns: DnsClient): ProbeServices {
  return { dns, blocklists: catalogOf(instance) };
}
