import { catalogOf } from '../probes/dnsbl-config.ts';
import { MailscopeError } from '../core/errors.ts';
import type { InstanceConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { OutboxSnapshot, ProbeServices } from '../probes/define.ts';
import type { DnsClient, DnsClientOptions } from '../protocols/dns/client.ts';
import type { DnsServer } from '../protocols/dns/types.ts';
import type { Database } from '../store/database.ts';
import { outboxStats } from '../store/outbox.ts';
import type { OutboxFlusher } from './outbox-flusher.ts';

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

/**
 * The outbox as the `outbox` probe sees it: the store's counts, and the flusher's
 * failures when one runs in this process (`probe run` from the CLI has none).
 */
export function outboxSnapshotOf(db: Database, clock: Clock, configured: boolean, flusher?: OutboxFlusher): () => OutboxSnapshot {
  return () => {
    if (!flusher) return { configured, ...outboxStats(db, clock.now()), consecutiveFailures: 0 };
    const status = flusher.status();
    return {
      configured: true,
      depth: status.depth,
      oldestAgeMs: status.oldestAgeMs,
      quarantined: status.quarantined,
      consecutiveFailures: status.consecutiveFailures,
      ...(status.consecutiveFailures > 0 && status.lastError ? { lastError: status.lastError.message } : {}),
    };
  };
}

export function probeServicesOf(instance: InstanceConfig, dns: DnsClient, outbox: () => OutboxSnapshot): ProbeServices {
  return { dns, blocklists: catalogOf(instance), outbox };
}
