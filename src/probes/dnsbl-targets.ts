/**
 * What a blocklist check looks up: IPv4 and IPv6 addresses (and CIDR ranges of
 * them, expanded) on IP lists, domains on domain lists; and the name each is
 * queried under (RFC 5782).
 */
import ipaddr from 'ipaddr.js';
import { parse as parseDomain } from 'tldts';

export interface DnsblTarget {
  /** The address or domain, canonical (IPv6 compressed, lower-case). */
  value: string;
  kind: 'ip' | 'domain';
  family?: 4 | 6;
  /** The configured range this address came from, when it came from one. */
  range?: string;
}

/** The default largest range expanded: an IPv4 /20. */
export const defaultMaxRangeSize = 4096;

export type TargetParse = { ok: true; targets: DnsblTarget[] } | { ok: false; problem: string };

const expected = 'expected an IPv4 or IPv6 address, a CIDR range (e.g. 203.0.113.0/24) or a domain name';

function isDomain(text: string): boolean {
  const parsed = parseDomain(text, { allowPrivateDomains: true });
  return !parsed.isIp && parsed.hostname === text && text.includes('.') && text.length <= 253 && text.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label));
}

/** One configured target → the addresses or domain it stands for, or why it is not one. `expand: false` only validates. */
export function parseTarget(input: string, maxRangeSize = defaultMaxRangeSize, options: { expand?: boolean } = {}): TargetParse {
  const text = input.trim().toLowerCase().replace(/\.$/, '');
  if (text.includes('/')) {
    let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      range = ipaddr.parseCIDR(text);
    } catch {
      return { ok: false, problem: `"${input}" is not a CIDR range (${expected})` };
    }
    const [network, prefix] = range;
    const bits = network.kind() === 'ipv4' ? 32 : 128;
    const size = 2 ** (bits - prefix);
    if (size > maxRangeSize) {
      const widest = bits - Math.floor(Math.log2(maxRangeSize));
      return { ok: false, problem: `"${input}" has ${size.toLocaleString('en')} addresses, more than the maximum of ${maxRangeSize} (a /${widest}); split it or raise maxRangeSize` };
    }
    const bytes = network.toByteArray();
    // The network address itself, whatever host bits the input carried.
    for (let bit = prefix; bit < bits; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
    const canonical = `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
    if (options.expand === false) return { ok: true, targets: [] };
    const targets: DnsblTarget[] = [];
    for (let i = 0; i < size; i++) {
      const address = ipaddr.fromByteArray(addToBytes(bytes, i));
      targets.push({ value: address.toString(), kind: 'ip', family: address.kind() === 'ipv4' ? 4 : 6, range: canonical });
    }
    return { ok: true, targets };
  }
  if (ipaddr.isValid(text)) {
    let address = ipaddr.parse(text);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
    if (address.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(text) && !text.startsWith('::')) {
      return { ok: false, problem: `"${input}" is not an address in dotted-quad form (${expected})` };
    }
    return { ok: true, targets: [{ value: address.toString(), kind: 'ip', family: address.kind() === 'ipv4' ? 4 : 6 }] };
  }
  if (isDomain(text)) return { ok: true, targets: [{ value: text, kind: 'domain' }] };
  return { ok: false, problem: `"${input}" is not a target (${expected})` };
}

function addToBytes(base: number[], offset: number): number[] {
  const bytes = [...base];
  let carry = offset;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const sum = bytes[i]! + (carry & 0xff);
    bytes[i] = sum & 0xff;
    carry = (carry >>> 8) + (sum >> 8);
  }
  return bytes;
}

/** Every configured target expanded, each address or domain once; or every problem with them. */
export function expandTargets(inputs: readonly string[], maxRangeSize = defaultMaxRangeSize): { targets: DnsblTarget[]; problems: string[] } {
  const seen = new Set<string>();
  const targets: DnsblTarget[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const parsed = parseTarget(input, maxRangeSize);
    if (!parsed.ok) {
      problems.push(parsed.problem);
      continue;
    }
    for (const target of parsed.targets) {
      if (seen.has(target.value)) continue;
      seen.add(target.value);
      targets.push(target);
    }
  }
  return { targets, problems };
}

/** RFC 5782: reversed octets for IPv4, 32 reversed nibbles for IPv6, the domain itself. */
export function queryPrefix(target: DnsblTarget): string {
  if (target.kind === 'domain') return target.value;
  // Targets hold canonical dotted quads: no parsing needed to reverse one.
  if (target.family === 4) return target.value.split('.').reverse().join('.');
  const bytes = ipaddr.parse(target.value).toByteArray();
  return bytes
    .flatMap((byte) => [byte >> 4, byte & 15])
    .reverse()
    .map((nibble) => nibble.toString(16))
    .join('.');
}
