/**
 * The helpers of the lab tier (*.lab.test.ts): the same as the unit tier's, on the
 * lab's resolver. A unit test never imports this file (test/tiers.test.ts checks).
 */
import { onTestFinished } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import type { ProbeContext, ProbeServices } from '../../src/probes/define.ts';
import { buildCatalog } from '../../src/probes/dnsbl-lists.ts';
import { DnsClient, type DnsClientOptions } from '../../src/protocols/dns/client.ts';
import { lab } from '../lab/plan.ts';
import { cli as unitCli, type CliResult } from './cli.ts';
import { captureLog } from './log.ts';

/**
 * A DNS client on the lab's resolver (closed after the test), the built-in catalog,
 * and the outbox of a store that has none (the outbox probe's own tests pass a real one).
 */
export function labServices(options: Partial<DnsClientOptions> = {}): ProbeServices & { dns: DnsClient } {
  const dns = new DnsClient({ servers: [lab.resolver], timeoutMs: 1_000, attempts: 2, ...options });
  onTestFinished(() => dns.close());
  return { dns, blocklists: buildCatalog(), outbox: () => ({ configured: false, depth: 0, oldestAgeMs: 0, quarantined: 0, consecutiveFailures: 0 }) };
}

/**
 * A probe's context against the lab: the system clock (the lab's servers keep real
 * time: a Received header, an IMAP INTERNALDATE or SINCE is read against the probe's
 * clock, and a wait ends on it), a captured log, the lab's DNS, the built-in lists.
 */
export function probeContext(signal: AbortSignal = new AbortController().signal, services: Partial<ProbeContext> = {}): ProbeContext {
  return { ...labServices(), clock: systemClock, log: captureLog().log, signal, ...services };
}

/** The CLI in this process (helpers/cli.ts) with the lab's resolver as the system's. */
export function cli(argv: string[], options: Parameters<typeof unitCli>[1]): Promise<CliResult> {
  return unitCli(argv, { systemResolvers: [lab.resolver], ...options });
}
