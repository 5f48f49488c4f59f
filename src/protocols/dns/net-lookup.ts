import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import type { DnsOutcome, Resolver } from './types.ts';

/** A resolution failure as Node's sockets report one: ENOTFOUND for "no such name", EAI_AGAIN when DNS failed. */
function lookupError(hostname: string, outcome: DnsOutcome): NodeJS.ErrnoException {
  const notFound = outcome.status === 'nxdomain' || outcome.status === 'nodata';
  const detail = outcome.status === 'error' ? `${outcome.code}: ${outcome.message}` : outcome.status === 'nxdomain' ? 'NXDOMAIN' : 'no address records';
  const error: NodeJS.ErrnoException = new Error(`${hostname}: ${detail}`);
  error.code = notFound ? 'ENOTFOUND' : 'EAI_AGAIN';
  return error;
}

/**
 * A `lookup` for net.connect and http(s).request that asks our DNS client (its
 * resolvers, cache and limits) instead of libc and /etc/resolv.conf: A first,
 * then AAAA.
 */
export function netLookup(dns: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    const family = isIP(hostname);
    if (family !== 0) {
      if (all) (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: hostname, family }]);
      else callback(null, hostname, family);
      return;
    }
    void (async () => {
      let outcome = await dns.query(hostname, 'A');
      if (outcome.status === 'nodata') outcome = await dns.query(hostname, 'AAAA');
      if (outcome.status !== 'answer') {
        callback(lookupError(hostname, outcome), '', 0);
        return;
      }
      const addresses = outcome.records.map((record) => ({ address: String(record.data), family: outcome.type === 'AAAA' ? 6 : 4 }));
      if (all) (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    })();
  };
}
