/**
 * SPF (RFC 7208): the record's shape is linted here; lookups are counted and each
 * sending IP is evaluated the way receivers do (protocols/auth/spf.ts: mailauth's
 * evaluator in strict mode, asking our DNS client).
 */
import ipaddr from 'ipaddr.js';
import { evaluateSpf, type SpfEvaluation } from '../protocols/auth/spf.ts';
import { shownText } from '../core/text.ts';
import { dnsErrorFinding, lookup, plural, result, sortedLines, txtText, type CheckContext, type CheckResult, type Finding } from './dns-auth-check.ts';

const lookupLimit = 10;
const voidLimit = 2;
/** MX hosts whose addresses one "mx" term may look up (RFC 7208 4.6.4); past them, permerror. */
const mxHostLimit = 10;
/** How far lookups are counted past the limit, to say how far over a record is. */
const countingLimit = 40;
/** An address no SPF record should authorize (RFC 5737 TEST-NET-1): evaluating it walks every term. */
const unauthorizedProbeIp = '192.0.2.1';
const mechanisms = new Set(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);

/** Text from DNS put in a message: control characters escaped, cut to a bound. */
const shown = (text: string, max = 120) => shownText(text, max);

function isSpfRecord(text: string): boolean {
  return /^v=spf1(\s|$)/i.test(text);
}

interface Term {
  qualifier: '+' | '-' | '~' | '?';
  name: string;
  value: string | undefined;
}

export interface ParsedSpf {
  terms: Term[];
  redirect: string | undefined;
  problems: string[];
}

/** The terms of one record, and what is syntactically wrong with them. */
export function parseSpf(text: string): ParsedSpf {
  const [, ...tokens] = text.trim().split(/\s+/);
  const terms: Term[] = [];
  const problems: string[] = [];
  const modifiers = new Map<string, string>();
  for (const token of tokens) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(token);
    if (modifier) {
      const name = modifier[1]!.toLowerCase();
      if ((name === 'redirect' || name === 'exp') && modifiers.has(name)) problems.push(`"${name}=" appears twice`);
      if (name === 'redirect' && !modifier[2]) problems.push('"redirect=" names no domain');
      modifiers.set(name, modifier[2]!);
      continue;
    }
    const mechanism = /^([+\-~?]?)([a-z0-9]+)(.*)$/i.exec(token);
    const name = mechanism?.[2]?.toLowerCase();
    if (!mechanism || !name || !mechanisms.has(name)) {
      problems.push(`"${token}" is not an SPF mechanism or modifier`);
      continue;
    }
    const rest = mechanism[3]!;
    const value = rest.startsWith(':') ? rest.slice(1).split('/')[0] : undefined;
    const qualifier = (mechanism[1] || '+') as Term['qualifier'];
    if (name === 'all' && rest) problems.push(`"${token}": all takes no argument`);
    if ((name === 'include' || name === 'exists') && !value) problems.push(`"${token}": ${name} needs a domain`);
    if (name === 'ip4' || name === 'ip6') {
      const network = /^:([^/]+)(?:\/(\d{1,3}))?$/.exec(rest);
      const valid = name === 'ip4' ? ipaddr.IPv4.isValidFourPartDecimal(network?.[1] ?? '') : ipaddr.IPv6.isValid(network?.[1] ?? '');
      if (!network || !valid || Number(network[2] ?? 0) > (name === 'ip4' ? 32 : 128)) problems.push(`"${token}" is not an ${name === 'ip4' ? 'IPv4' : 'IPv6'} address or range`);
    }
    terms.push({ qualifier, name, value: name === 'ip6' ? rest.slice(1).replace(/\/\d+$/, '') : value });
  }
  return { terms, redirect: modifiers.get('redirect'), problems };
}

interface WalkedRecord {
  domain: string;
  text: string;
  parsed: ParsedSpf;
}

interface Walk {
  records: WalkedRecord[];
  loop?: string[];
  failure?: Finding;
}

/** Receivers ignore redirect= in a record that has "all" (RFC 7208 6.1: it applies only when no mechanism matched). */
function followsRedirect(parsed: ParsedSpf): boolean {
  return parsed.redirect !== undefined && !parsed.terms.some((term) => term.name === 'all');
}

/** Follows include: and redirect= (those without macros, as receivers do) to find loops and flags anywhere in the tree. */
async function walk(ctx: CheckContext, top: { domain: string; text: string }): Promise<Walk> {
  const records: WalkedRecord[] = [];
  const seen = new Set<string>();
  const result: Walk = { records };
  const visit = async (domain: string, text: string, path: string[]): Promise<void> => {
    if (result.loop || result.failure || seen.size > 50) return;
    seen.add(domain);
    const parsed = parseSpf(text);
    records.push({ domain, text, parsed });
    const targets = [...parsed.terms.filter((term) => term.name === 'include').map((term) => term.value), followsRedirect(parsed) ? parsed.redirect : undefined];
    for (const target of targets) {
      if (!target || target.includes('%')) continue;
      const next = target.toLowerCase().replace(/\.$/, '');
      if (path.includes(next)) {
        result.loop = [...path, next];
        return;
      }
      if (seen.has(next)) continue;
      const found = await lookup(ctx, next, 'TXT');
      if (found.kind === 'error') {
        result.failure = dnsErrorFinding(next, 'TXT', found);
        return;
      }
      if (found.kind !== 'records') continue;
      const spfRecords = found.records.map(txtText).filter(isSpfRecord);
      if (spfRecords.length === 1) await visit(next, spfRecords[0]!, [...path, next]);
    }
  };
  await visit(top.domain, top.text, [top.domain]);
  return result;
}

function shapeFindings(domain: string, walked: Walk): Finding[] {
  const findings: Finding[] = [];
  const [top] = walked.records;
  for (const record of walked.records) {
    if (record.parsed.problems.length > 0) {
      findings.push({
        code: 'SPF_SYNTAX',
        level: 'fail',
        message: `The SPF record of ${record.domain} has syntax errors (${record.parsed.problems.join('; ')}); receivers return permerror. Fix or remove those terms.`,
      });
    }
    const passAll = record.parsed.terms.find((term) => term.name === 'all' && term.qualifier === '+');
    if (passAll) {
      findings.push({
        code: 'SPF_PASS_ALL',
        level: 'fail',
        message: `${record.domain === domain ? 'The SPF record' : `The SPF record of ${record.domain} (included)`} ends with "+all", which authorizes every server on the internet to send as ${domain}. End it with "-all" (or "~all").`,
      });
    }
    if (record.parsed.redirect !== undefined && !followsRedirect(record.parsed)) {
      const target = shown(record.parsed.redirect);
      findings.push({
        code: 'SPF_REDIRECT_IGNORED',
        level: 'warn',
        message: `The SPF record of ${shown(record.domain)} has both "all" and "redirect=${target}": receivers never follow the redirect of a record that has "all" (RFC 7208 6.1), so the record at ${target} does not apply. Remove the redirect, or the "all" if the redirect is meant.`,
      });
    }
    if (record.parsed.terms.some((term) => term.name === 'ptr')) {
      findings.push({
        code: 'SPF_PTR',
        level: 'warn',
        message: `The SPF record of ${record.domain} uses the "ptr" mechanism, which RFC 7208 says not to use: it is slow and some receivers ignore it. List the addresses with ip4:/ip6: instead.`,
      });
    }
  }
  if (top) {
    const all = top.parsed.terms.find((term) => term.name === 'all');
    if (all?.qualifier === '?') {
      findings.push({
        code: 'SPF_NEUTRAL_ALL',
        level: 'warn',
        message: `The SPF record ends with "?all": servers it does not list get neutral, which protects nothing. End it with "-all" (or "~all").`,
      });
    }
    if (!all && !top.parsed.redirect) {
      findings.push({
        code: 'SPF_NO_ALL',
        level: 'warn',
        message: `The SPF record has no "all" and no "redirect=": servers it does not list get neutral. End it with "-all" (or "~all").`,
      });
    }
  }
  if (walked.loop) {
    findings.push({
      code: 'SPF_LOOP',
      level: 'fail',
      message: `SPF includes loop: ${walked.loop.join(' → ')}; receivers run into the lookup limit and return permerror. Remove the include that points back.`,
    });
  }
  return findings;
}

/**
 * An "mx" term whose domain has more than 10 MX hosts: receivers look up the addresses of
 * 10 and return permerror for the term past them. Counting lookups cannot show it (the MX
 * hosts are not lookups of the record's), so each term's MX set is looked at.
 */
async function mxHostFindings(ctx: CheckContext, records: WalkedRecord[]): Promise<{ findings: Finding[]; failure?: Finding }> {
  const findings: Finding[] = [];
  let failure: Finding | undefined;
  const asked = new Set<string>();
  for (const record of records) {
    for (const term of record.parsed.terms) {
      if (term.name !== 'mx') continue;
      const target = (term.value ?? record.domain).toLowerCase().replace(/\.$/, '');
      if (!target || target.includes('%') || asked.has(target)) continue;
      asked.add(target);
      const found = await lookup(ctx, target, 'MX');
      if (found.kind === 'error') {
        failure ??= dnsErrorFinding(target, 'MX', found);
        continue;
      }
      if (found.kind !== 'records') continue;
      const hosts = found.records.filter((mx) => (mx.data as { exchange: string }).exchange !== '').length;
      if (hosts <= mxHostLimit) continue;
      const written = `${term.qualifier === '+' ? '' : term.qualifier}mx${term.value ? `:${term.value}` : ''}`;
      findings.push({
        code: 'SPF_TOO_MANY_MX',
        level: 'fail',
        message: `The SPF record of ${shown(record.domain)} has "${shown(written)}", and ${shown(target)} has ${hosts} MX hosts: receivers look up the addresses of at most ${mxHostLimit} for one "mx" term and return permerror past them (RFC 7208 4.6.4), so SPF fails for mail from servers they have not matched by then. List the sending servers with ip4:/ip6: ranges instead.`,
      });
    }
  }
  return failure ? { findings, failure } : { findings };
}

/** The domain's SPF record: one, well-formed, within the lookup limits, not open to the world. */
export async function checkSpf(ctx: CheckContext, domain: string): Promise<CheckResult> {
  const subject = { check: 'spf' as const, domain };
  const found = await lookup(ctx, domain, 'TXT');
  if (found.kind === 'error') return result(subject, { findings: [dnsErrorFinding(domain, 'TXT', found)], lines: undefined, summary: '' });
  const spfRecords = found.kind === 'records' ? found.records.filter((record) => isSpfRecord(txtText(record))) : [];
  const lines = sortedLines(spfRecords);
  if (spfRecords.length === 0) {
    return result(subject, {
      findings: [
        {
          code: 'SPF_MISSING',
          level: 'fail',
          message: `${domain} has no SPF record${found.kind === 'none' && found.nxdomain ? ' (the name does not exist)' : ''}: receivers cannot tell which servers may send as it. Publish one TXT record such as "v=spf1 ip4:<your sending IPs> -all".`,
        },
      ],
      lines,
      summary: '',
    });
  }
  if (spfRecords.length > 1) {
    return result(subject, {
      findings: [
        {
          code: 'SPF_MULTIPLE',
          level: 'fail',
          message: `${domain} has ${spfRecords.length} SPF records; receivers treat that as permerror and SPF fails for all its mail. Merge them into one "v=spf1" record.`,
        },
      ],
      lines,
      summary: '',
      details: { spf_records: spfRecords.length },
    });
  }

  const text = txtText(spfRecords[0]!);
  const walked = await walk(ctx, { domain, text });
  const findings = shapeFindings(domain, walked);
  if (walked.failure) findings.push(walked.failure);

  // Count as receivers do, through includes and redirects: evaluate an address no record
  // authorizes, so every term is visited. With a loop, only as far as receivers go. (A lookup
  // receivers step over, such as the exp= text's, leaves the counts as they are.)
  const limits = walked.loop ? { count: lookupLimit, void: voidLimit } : { count: countingLimit, void: countingLimit };
  const counted = await evaluateSpf(ctx.dns, {
    ip: unauthorizedProbeIp,
    mailFrom: `postmaster@${domain}`,
    helo: domain,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    maxLookups: limits.count,
    maxVoidLookups: limits.void,
  });
  const mx = await mxHostFindings(ctx, walked.records);
  findings.push(...mx.findings);
  const details: Record<string, string | number | boolean> = {};
  if (counted.failure) {
    findings.push(failureFinding(counted.failure));
  } else if (mx.failure) {
    findings.push(mx.failure);
  } else {
    const { count, void: voids } = counted.lookups;
    details.spf_lookups = count;
    details.spf_void_lookups = voids;
    const atLeast = count > limits.count ? 'more than ' : '';
    if (count > lookupLimit) {
      findings.push({
        code: 'SPF_TOO_MANY_LOOKUPS',
        level: 'fail',
        message: `SPF needs ${atLeast}${Math.min(count, limits.count)} DNS lookups counted through its includes and redirects; receivers stop at ${lookupLimit} and return permerror, so SPF fails for all mail. Flatten includes, or replace a/mx terms with ip4:/ip6: ranges.`,
      });
    } else if (count >= lookupLimit - 1) {
      findings.push({
        code: 'SPF_NEAR_LOOKUP_LIMIT',
        level: 'warn',
        message: `SPF needs ${count} of the ${lookupLimit} DNS lookups receivers allow: one more include breaks it. Flatten an include or replace a/mx terms with ip4:/ip6: ranges.`,
      });
    }
    if (voids > voidLimit) {
      findings.push({
        code: 'SPF_VOID_LOOKUPS',
        level: 'fail',
        message: `SPF makes ${voids} void lookups (names that have no records; receivers allow ${voidLimit}) and returns permerror. Remove the terms that name domains without records.`,
      });
    }
    const explained = findings.some((finding) => finding.level === 'fail');
    if (counted.result === 'permerror' && !explained) {
      findings.push({
        code: 'SPF_PERMERROR',
        level: 'fail',
        message: `Receivers get permerror evaluating SPF: ${shown(counted.reason, 300)}. Fix the record.`,
      });
    }
  }
  const lookups = details.spf_lookups;
  const all = walked.records[0]?.parsed.terms.find((term) => term.name === 'all');
  return result(subject, {
    findings,
    lines: walked.records.length > 1 ? [...lines, ...walked.records.slice(1).map((record) => `${record.domain} TXT ${JSON.stringify(record.text)}`)] : lines,
    summary: `One SPF record, ${typeof lookups === 'number' ? plural(lookups, 'DNS lookup') : 'lookups not counted'} of ${lookupLimit}, ending "${all ? `${all.qualifier}all` : 'redirect'}".`,
    details,
  });
}

function failureFinding(failure: NonNullable<SpfEvaluation['failure']>): Finding {
  return dnsErrorFinding(failure.name, failure.type, { kind: 'error', code: failure.code, message: failure.message });
}

/** Lookups that failed and that receivers step over: said beside the result, which stands without them. */
function skippedFindings(ip: string, evaluation: SpfEvaluation): Finding[] {
  const findings: Finding[] = [];
  const explanation = evaluation.skipped.find((skipped) => skipped.purpose === 'explanation');
  if (explanation) {
    const { name, code } = explanation.failure;
    findings.push({
      code: 'SPF_IP_EXPLANATION_UNAVAILABLE',
      level: 'pass',
      message: `The lookup of the explanation text (exp=) at ${shown(name)} failed (${code}); receivers then give no explanation, and the result stands (RFC 7208 6.2).`,
    });
  }
  const ptr = evaluation.skipped.filter((skipped) => skipped.purpose === 'ptr');
  if (ptr.length > 0) {
    const { name, type, code, message } = ptr[0]!.failure;
    const more = ptr.length > 1 ? ` (and ${plural(ptr.length - 1, 'other lookup')})` : '';
    findings.push({
      code: 'SPF_IP_PTR_LOOKUP_FAILED',
      level: 'warn',
      message: `The ${type} lookup of ${shown(name)} failed (${code}: ${shown(message)})${more} while SPF checked the reverse DNS names of ${ip}; receivers skip such a name (RFC 7208 5.5), so ${ip} gets ${evaluation.result} without it, and may get another result once that lookup answers.`,
    });
  }
  return findings;
}

/** What SPF gives a sending IP for this domain, evaluated the way receivers do. */
export async function checkSpfIp(ctx: CheckContext, domain: string, ip: string): Promise<CheckResult> {
  const subject = { check: 'spf_ip' as const, domain, ip };
  const evaluation = await evaluateSpf(ctx.dns, { ip, mailFrom: `postmaster@${domain}`, helo: domain, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  const outcome = evaluation.result;
  if (outcome === 'temperror') {
    // Unknown is not a result: the DNS failure behind it, with our code.
    const finding: Finding = evaluation.failure
      ? failureFinding(evaluation.failure)
      : { code: 'SPF_TEMPERROR', level: 'error', message: `SPF evaluation for ${ip} ended in temperror (${shown(evaluation.reason, 300)}); try again.` };
    return result(subject, { findings: [finding], lines: undefined, summary: '' });
  }
  const lines = [`${ip} spf=${outcome} ${domain}`];
  const advice: Record<string, string> = {
    fail: `${ip} gets SPF fail for ${domain}: it is not in the record, which ends with "-all", so receivers may reject its mail. Add "ip4:${ip}" (or the pool's range) to the SPF record.`,
    softfail: `${ip} gets SPF softfail for ${domain}: it is not in the record (caught by "~all"), so SPF does not pass for its mail. Add "ip4:${ip}" (or the pool's range) to the SPF record.`,
    neutral: `${ip} gets SPF neutral for ${domain}: the record neither lists nor rejects it, so SPF does not pass for its mail. Add "ip4:${ip}" (or the pool's range) to the SPF record.`,
    none: `${ip} gets no SPF result for ${domain}: the domain publishes no SPF record. Publish one that lists ${ip}.`,
    permerror: `${ip} gets SPF permerror for ${domain} (${shown(evaluation.reason, 300)}): SPF fails for all its mail. Fix the record.`,
  };
  const findings: Finding[] = outcome === 'pass' ? [] : [{ code: `SPF_IP_${outcome.toUpperCase()}`, level: 'fail', message: advice[outcome] ?? `${ip} gets SPF ${outcome} for ${domain}.` }];
  findings.push(...skippedFindings(ip, evaluation));
  return result(subject, { findings, lines, summary: `${ip} passes SPF for ${domain}.`, details: { spf_result: outcome } });
}
