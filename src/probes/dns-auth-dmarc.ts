/**
 * DMARC (RFC 7489): the record at `_dmarc.<domain>`, else the organizational
 * domain's (Public Suffix List, via tldts), parsed by mailauth's DMARC record
 * parser; external report destinations must have authorized the reports (§7.1).
 */
import { getPolicyTags, parseDmarcRecord, type DmarcTags } from 'mailauth/lib/dmarc/get-dmarc-record.js';
import { getDomain } from 'tldts';
import { dnsErrorFinding, lookup, plural, result, sortedLines, txtText, type CheckContext, type CheckResult, type Finding } from './dns-auth-check.ts';

const dmarcVersion = /^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/i;
const policies = new Set(['none', 'quarantine', 'reject']);

/** The organizational domain by the Public Suffix List; the domain itself when it has none. */
export function organizationalDomain(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

type Found = { at: string; records: string[]; lines: string[] } | { error: Finding };

async function recordsAt(ctx: CheckContext, domain: string): Promise<Found> {
  const name = `_dmarc.${domain}`;
  const found = await lookup(ctx, name, 'TXT');
  if (found.kind === 'error') return { error: dnsErrorFinding(name, 'TXT', found) };
  const dmarc = found.kind === 'records' ? found.records.filter((record) => dmarcVersion.test(txtText(record))) : [];
  return { at: domain, records: dmarc.map(txtText), lines: sortedLines(dmarc) };
}

/** mailto: destinations of rua/ruf, by domain. */
function reportDomains(value: string | undefined): string[] {
  if (!value) return [];
  const domains = value
    .split(',')
    .map((uri) => /^mailto:[^@]+@([^!?]+)/i.exec(uri.trim())?.[1]?.toLowerCase())
    .filter((domain): domain is string => Boolean(domain));
  return [...new Set(domains)];
}

export async function checkDmarc(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'dmarc' as const, domain };
  const orgDomain = organizationalDomain(domain);
  let found = await recordsAt(ctx, domain);
  const inherited = !('error' in found) && found.records.length === 0 && orgDomain !== domain;
  if (inherited) found = await recordsAt(ctx, orgDomain);
  if ('error' in found) return result(subject, { findings: [found.error], lines: undefined, summary: '' });
  if (found.records.length === 0) {
    const where = orgDomain !== domain ? `_dmarc.${domain} nor at the organizational domain's _dmarc.${orgDomain}` : `_dmarc.${domain}`;
    return result(subject, {
      findings: [
        {
          code: 'DMARC_MISSING',
          level: 'fail',
          message: `No DMARC record at ${where}: Gmail, Yahoo and Microsoft require one from bulk senders, and nothing tells receivers what to do with forged mail. Publish "v=DMARC1; p=none; rua=mailto:<your report address>" at _dmarc.${orgDomain}, then tighten p.`,
        },
      ],
      lines: [],
      summary: '',
    });
  }
  if (found.records.length > 1) {
    return result(subject, {
      findings: [
        {
          code: 'DMARC_MULTIPLE',
          level: 'fail',
          message: `_dmarc.${found.at} has ${found.records.length} DMARC records; receivers then apply none of them. Keep exactly one.`,
        },
      ],
      lines: found.lines,
      summary: '',
    });
  }

  const recordDomain = found.at;
  const tags = parseDmarcRecord(found.records[0]!) as DmarcTags;
  const findings: Finding[] = [];
  const lines = [...found.lines];
  if (inherited) {
    findings.push({
      code: 'DMARC_INHERITED',
      level: 'pass',
      message: `${domain} has no DMARC record of its own; the organizational domain's record at _dmarc.${recordDomain} applies${tags.sp ? ` with its subdomain policy sp=${tags.sp}` : ''}.`,
    });
  }
  if (!tags.p || !policies.has(String(tags.p))) {
    findings.push({
      code: 'DMARC_INVALID_POLICY',
      level: 'fail',
      message: `The DMARC record at _dmarc.${recordDomain} has ${tags.p ? `an invalid policy p=${tags.p}` : 'no policy (p=)'}; receivers ${getPolicyTags(tags) ? 'treat it as p=none' : 'ignore the record'}. Set p=none, p=quarantine or p=reject.`,
    });
  }
  const policy = String((inherited ? (tags.sp ?? tags.p) : tags.p) ?? '');
  if (policy === 'none') {
    findings.push({
      code: 'DMARC_POLICY_NONE',
      level: 'warn',
      message: `The DMARC policy for ${domain} is none (monitoring only): forged mail is still delivered. Once the reports show your own mail aligned, move to p=quarantine, then p=reject.`,
    });
  }
  const pct = typeof tags.pct === 'number' ? tags.pct : 100;
  if (pct < 100 && policy !== 'none') {
    findings.push({
      code: 'DMARC_PCT',
      level: 'warn',
      message: `The DMARC policy applies to only pct=${pct}% of failing mail. Raise pct to 100 (or remove it).`,
    });
  }
  const rua = reportDomains(typeof tags.rua === 'string' ? tags.rua : undefined);
  if (!tags.rua) {
    findings.push({
      code: 'DMARC_NO_RUA',
      level: 'warn',
      message: `The DMARC record at _dmarc.${recordDomain} asks for no aggregate reports (rua=): you cannot see who sends as ${domain}, and bulk-sender guidelines expect it. Add rua=mailto:<your report address>.`,
    });
  }
  const destinations = [...new Set([...rua, ...reportDomains(typeof tags.ruf === 'string' ? tags.ruf : undefined)])];
  const external = destinations.filter((destination) => organizationalDomain(destination) !== organizationalDomain(recordDomain));
  for (const destination of external) {
    const name = `${recordDomain}._report._dmarc.${destination}`;
    const consent = await lookup(ctx, name, 'TXT');
    if (consent.kind === 'error') {
      findings.push(dnsErrorFinding(name, 'TXT', consent));
      continue;
    }
    const granted = consent.kind === 'records' ? consent.records.filter((record) => dmarcVersion.test(txtText(record))) : [];
    lines.push(...sortedLines(granted));
    if (granted.length === 0) {
      findings.push({
        code: 'DMARC_REPORT_UNAUTHORIZED',
        level: 'warn',
        message: `DMARC reports go to ${destination}, which has not agreed to receive them for ${recordDomain} (no "v=DMARC1" TXT at ${name}), so receivers will not send them there. Ask ${destination} to publish that record, or send the reports to an address in ${recordDomain}.`,
      });
    }
  }
  const sp = !inherited && tags.sp ? ` (subdomains sp=${tags.sp})` : '';
  return result(subject, {
    findings,
    lines,
    summary: `DMARC p=${policy}${sp}, pct=${pct}, aggregate reports to ${plural(rua.length, 'destination')}.`,
    details: {
      dmarc_policy: policy,
      dmarc_pct: pct,
      dmarc_record_domain: recordDomain,
      dmarc_rua: rua.length > 0,
      ...(typeof tags.adkim === 'string' ? { dmarc_adkim: tags.adkim } : {}),
      ...(typeof tags.aspf === 'string' ? { dmarc_aspf: tags.aspf } : {}),
    },
  });
}
