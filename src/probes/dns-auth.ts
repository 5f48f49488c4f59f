import { z } from 'zod';
import type { MeasurementSpec } from '../core/measurement.ts';
import { maxStringFieldLength, type Observation } from '../core/observation.ts';
import { duration, readableFile } from '../core/schema.ts';
import { checkNames, domainProblem, ipProblem, levelNumber, levels, normalizeDomain, selectorProblem, worstLevel, type CheckContext, type CheckName, type CheckResult } from './dns-auth-check.ts';
import { checkDkim } from './dns-auth-dkim.ts';
import { checkDmarc } from './dns-auth-dmarc.ts';
import { checkAddress, checkMx, checkPtr } from './dns-auth-hosts.ts';
import { checkBimi, checkMtaSts, checkTlsRpt } from './dns-auth-policies.ts';
import { checkSpf, checkSpfIp } from './dns-auth-spf.ts';
import { readCaFile } from './ca-file.ts';
import { defineProbe, ProbeBase, type ProbeContext } from './define.ts';

function refineEach(check: (text: string) => string | undefined) {
  return z.string().superRefine((text, ctx) => {
    const problem = check(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const sendingDomain = z
  .object({
    domain: refineEach(domainProblem)
      .transform((text) => normalizeDomain(text)!)
      .describe('the sending domain (the From / envelope domain)'),
    ips: z.array(refineEach(ipProblem)).default([]).describe('sending IPs: each gets its SPF result and its PTR / forward-confirmed reverse DNS checked'),
    selectors: z.array(refineEach(selectorProblem)).default([]).describe('DKIM selectors the platform signs with (the s= of its signatures)'),
    skip: z
      .array(z.enum(checkNames))
      .default([])
      .describe(`checks not to run for this domain (${checkNames.join(', ')})`),
  })
  .strict();

export type SendingDomain = z.output<typeof sendingDomain>;

const configSchema = ProbeBase.extend({
  kind: z.literal('dns-auth'),
  domains: z.array(sendingDomain).min(1, { message: 'expected at least one domain' }).describe('the sending domains to check, each with its IPs and DKIM selectors'),
  caFile: readableFile.optional().describe('PEM file of a private CA trusted for MTA-STS policy hosts, besides the system trust store'),
  policyTimeout: duration.prefault('10s').describe('deadline of each MTA-STS policy fetch'),
}).strict();

type DnsAuthConfig = z.output<typeof configSchema>;

/** Every check for one domain, run concurrently, in a stable order. */
export async function checkDomain(target: SendingDomain, ctx: CheckContext): Promise<CheckResult[]> {
  const wanted = (check: CheckName) => !target.skip.includes(check);
  const { domain } = target;
  const jobs: Promise<CheckResult>[] = [];
  if (wanted('spf')) jobs.push(checkSpf(ctx, domain));
  if (wanted('spf_ip')) for (const ip of target.ips) jobs.push(checkSpfIp(ctx, domain, ip));
  if (wanted('dkim')) for (const selector of target.selectors) jobs.push(checkDkim(ctx, domain, selector));
  if (wanted('dmarc')) jobs.push(checkDmarc(ctx, domain));
  if (wanted('mx')) jobs.push(checkMx(ctx, domain));
  if (wanted('address')) jobs.push(checkAddress(ctx, domain));
  if (wanted('ptr')) for (const ip of target.ips) jobs.push(checkPtr(ctx, domain, ip));
  if (wanted('mta_sts')) jobs.push(checkMtaSts(ctx, domain));
  if (wanted('tls_rpt')) jobs.push(checkTlsRpt(ctx, domain));
  if (wanted('bimi')) jobs.push(checkBimi(ctx, domain));
  return Promise.all(jobs);
}

function checkObservation(check: CheckResult, time: Date): Observation {
  const tags: Record<string, string> = { domain: check.domain, check: check.check };
  if (check.selector) tags.selector = check.selector;
  if (check.ip) tags.ip = check.ip;
  const fields: Observation['fields'] = {
    status: check.status,
    level: levelNumber[check.status],
    message: check.message.slice(0, maxStringFieldLength),
    findings: check.findings.map((finding) => finding.code).join(','),
    ...check.details,
  };
  if (check.record !== undefined) fields.record = check.record.slice(0, maxStringFieldLength);
  if (check.digest) fields.digest = check.digest;
  if (check.errorCode) fields.error_code = check.errorCode;
  return { measurement: 'dns_auth', tags, fields, time };
}

function domainObservation(domain: string, checks: CheckResult[], time: Date): Observation {
  const count = (status: CheckResult['status']) => checks.filter((check) => check.status === status).length;
  const status = worstLevel(checks.map((check) => check.status));
  return {
    measurement: 'dns_auth_domain',
    tags: { domain },
    fields: {
      status,
      level: levelNumber[status],
      checks: checks.length,
      passed: count('pass'),
      warnings: count('warn'),
      failures: count('fail'),
      errors: count('error'),
      failing: checks
        .filter((check) => check.status === 'fail')
        .map((check) => [check.check, check.selector ?? check.ip].filter(Boolean).join(':'))
        .join(','),
    },
    time,
  };
}

async function run(config: DnsAuthConfig, ctx: ProbeContext): Promise<Observation[]> {
  const extraCa = readCaFile(config.caFile);
  const checkContext: CheckContext = { dns: ctx.dns, signal: ctx.signal, policyTimeoutMs: config.policyTimeout, ...(extraCa ? { extraCa } : {}) };
  const time = ctx.clock.now();
  const perDomain = await Promise.all(config.domains.map(async (target) => ({ target, checks: await checkDomain(target, checkContext) })));
  if (ctx.signal.aborted) throw ctx.signal.reason;
  return perDomain.flatMap(({ target, checks }) => [...checks.map((check) => checkObservation(check, time)), domainObservation(target.domain, checks, time)]);
}

const levelDescription = `the status as a number: ${levels.map((level) => `${level} ${levelNumber[level]}`).join(', ')}`;

/** What a run writes: one point per check, one per domain, and one per changed record (written by the store). */
const measurements = {
  dns_auth: {
    description: `One DNS authentication check of a sending domain (${checkNames.join(', ')}): its verdict, what to fix, and the record seen.`,
    tags: {
      domain: 'the sending domain',
      check: checkNames.join(' | '),
      selector: 'the DKIM selector (check dkim)',
      ip: 'the sending IP (checks spf_ip and ptr)',
    },
    fields: {
      status: { type: 'string', description: `${levels.join(' | ')} (error: DNS or the policy host failed, so it is unknown; never a fail)` },
      level: { type: 'integer', description: levelDescription },
      message: { type: 'string', description: 'what is wrong and what to change, or what was verified' },
      findings: { type: 'string', description: 'finding codes, comma-separated (SPF_TOO_MANY_LOOKUPS, DKIM_SHORT_KEY, ...); empty when there are none' },
      record: { type: 'string', description: 'the records seen, one "name TYPE value" line each; empty when there are none; absent on error' },
      digest: { type: 'string', description: 'sha256 of the record (16 hex digits); absent on error' },
      error_code: { type: 'string', description: 'UPPER_SNAKE code when status is error (DNS_TIMEOUT, DNS_SERVFAIL, MTA_STS_UNREACHABLE, ...)' },
      spf_lookups: { type: 'integer', description: 'DNS-querying SPF terms counted through includes and redirects (limit 10)' },
      spf_void_lookups: { type: 'integer', description: 'SPF lookups that found no records (limit 2)' },
      spf_records: { type: 'integer', description: 'number of v=spf1 records, when more than one' },
      spf_result: { type: 'string', description: 'what SPF gives the IP: pass | fail | softfail | neutral | none | permerror' },
      dkim_key_type: { type: 'string', description: 'rsa | ed25519' },
      dkim_key_bits: { type: 'integer', unit: 'bits', description: 'RSA key size' },
      dkim_testing: { type: 'boolean', description: 'the key is in testing mode (t=y)' },
      dkim_revoked: { type: 'boolean', description: 'the key is revoked (empty p=)' },
      dmarc_policy: {
        type: 'string',
        description:
          'the policy receivers apply to the domain: none | quarantine | reject (sp= when inherited; none when p= is missing or p=, sp= or np= is invalid but rua= has a valid URI; the weakest value of a repeated tag); absent when they apply none',
      },
      dmarc_pct: { type: 'integer', unit: '%', description: 'pct= (100 when absent or invalid; RFC 9989 removed the tag)' },
      dmarc_record_domain: { type: 'string', description: 'where the record was found: the domain, or its organizational domain' },
      dmarc_rua: { type: 'boolean', description: 'aggregate reports are requested: rua= has at least one valid URI' },
      dmarc_adkim: { type: 'string', description: 'DKIM alignment: r | s (absent when adkim= is not given or invalid: receivers use r)' },
      dmarc_aspf: { type: 'string', description: 'SPF alignment: r | s (absent when aspf= is not given or invalid: receivers use r)' },
      mx_hosts: { type: 'integer', description: 'distinct MX hosts' },
      addresses: { type: 'integer', description: "the domain's A and AAAA records" },
      ptr_name: { type: 'string', description: 'the PTR name of the IP' },
      fcrdns: { type: 'boolean', description: 'the PTR name resolves back to the IP (forward-confirmed reverse DNS)' },
      mta_sts_mode: { type: 'string', description: 'enforce | testing | none' },
      mta_sts_max_age: { type: 'integer', unit: 's', description: "the policy's max_age" },
    },
    changes: { digest: 'digest', value: 'record', into: 'dns_auth_change' },
  },
  dns_auth_change: {
    description: 'A DNS authentication record that differs from the previous run (written by the store, once per change).',
    tags: {
      domain: 'the sending domain',
      check: 'which check saw the change',
      selector: 'the DKIM selector (check dkim)',
      ip: 'the sending IP (checks spf_ip and ptr)',
    },
    fields: {
      old_record: { type: 'string', description: 'the record before' },
      new_record: { type: 'string', description: 'the record now' },
      old_digest: { type: 'string', description: 'digest before' },
      new_digest: { type: 'string', description: 'digest now' },
    },
  },
  dns_auth_domain: {
    description: 'Per sending domain and run: how its DNS authentication checks came out.',
    tags: { domain: 'the sending domain' },
    fields: {
      status: { type: 'string', description: 'the worst check: fail, else error, else warn, else pass' },
      level: { type: 'integer', description: levelDescription },
      checks: { type: 'integer', description: 'checks run' },
      passed: { type: 'integer', description: 'checks that passed' },
      warnings: { type: 'integer', description: 'checks with a warning' },
      failures: { type: 'integer', description: 'checks that failed' },
      errors: { type: 'integer', description: 'checks that could not tell (DNS failed)' },
      failing: { type: 'string', description: 'the failing checks, comma-separated (dkim:s1, ptr:203.0.113.5)' },
    },
  },
} as const satisfies Record<string, MeasurementSpec>;

/** Are the domain's SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT and BIMI records right, and did any change? */
export const dnsAuth = defineProbe({
  kind: 'dns-auth',
  description:
    'Lints the DNS authentication of sending domains (SPF with lookup counting and per-IP results, DKIM keys per selector, DMARC with organizational fallback and report authorization, MX, A/AAAA, PTR/FCrDNS, MTA-STS, TLS-RPT, BIMI); a changed record yields a dns_auth_change observation.',
  configSchema,
  measurements,
  run,
});
