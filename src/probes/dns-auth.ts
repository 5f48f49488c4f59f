import { z } from 'zod';
import { maxStringFieldLength, type Observation } from '../core/observation.ts';
import { duration, readableFile } from '../core/schema.ts';
import {
  checkNames,
  domainProblem,
  ipProblem,
  levelNumber,
  normalizeDomain,
  selectorProblem,
  worstLevel,
  type CheckContext,
  type CheckName,
  type CheckResult,
} from './dns-auth-check.ts';
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

export const sendingDomain = z
  .object({
    domain: refineEach(domainProblem)
      .transform((text) => normalizeDomain(text)!)
      .describe('the sending domain (the From / envelope domain)'),
    ips: z.array(refineEach(ipProblem)).default([]).describe('sending IPs: each gets its SPF result and its PTR / forward-confirmed reverse DNS checked'),
    selectors: z.array(refineEach(selectorProblem)).default([]).describe('DKIM selectors the platform signs with (the s= of its signatures)'),
    skip: z.array(z.enum(checkNames)).default([]).describe(`checks not to run for this domain (${checkNames.join(', ')})`),
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

export function checkObservation(check: CheckResult, time: Date): Observation {
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

export function domainObservation(domain: string, checks: CheckResult[], time: Date): Observation {
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

/** Are the domain's SPF, DKIM, DMARC, MX, PTR, MTA-STS, TLS-RPT and BIMI records right, and did any change? */
export const dnsAuth = defineProbe({
  kind: 'dns-auth',
  description:
    'Lints the DNS authentication of sending domains (SPF with lookup counting and per-IP results, DKIM keys per selector, DMARC with organizational fallback and report authorization, MX, A/AAAA, PTR/FCrDNS, MTA-STS, TLS-RPT, BIMI); a changed record yields a dns_auth_change observation.',
  configSchema,
  run,
});
