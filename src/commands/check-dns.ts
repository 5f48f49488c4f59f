/**
 * `mailscope check dns <domain>`: the DNS authentication checks by hand or in a
 * script. Exit 0 nothing failed (warnings allowed), 1 something failed, 3 nothing
 * failed but some checks could not tell (DNS errors), 2 bad input (nothing sent).
 */
import { readBounded } from '../core/read-bounded.ts';
import { checkNames, domainProblem, ipProblem, normalizeDomain, selectorProblem, type CheckName, type CheckResult, type Level } from '../probes/dns-auth-check.ts';
import { checkDomain, type SendingDomain } from '../probes/dns-auth.ts';
import type { Resolver } from '../protocols/dns/types.ts';
import { exitCodes, ExitError, type CommandContext } from './context.ts';

export interface CheckDnsInput {
  domain: string;
  ips: string[];
  selectors: string[];
  skip: string[];
  caFile?: string | undefined;
}

/** A PEM bundle of CA certificates is kilobytes (the whole system store is about 200 KB). */
const maxCaFileBytes = 1024 * 1024;

export type ResolvedDns = { ok: true; target: SendingDomain; extraCa?: Buffer } | { ok: false; problems: string[] };

/** The domain, IPs and selectors from the command line, or every problem with them: before a single query. */
function resolveDnsInput(input: CheckDnsInput): ResolvedDns {
  const problems = [domainProblem(input.domain, 'with --ip'), ...input.ips.map(ipProblem), ...input.selectors.map(selectorProblem)].filter((problem): problem is string => Boolean(problem));
  for (const check of input.skip) {
    if (!(checkNames as readonly string[]).includes(check)) problems.push(`unknown check "${check}" for --skip (expected one of: ${checkNames.join(', ')})`);
  }
  let extraCa: Buffer | undefined;
  if (input.caFile) {
    const read = readBounded(input.caFile, maxCaFileBytes);
    if (read.ok) extraCa = read.data;
    else if (read.tooLarge) problems.push(`--ca-file "${input.caFile}" is more than ${maxCaFileBytes / 1024 / 1024} MiB: not a PEM file of CA certificates`);
    else problems.push(`cannot read --ca-file "${input.caFile}": ${read.error.code ?? read.error.message}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const target: SendingDomain = { domain: normalizeDomain(input.domain)!, ips: input.ips, selectors: input.selectors, skip: input.skip as CheckName[] };
  return { ok: true, target, ...(extraCa ? { extraCa } : {}) };
}

const statusText: Record<Level, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR' };

function subjectOf(check: CheckResult): string {
  return [check.check, check.selector ?? check.ip].filter(Boolean).join(' ');
}

function exitCodeOf(checks: CheckResult[]): number {
  if (checks.some((check) => check.status === 'fail')) return 1;
  if (checks.some((check) => check.status === 'error')) return 3;
  return 0;
}

async function checkDns(dns: Resolver, resolved: Extract<ResolvedDns, { ok: true }>, options: { json: boolean; write: (line: string) => void }): Promise<number> {
  const checks = await checkDomain(resolved.target, { dns, ...(resolved.extraCa ? { extraCa: resolved.extraCa } : {}) });
  const counts = Object.fromEntries((['pass', 'warn', 'fail', 'error'] as const).map((level) => [level, checks.filter((check) => check.status === level).length])) as Record<Level, number>;
  if (options.json) {
    options.write(
      JSON.stringify({
        domain: resolved.target.domain,
        counts,
        checks: checks.map((check) => ({
          check: check.check,
          ...(check.selector ? { selector: check.selector } : {}),
          ...(check.ip ? { ip: check.ip } : {}),
          status: check.status,
          message: check.message,
          findings: check.findings,
          ...(check.record !== undefined ? { record: check.record, digest: check.digest } : {}),
          ...(check.errorCode ? { error_code: check.errorCode } : {}),
          details: check.details,
        })),
      }),
    );
    return exitCodeOf(checks);
  }
  const width = Math.max(...checks.map((check) => subjectOf(check).length));
  options.write(resolved.target.domain);
  for (const check of checks) {
    options.write(`  ${statusText[check.status].padEnd(5)}  ${subjectOf(check).padEnd(width)}  ${check.message}`);
    if (check.status !== 'pass' && check.record) {
      for (const line of check.record.split('\n')) options.write(`  ${''.padEnd(5)}  ${''.padEnd(width)}  seen: ${line}`);
    }
  }
  options.write('');
  options.write(`${checks.length} checks: ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail, ${counts.error} error`);
  return exitCodeOf(checks);
}

/** The command: the input checked (exit 2 with every problem, nothing sent), then the checks printed; exit as `checkDns` says. */
export async function checkDnsCommand(ctx: CommandContext, domain: string, options: { ip?: string[]; selector?: string[]; skip?: string[]; caFile?: string; json?: boolean }): Promise<void> {
  const resolved = resolveDnsInput({ domain, ips: options.ip ?? [], selectors: options.selector ?? [], skip: options.skip ?? [], caFile: options.caFile });
  if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
  const instance = ctx.instanceIfPresent();
  const dns = ctx.dns(instance);
  try {
    const code = await checkDns(dns, resolved, { json: Boolean(options.json), write: ctx.out });
    if (code !== 0) throw new ExitError(code, '');
  } finally {
    dns.close();
  }
}
