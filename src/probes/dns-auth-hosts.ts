/**
 * The domain's hosts: MX (and each MX host's addresses), the domain's own A/AAAA,
 * and for each sending IP its PTR and forward-confirmed reverse DNS (FCrDNS),
 * which Gmail requires of every sender.
 */
import ipaddr from 'ipaddr.js';
import { reverseName, sameAddress } from '../protocols/dns/addresses.ts';
import type { DnsRecord } from '../protocols/dns/types.ts';
import { dnsErrorFinding, lookup, plural, result, sortedLines, type CheckContext, type CheckResult, type Finding, type Lookup } from './dns-auth-check.ts';

type Addresses = { records: DnsRecord[]; error?: Finding };

/** A and AAAA of a name; an error when either lookup failed. */
async function addressesOf(ctx: CheckContext, name: string): Promise<Addresses> {
  const [v4, v6] = await Promise.all([lookup(ctx, name, 'A'), lookup(ctx, name, 'AAAA')]);
  const failed = (
    [
      [v4, 'A'],
      [v6, 'AAAA'],
    ] as const
  ).find(([found]) => found.kind === 'error');
  if (failed) return { records: [], error: dnsErrorFinding(name, failed[1], failed[0] as Extract<Lookup, { kind: 'error' }>) };
  return { records: [...(v4.kind === 'records' ? v4.records : []), ...(v6.kind === 'records' ? v6.records : [])] };
}

export async function checkMx(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'mx' as const, domain };
  const found = await lookup(ctx, domain, 'MX');
  if (found.kind === 'error') return result(subject, { findings: [dnsErrorFinding(domain, 'MX', found)], lines: undefined, summary: '' });
  if (found.kind === 'none') {
    return result(subject, {
      findings: [
        found.nxdomain
          ? {
              code: 'DOMAIN_NOT_FOUND',
              level: 'fail',
              message: `${domain} does not exist in DNS (NXDOMAIN): receivers reject mail from a sender domain that does not resolve. Check the spelling, or publish the domain.`,
            }
          : {
              code: 'MX_MISSING',
              level: 'warn',
              message: `${domain} has no MX record: bounces and replies to it cannot be delivered, and some receivers distrust sender domains that cannot receive mail. Publish an MX for it.`,
            },
      ],
      lines: [],
      summary: '',
    });
  }
  const exchanges = found.records.map((record) => (record.data as { exchange: string }).exchange.replace(/\.$/, '').toLowerCase());
  const lines = sortedLines(found.records);
  if (exchanges.length === 1 && exchanges[0] === '') {
    return result(subject, {
      findings: [
        {
          code: 'MX_NULL',
          level: 'warn',
          message: `${domain} publishes a null MX (RFC 7505): it accepts no mail, so bounces and replies to it are refused. Use a sender domain that can receive bounces, or publish a real MX.`,
        },
      ],
      lines,
      summary: '',
    });
  }
  const findings: Finding[] = [];
  const hosts = [...new Set(exchanges.filter(Boolean))];
  const addressed = await Promise.all(hosts.map(async (host) => ({ host, ...(await addressesOf(ctx, host)) })));
  for (const { host, records, error } of addressed) {
    if (error) findings.push(error);
    else if (records.length === 0) {
      findings.push({
        code: 'MX_HOST_UNRESOLVED',
        level: 'fail',
        message: `The MX host ${host} has no A or AAAA record: mail to ${domain} cannot be delivered there. Publish its address, or remove it from the MX records.`,
      });
    }
    lines.push(...sortedLines(records));
  }
  return result(subject, {
    findings,
    lines,
    summary: `${plural(hosts.length, 'MX host')}, all with addresses: ${hosts.join(', ')}.`,
    details: { mx_hosts: hosts.length },
  });
}

export async function checkAddress(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'address' as const, domain };
  const { records, error } = await addressesOf(ctx, domain);
  if (error) return result(subject, { findings: [error], lines: undefined, summary: '' });
  const shown = records.map((record) => `${record.type} ${String(record.data)}`).join(', ');
  return result(subject, {
    findings: [],
    lines: sortedLines(records),
    summary: records.length > 0 ? `${domain} has ${shown}.` : `${domain} has no A or AAAA record (not needed to send mail).`,
    details: { addresses: records.length },
  });
}

export async function checkPtr(ctx: CheckContext, domain: string, ip: string): Promise<CheckResult> {
  const subject = { check: 'ptr' as const, domain, ip };
  const name = reverseName(ip);
  const found = await lookup(ctx, name, 'PTR');
  if (found.kind === 'error') return result(subject, { findings: [dnsErrorFinding(name, 'PTR', found)], lines: undefined, summary: '' });
  if (found.kind === 'none') {
    return result(subject, {
      findings: [
        {
          code: 'PTR_MISSING',
          level: 'fail',
          message: `${ip} has no PTR record: Gmail and other providers reject or junk mail from IPs without reverse DNS. Ask whoever owns ${ip} to set its PTR to a name (e.g. mta1.${domain}) whose A record is ${ip}.`,
        },
      ],
      lines: [],
      summary: '',
    });
  }
  const lines = sortedLines(found.records);
  const family = ipaddr.parse(ip).kind() === 'ipv4' ? 'A' : 'AAAA';
  const names = [...new Set(found.records.map((record) => String(record.data).replace(/\.$/, '').toLowerCase()))];
  const findings: Finding[] = [];
  const forward = await Promise.all(names.map(async (host) => ({ host, found: await lookup(ctx, host, family) })));
  let confirmedBy: string | undefined;
  const seen: string[] = [];
  for (const { host, found: answer } of forward) {
    if (answer.kind === 'error') {
      findings.push(dnsErrorFinding(host, family, answer));
      continue;
    }
    const records = answer.kind === 'records' ? answer.records : [];
    lines.push(...sortedLines(records));
    const addresses = records.map((record) => String(record.data));
    seen.push(`${host} → ${addresses.length > 0 ? addresses.join(', ') : 'no address'}`);
    if (!confirmedBy && addresses.some((address) => sameAddress(address, ip))) confirmedBy = host;
  }
  if (!confirmedBy && !findings.some((finding) => finding.level === 'error')) {
    findings.push({
      code: 'PTR_NOT_CONFIRMED',
      level: 'fail',
      message: `The reverse DNS of ${ip} does not confirm: its PTR names ${seen.join('; ')}, not back to ${ip}. Receivers treat that like no reverse DNS. Publish "${names[0]} ${family} ${ip}", or point the PTR at a name that resolves to ${ip}.`,
    });
  }
  if (names.length > 1) {
    findings.push({
      code: 'PTR_MULTIPLE',
      level: 'warn',
      message: `${ip} has ${names.length} PTR records (${names.join(', ')}); receivers may look at any one of them. Keep one.`,
    });
  }
  return result(subject, {
    findings,
    lines,
    summary: `${ip} has PTR ${confirmedBy ?? names[0]}, which resolves back to it.`,
    // Whether it confirms is unknown when a forward lookup failed.
    details: { ptr_name: confirmedBy ?? names[0] ?? '', ...(confirmedBy || !findings.some((finding) => finding.level === 'error') ? { fcrdns: Boolean(confirmedBy) } : {}) },
  });
}
