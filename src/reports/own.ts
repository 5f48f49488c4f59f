/**
 * Which source IPs are the platform's own: the addresses its blacklist probes
 * watch (each probe kind says which of its targets are sending addresses) and
 * the IPs its traffic sources counted deliveries from (kept in the store,
 * read again every few minutes).
 */
import type { Clock } from '../core/clock.ts';
import { findProbeKind } from '../probes/index.ts';
import type { Database } from '../store/database.ts';

const refreshMs = 300_000;

export function ownAddressesOf(probes: readonly { definition: { kind: string } }[], db: Database, clock: Clock): (ip: string) => boolean {
  const configured = new Set<string>();
  for (const { definition } of probes) {
    const kind = findProbeKind(definition.kind);
    for (const address of kind?.sendingAddresses?.(definition as never) ?? []) configured.add(address.toLowerCase());
  }
  let counted = new Set<string>();
  let readAt = Number.NEGATIVE_INFINITY;
  return (ip) => {
    const address = ip.toLowerCase();
    if (configured.has(address)) return true;
    const now = clock.now().getTime();
    if (now - readAt > refreshMs) {
      readAt = now;
      counted = new Set((db.statement("SELECT DISTINCT ip FROM traffic_minutes WHERE ip <> ''").all() as { ip: string }[]).map((row) => row.ip.toLowerCase()));
    }
    return counted.has(address);
  };
}
