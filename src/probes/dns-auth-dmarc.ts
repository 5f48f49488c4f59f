/**
 * DMARC (RFC 7489, and RFC 9989 that obsoletes it): the record at `_dmarc.<domain>`,
 * else the organizational domain's (Public Suffix List, via tldts), read tag by tag
 * (protocols/auth/dmarc-record.ts) and judged by what receivers of either RFC do
 * with it; external report destinations must have authorized the reports (RFC 7489 §7.1).
 *
 * The record is peer text: anything quoted from it goes through `quoted`.
 */
import { getDomain, getPublicSuffix } from 'tldts';
import {
  alignmentValue,
  failureOptionsProblem,
  intervalValue,
  isDmarcRecord,
  looksLikeDmarc,
  parseDmarcTagList,
  percentValue,
  policyValue,
  psdValue,
  reportFormatValid,
  reportUris,
  testingValue,
  type DmarcPolicy,
  type DmarcTagList,
  type DmarcTagName,
  type ReportUri,
} from '../protocols/auth/dmarc-record.ts';
import { dnsErrorFinding, lookup, plural, result, sortedLines, txtText, type CheckContext, type CheckResult, type Finding } from './dns-auth-check.ts';

/** The organizational domain by the Public Suffix List; the domain itself when it has none. */
function organizationalDomain(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

/** Peer text in a message: control and invisible formatting characters dropped, cut to `max` characters, in quotes. */
function quoted(text: string, max = 60): string {
  const clean = [...text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')];
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max - 1).join('')}…` : clean.join(''));
}

/** "a", "a and b", "a, b, c and 4 more": at most `max` items named. */
function listed(items: string[], max = 5): string {
  const named = items.slice(0, max);
  const rest = items.length - named.length;
  if (rest > 0) return `${named.join(', ')} and ${rest} more`;
  return named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named.at(-1)}` : (named[0] ?? '');
}

type Found = { at: string; records: string[]; malformed: string[]; lines: string[] } | { error: Finding };

/** The DMARC records at a name, and the TXT records there meant as DMARC that receivers do not accept as such. */
async function recordsAt(ctx: CheckContext, domain: string): Promise<Found> {
  const name = `_dmarc.${domain}`;
  const found = await lookup(ctx, name, 'TXT');
  if (found.kind === 'error') return { error: dnsErrorFinding(name, 'TXT', found) };
  const texts = found.kind === 'records' ? found.records : [];
  const dmarc = texts.filter((record) => isDmarcRecord(txtText(record)));
  const malformed = texts.filter((record) => !isDmarcRecord(txtText(record)) && looksLikeDmarc(txtText(record)));
  return { at: domain, records: dmarc.map(txtText), malformed: malformed.map(txtText), lines: sortedLines([...dmarc, ...malformed]) };
}

/** Why a record meant as DMARC is not one to receivers. */
function versionProblem(text: string): string {
  const version = /^v[ \t]*=[ \t]*([^;]*?)[ \t]*(?:;|$)/i.exec(text.trim());
  if (!version) return '"v=DMARC1" is not its first tag';
  const value = version[1]!;
  if (value.toUpperCase() === 'DMARC1') return 'the version must be written "DMARC1", in upper case';
  return `its version is ${quoted(value, 30)}, not "DMARC1"${/^DMARC1[ \t]/i.test(value) ? ' (a ";" is missing after it)' : ''}`;
}

function versionFinding(at: string, malformed: string[], consequence: string): Finding {
  const more = malformed.length > 1 ? ` (and ${plural(malformed.length - 1, 'more record')} like it)` : '';
  return {
    code: 'DMARC_VERSION',
    level: 'fail',
    message: `The TXT record ${quoted(malformed[0]!)} at _dmarc.${at}${more} is not a DMARC record to receivers: ${versionProblem(malformed[0]!)}. Receivers ignore it${consequence}. Begin the record with "v=DMARC1;".`,
  };
}

const strength: Record<DmarcPolicy, number> = { none: 0, quarantine: 1, reject: 2 };
/** The policy one step weaker: what pct=0 (RFC 7489) and t=y (RFC 9989) ask receivers to apply. */
const weaker: Record<DmarcPolicy, DmarcPolicy> = { none: 'none', quarantine: 'none', reject: 'quarantine' };

type PolicyTag = { state: 'absent' } | { state: 'invalid'; written: string } | { state: 'valid'; policy: DmarcPolicy; differs: boolean };

/** p, sp or np: absent, invalid (a value receivers cannot read), or valid — the weakest value when it is repeated. */
function policyTag(values: string[]): PolicyTag {
  if (values.length === 0) return { state: 'absent' };
  const policies = values.map(policyValue);
  const invalid = values.find((_, at) => policies[at] === undefined);
  if (invalid !== undefined) return { state: 'invalid', written: invalid };
  const valid = policies as DmarcPolicy[];
  const weakest = valid.reduce((a, b) => (strength[b] < strength[a] ? b : a));
  return { state: 'valid', policy: weakest, differs: new Set(valid).size > 1 };
}

/** What a record says, and what receivers make of it. */
interface Reading {
  findings: Finding[];
  /** The policy receivers apply; undefined when they apply none. */
  policy: DmarcPolicy | undefined;
  /** A valid sp=, for the summary. */
  sp: DmarcPolicy | undefined;
  pct: number;
  rua: ReportUri[];
  ruf: ReportUri[];
  adkim: 'r' | 's' | undefined;
  aspf: 'r' | 's' | undefined;
}

function readRecord(text: string, recordDomain: string, domain: string, inherited: boolean): Reading {
  const where = `The DMARC record at _dmarc.${recordDomain}`;
  const list: DmarcTagList = parseDmarcTagList(text);
  const values = (tag: DmarcTagName) => list.tags.get(tag) ?? [];
  const findings: Finding[] = [];
  const them = (count: number) => (count === 1 ? 'it' : 'them');

  const rua = values('rua').flatMap(reportUris);
  const ruf = values('ruf').flatMap(reportUris);
  const p = policyTag(values('p'));
  const sp = policyTag(values('sp'));
  const np = policyTag(values('np'));
  // RFC 7489 §6.6.3 and RFC 9989 §4.10.1: without a valid p=, or with an invalid sp= or np=, a record with at
  // least one valid rua= URI is read as p=none, and one without gets no DMARC processing at all.
  const hasValidRua = rua.some((uri) => !uri.problem);
  const policyValid = p.state === 'valid' && sp.state !== 'invalid' && np.state !== 'invalid';
  const applied: 'p' | 'sp' = inherited && sp.state === 'valid' ? 'sp' : 'p';
  const appliedTag = applied === 'sp' ? sp : p;
  const policy: DmarcPolicy | undefined = policyValid && appliedTag.state === 'valid' ? appliedTag.policy : hasValidRua ? 'none' : undefined;
  const setAside = hasValidRua ? 'act as if it said p=none' : 'apply no DMARC policy at all';

  if (inherited) {
    findings.push({
      code: 'DMARC_INHERITED',
      level: 'pass',
      message: `${domain} has no DMARC record of its own; the organizational domain's record at _dmarc.${recordDomain} applies${policyValid && sp.state === 'valid' ? ` with its subdomain policy sp=${sp.policy}` : ''}.`,
    });
  }

  // The tag-list itself.
  if (list.syntax.length > 0) {
    const why = { 'no-equals': 'no "="', 'no-name': 'no tag name before "="', 'bad-name': 'a tag name is letters only' };
    const terms = list.syntax.map((error) => `${quoted(error.term, 40)} (${why[error.reason]})`);
    findings.push({
      code: 'DMARC_SYNTAX',
      level: 'warn',
      message: `${where} has ${list.syntax.length === 1 ? 'a term that is' : 'terms that are'} not tag=value: ${listed(terms)}; receivers ignore ${them(list.syntax.length)}. Write each as tag=value, separated by ";".`,
    });
  }
  if (list.repeated.length > 0) {
    const described = list.repeated.map((name) => {
      const given = list.tags.get(name as DmarcTagName);
      if (!given) return quoted(`${name}=`, 30);
      const shown = given.slice(0, 3).map((value) => quoted(value, 40));
      return `${name}= (${shown.join(', then ')}${given.length > 3 ? ', …' : ''})`;
    });
    const weakest = (['p', 'sp', 'np'] as const).flatMap((tag) => {
      const read = { p, sp, np }[tag];
      return read.state === 'valid' && read.differs ? [`${tag}=${read.policy}`] : [];
    });
    findings.push({
      code: 'DMARC_DUPLICATE_TAG',
      level: 'fail',
      message: `${where} repeats ${listed(described)}. A tag may appear only once (DMARC records are DKIM tag-lists, RFC 6376 §3.2): receivers that follow that rule ignore the whole record, and the others keep either the first or the last value${weakest.length > 0 ? `, so some apply ${weakest.join(' and ')}` : ''}. Keep each tag once.`,
    });
  }
  if (list.unknown.length > 0) {
    findings.push({
      code: 'DMARC_UNKNOWN_TAG',
      level: 'warn',
      message: `${where} has ${list.unknown.length === 1 ? 'a tag that is not a DMARC tag' : 'tags that are not DMARC tags'}: ${listed(list.unknown.map((name) => quoted(name, 30)))}; receivers ignore ${them(list.unknown.length)}. Remove ${them(list.unknown.length)} or correct the name (DMARC's tags are v, p, sp, np, adkim, aspf, rua, ruf, fo, psd and t).`,
    });
  }
  if (list.miscased.length > 0) {
    findings.push({
      code: 'DMARC_TAG_CASE',
      level: 'warn',
      message: `${where} writes ${listed(list.miscased.map((name) => `${quoted(name, 30)}`))} with capitals; receivers that read tag names case-sensitively, as DKIM tag-lists are (RFC 6376 §3.2), do not recognize ${them(list.miscased.length)}. Write ${listed(list.miscased.map((name) => `${name.toLowerCase()}=`))} in lower case.`,
    });
  }

  // Policies: p, sp, np.
  if (p.state === 'absent') {
    findings.push(
      hasValidRua
        ? {
            code: 'DMARC_NO_POLICY',
            level: 'warn',
            message: `${where} has no p= tag; receivers act as if it said p=none (RFC 9989 allows leaving p out, RFC 7489 requires it), so forged mail is still delivered. Write p=none explicitly, and move to p=quarantine, then p=reject, once the reports show your own mail aligned.`,
          }
        : {
            code: 'DMARC_NO_POLICY',
            level: 'fail',
            message: `${where} has no p= tag and no valid rua=; receivers apply no DMARC policy at all. Write p=none (then tighten it) and rua=mailto:<your report address>.`,
          },
    );
  } else if (p.state === 'invalid') {
    findings.push({
      code: 'DMARC_INVALID_POLICY',
      level: 'fail',
      message: `${where} has an invalid policy ${quoted(`p=${p.written}`)}; receivers ${hasValidRua ? 'treat it as p=none' : 'apply no DMARC policy at all'}. Set p=none, p=quarantine or p=reject.`,
    });
  } else if (list.second !== 'p') {
    findings.push({
      code: 'DMARC_P_NOT_SECOND',
      level: 'pass',
      message: `${where} puts p= after ${list.second}=; RFC 7489 asks for p right after v=DMARC1 (RFC 9989 and the receivers we know take any order). Move p= to second place for strict RFC 7489 readers.`,
    });
  }
  if (sp.state === 'invalid') {
    findings.push({
      code: 'DMARC_INVALID_SP',
      level: 'fail',
      message: `${where} has an invalid subdomain policy ${quoted(`sp=${sp.written}`)}; receivers then set the record's whole policy aside and ${setAside}, for ${recordDomain} itself too. Write sp=none, sp=quarantine or sp=reject, or remove sp (subdomains then get p).`,
    });
  }
  if (np.state === 'invalid') {
    findings.push({
      code: 'DMARC_INVALID_NP',
      level: 'fail',
      message: `${where} has an invalid policy for non-existent subdomains ${quoted(`np=${np.written}`)}; receivers that know np (RFC 9989) then set the record's whole policy aside and ${setAside}, for ${recordDomain} itself too. Write np=none, np=quarantine or np=reject, or remove np.`,
    });
  }
  if (policyValid && policy === 'none' && !list.repeated.includes(applied)) {
    findings.push({
      code: 'DMARC_POLICY_NONE',
      level: 'warn',
      message: `The DMARC policy for ${domain} is none (monitoring only): forged mail is still delivered. Once the reports show your own mail aligned, move to p=quarantine, then p=reject.`,
    });
  }
  const enforced = policy !== undefined && policy !== 'none' ? policy : undefined;

  // t (RFC 9989) and pct (RFC 7489; removed by RFC 9989, t=y takes over its pct=0 use).
  const t = values('t');
  const badT = t.find((value) => testingValue(value) === undefined);
  if (badT !== undefined) {
    findings.push({
      code: 'DMARC_INVALID_T',
      level: 'warn',
      message: `${where} has ${quoted(`t=${badT}`)}, which is not y or n; receivers use the default, n (the policy applies as written). Write t=y to test a policy, or remove t.`,
    });
  } else if (enforced && t.some((value) => testingValue(value) === 'y')) {
    findings.push({
      code: 'DMARC_TESTING',
      level: 'warn',
      message: `${where} has t=y (testing): receivers that follow RFC 9989 apply ${weaker[enforced]} instead of ${enforced} to failing mail, while RFC 7489 receivers ignore t and apply ${enforced}. Remove t=y once the reports show your own mail aligned.`,
    });
  }
  const pctValues = values('pct');
  const badPct = pctValues.find((value) => percentValue(value) === undefined);
  const pct = badPct === undefined && pctValues.length > 0 ? Math.min(...pctValues.map((value) => percentValue(value)!)) : 100;
  if (badPct !== undefined) {
    findings.push({
      code: 'DMARC_INVALID_PCT',
      level: 'warn',
      message: `${where} has ${quoted(`pct=${badPct}`)}, which is not a whole number from 0 to 100; receivers that still read pct (RFC 7489) use the default, 100, and RFC 9989 removed pct. Remove it.`,
    });
  } else if (pctValues.length > 0 && enforced && pct === 0) {
    findings.push({
      code: 'DMARC_PCT',
      level: 'warn',
      message: `${where} has pct=0: receivers that read pct (RFC 7489) apply ${weaker[enforced]} instead of ${enforced} to all failing mail, and RFC 9989 removed pct, so its receivers apply ${enforced}. To test a policy write t=y instead of pct=0.`,
    });
  } else if (pctValues.length > 0 && enforced && pct < 100) {
    findings.push({
      code: 'DMARC_PCT',
      level: 'warn',
      message: `The DMARC policy applies to only pct=${pct}% of failing mail at receivers that read pct (RFC 7489; the rest get ${weaker[enforced]}), while RFC 9989 removed pct and its receivers apply ${enforced} to all of it. Remove pct (to test a policy, write t=y).`,
    });
  } else if (pctValues.length > 0) {
    findings.push({
      code: 'DMARC_PCT_OBSOLETE',
      level: 'pass',
      message: `${where} has pct=${pct}, which RFC 9989 removed; ${pct === 100 ? '100 is what receivers assumed anyway' : 'with no policy enforced it changes nothing'}. Remove it.`,
    });
  }

  // Alignment.
  const alignment = (tag: 'adkim' | 'aspf', what: string): 'r' | 's' | undefined => {
    const given = values(tag);
    const bad = given.find((value) => alignmentValue(value) === undefined);
    if (bad !== undefined) {
      findings.push({
        code: `DMARC_INVALID_${tag.toUpperCase()}`,
        level: 'warn',
        message: `${where} has ${quoted(`${tag}=${bad}`)}, which is not r (relaxed) or s (strict); receivers use the default, r, for ${what} alignment. Write ${tag}=r or ${tag}=s.`,
      });
      return undefined;
    }
    if (given.length === 0) return undefined;
    return given.some((value) => alignmentValue(value) === 'r') ? 'r' : 's';
  };
  const adkim = alignment('adkim', 'DKIM');
  const aspf = alignment('aspf', 'SPF');

  // psd (RFC 9989).
  const psd = values('psd');
  const badPsd = psd.find((value) => psdValue(value) === undefined);
  if (badPsd !== undefined) {
    findings.push({
      code: 'DMARC_INVALID_PSD',
      level: 'warn',
      message: `${where} has ${quoted(`psd=${badPsd}`)}, which is not y, n or u; receivers use the default, u. Remove psd, or write psd=n if ${recordDomain} is the organizational domain of its subdomains.`,
    });
  } else if (psd.some((value) => psdValue(value) === 'y') && getPublicSuffix(recordDomain, { allowPrivateDomains: true }) !== recordDomain) {
    findings.push({
      code: 'DMARC_PSD',
      level: 'warn',
      message: `${where} has psd=y, which declares ${recordDomain} a public suffix (a domain others register names under, like co.uk). Receivers that follow RFC 9989 then treat each subdomain of ${recordDomain} as its own organization, so a DKIM signature or Return-Path on a subdomain no longer aligns with ${recordDomain}. Remove psd=y.`,
    });
  }

  // Report destinations.
  const destinations = (tag: 'rua' | 'ruf', uris: ReportUri[], none: string) => {
    const broken = uris.filter((uri) => uri.problem);
    if (broken.length > 0) {
      const all = broken.length === uris.length;
      findings.push({
        code: `DMARC_INVALID_${tag.toUpperCase()}`,
        level: 'warn',
        message: `${where} has ${broken.length === 1 ? 'a destination' : 'destinations'} in ${tag}= that receivers cannot use: ${listed(
          broken.map((uri) => `${quoted(uri.text)} (${uri.problem})`),
          3,
        )}. ${all ? none : `Receivers skip ${them(broken.length)}.`} Write each as mailto:<address>, separated by ",".`,
      });
    }
    const otherSchemes = uris.filter((uri) => !uri.problem && uri.scheme !== 'mailto');
    if (otherSchemes.length > 0) {
      findings.push({
        code: 'DMARC_REPORT_SCHEME',
        level: 'warn',
        message: `${where} lists ${listed(
          otherSchemes.map((uri) => quoted(uri.text)),
          3,
        )} in ${tag}=; receivers are only required to send reports by mail and ignore schemes they do not support. Use mailto:<address>.`,
      });
    }
    const sized = uris.filter((uri) => uri.size !== undefined && !uri.problem);
    if (sized.length > 0) {
      findings.push({
        code: 'DMARC_REPORT_SIZE_OBSOLETE',
        level: 'pass',
        message: `${where} limits the report size in ${tag}= (${listed(
          sized.map((uri) => quoted(uri.text)),
          3,
        )}); RFC 9989 removed the "!size" suffix and its receivers ignore it, while RFC 7489 receivers may withhold larger reports. Remove it.`,
      });
    }
  };
  if (values('rua').length === 0) {
    findings.push({
      code: 'DMARC_NO_RUA',
      level: 'warn',
      message: `The DMARC record at _dmarc.${recordDomain} asks for no aggregate reports (rua=): you cannot see who sends as ${domain}, and bulk-sender guidelines expect it. Add rua=mailto:<your report address>.`,
    });
  }
  destinations('rua', rua, `So no aggregate reports are sent: you cannot see who sends as ${domain}.`);
  destinations('ruf', ruf, 'So no failure reports are sent.');

  // Failure reporting: fo, and rf (removed by RFC 9989).
  const fo = values('fo');
  const foProblem = fo.map((value) => ({ value, problem: failureOptionsProblem(value) })).find((entry) => entry.problem);
  if (foProblem) {
    findings.push({
      code: 'DMARC_INVALID_FO',
      level: 'warn',
      message: `${where} has ${quoted(`fo=${foProblem.value}`)}: ${foProblem.problem}; receivers use the default, fo=0. Write 0 or 1, then d and s if wanted, separated by ":" (for example fo=1 or fo=1:d:s).`,
    });
  } else if (fo.length > 0 && ruf.length === 0) {
    findings.push({
      code: 'DMARC_FO_WITHOUT_RUF',
      level: 'pass',
      message: `${where} has fo= but no ruf=, so fo changes nothing: failure reports go only to ruf= destinations.`,
    });
  }
  const rf = values('rf');
  const badRf = rf.find((value) => !reportFormatValid(value));
  if (badRf !== undefined) {
    findings.push({
      code: 'DMARC_INVALID_RF',
      level: 'warn',
      message: `${where} has ${quoted(`rf=${badRf}`)}; afrf is the only failure report format, RFC 7489 receivers use it whatever rf says, and RFC 9989 removed rf. Remove it.`,
    });
  } else if (rf.length > 0) {
    findings.push({
      code: 'DMARC_RF_OBSOLETE',
      level: 'pass',
      message: `${where} has rf=afrf, which RFC 9989 removed (afrf is the only format anyway). Remove it.`,
    });
  }
  const ri = values('ri');
  const badRi = ri.find((value) => intervalValue(value) === undefined);
  if (badRi !== undefined) {
    findings.push({
      code: 'DMARC_INVALID_RI',
      level: 'warn',
      message: `${where} has ${quoted(`ri=${badRi}`)}, which is not a number of seconds; RFC 7489 receivers use the default (86400, a day), and RFC 9989 removed ri. Remove it.`,
    });
  } else if (ri.length > 0) {
    findings.push({
      code: 'DMARC_RI_OBSOLETE',
      level: 'pass',
      message: `${where} has ri=${intervalValue(ri[0]!)}, which RFC 9989 removed: receivers send aggregate reports about once a day whatever it says. Remove it.`,
    });
  }

  return { findings, policy, sp: sp.state === 'valid' ? sp.policy : undefined, pct, rua, ruf, adkim, aspf };
}

/** Destination domains of the usable mailto: URIs. */
function mailtoDomains(uris: ReportUri[]): string[] {
  return [...new Set(uris.flatMap((uri) => (uri.problem ? [] : (uri.domains ?? []))))];
}

export async function checkDmarc(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'dmarc' as const, domain };
  const orgDomain = organizationalDomain(domain);
  const own = await recordsAt(ctx, domain);
  if ('error' in own) return result(subject, { findings: [own.error], lines: undefined, summary: '' });
  const inherited = own.records.length === 0 && orgDomain !== domain;
  const found = inherited ? await recordsAt(ctx, orgDomain) : own;
  if ('error' in found) return result(subject, { findings: [found.error], lines: undefined, summary: '' });
  const lines = inherited ? [...own.lines, ...found.lines] : [...own.lines];

  // Records meant as DMARC that receivers pass over; where the walk goes on to the organizational domain, they go on too.
  const ignored: Finding[] = [];
  if (own.records.length === 0 && own.malformed.length > 0) {
    const consequence = found.records.length === 1 && inherited ? ` and apply the record at _dmarc.${found.at} instead` : found.records.length === 0 ? `, so no DMARC policy applies to ${domain}` : '';
    ignored.push(versionFinding(own.at, own.malformed, consequence));
  }
  if (inherited && found.records.length === 0 && found.malformed.length > 0) {
    ignored.push(versionFinding(found.at, found.malformed, `, so no DMARC policy applies to ${domain}`));
  }

  if (found.records.length === 0) {
    if (ignored.length > 0) return result(subject, { findings: ignored, lines, summary: '' });
    const where = orgDomain !== domain ? `_dmarc.${domain} nor at the organizational domain's _dmarc.${orgDomain}` : `_dmarc.${domain}`;
    return result(subject, {
      findings: [
        {
          code: 'DMARC_MISSING',
          level: 'fail',
          message: `No DMARC record at ${where}: Gmail, Yahoo and Microsoft require one from bulk senders, and nothing tells receivers what to do with forged mail. Publish "v=DMARC1; p=none; rua=mailto:<your report address>" at _dmarc.${orgDomain}, then tighten p.`,
        },
      ],
      lines,
      summary: '',
    });
  }
  if (found.records.length > 1) {
    return result(subject, {
      findings: [
        ...ignored,
        {
          code: 'DMARC_MULTIPLE',
          level: 'fail',
          message: `_dmarc.${found.at} has ${found.records.length} DMARC records; receivers then apply none of them. Keep exactly one.`,
        },
      ],
      lines,
      summary: '',
    });
  }

  const recordDomain = found.at;
  const reading = readRecord(found.records[0]!, recordDomain, domain, inherited);
  const findings = [...ignored, ...reading.findings];
  const ruaDomains = mailtoDomains(reading.rua);
  const destinations = [...new Set([...ruaDomains, ...mailtoDomains(reading.ruf)])];
  const external = destinations.filter((destination) => organizationalDomain(destination) !== organizationalDomain(recordDomain));
  for (const destination of external) {
    const name = `${recordDomain}._report._dmarc.${destination}`;
    const consent = await lookup(ctx, name, 'TXT');
    if (consent.kind === 'error') {
      findings.push(dnsErrorFinding(name, 'TXT', consent));
      continue;
    }
    const granted = consent.kind === 'records' ? consent.records.filter((record) => isDmarcRecord(txtText(record))) : [];
    lines.push(...sortedLines(granted));
    if (granted.length === 0) {
      findings.push({
        code: 'DMARC_REPORT_UNAUTHORIZED',
        level: 'warn',
        message: `DMARC reports go to ${destination}, which has not agreed to receive them for ${recordDomain} (no "v=DMARC1" TXT at ${name}), so receivers will not send them there. Ask ${destination} to publish that record, or send the reports to an address in ${recordDomain}.`,
      });
    }
  }
  const sp = !inherited && reading.sp ? ` (subdomains sp=${reading.sp})` : '';
  return result(subject, {
    findings,
    lines,
    summary: `DMARC p=${reading.policy ?? 'none applies'}${sp}, pct=${reading.pct}, aggregate reports to ${plural(ruaDomains.length, 'destination')}.`,
    details: {
      ...(reading.policy ? { dmarc_policy: reading.policy } : {}),
      dmarc_pct: reading.pct,
      dmarc_record_domain: recordDomain,
      dmarc_rua: reading.rua.some((uri) => !uri.problem),
      ...(reading.adkim ? { dmarc_adkim: reading.adkim } : {}),
      ...(reading.aspf ? { dmarc_aspf: reading.aspf } : {}),
    },
  });
}
