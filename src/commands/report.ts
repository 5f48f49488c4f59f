/**
 * `mailscope report parse FILE...`: read feedback reports (DMARC aggregate,
 * TLS-RPT, ARF, DSN; bare, gzip, zip or in a mail) and print what each says,
 * recording nothing. `mailscope report import FILE...`: record them, as a report
 * source would (each report once; what cannot be read goes to the quarantine).
 * Exit 0 when every file was read, 1 when some were not, 2 on bad usage.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ReadOutcome } from '../protocols/reports/read.ts';
import { readFeedback } from '../protocols/reports/read.ts';
import type { FeedbackReport } from '../protocols/reports/types.ts';
import { escapeControls } from '../core/text.ts';
import { type CommandContext, ExitError, exitCodes } from './context.ts';

/** What `report parse --json` prints of a report: the fields a script needs, per kind. */
export function reportSummary(report: FeedbackReport): Record<string, unknown> {
  switch (report.kind) {
    case 'dmarc-aggregate':
      return {
        kind: report.kind,
        org: report.org,
        reportId: report.reportId,
        domain: report.policy.domain,
        begin: report.begin.toISOString(),
        end: report.end.toISOString(),
        rows: report.rows.length,
        messages: report.messages,
      };
    case 'tls-rpt':
      return {
        kind: report.kind,
        org: report.org,
        reportId: report.reportId,
        begin: report.begin.toISOString(),
        end: report.end.toISOString(),
        policies: report.policies.map((policy) => ({ policyType: policy.policyType, policyDomain: policy.policyDomain, successes: policy.successes, failures: policy.failures })),
        successes: report.successes,
        failures: report.failures,
      };
    case 'arf':
      return {
        kind: report.kind,
        feedbackType: report.feedbackType,
        ...(report.reporter ? { reporter: report.reporter } : {}),
        ...(report.sourceIp ? { sourceIp: report.sourceIp } : {}),
        ...(report.originalMailFrom ? { originalMailFrom: report.originalMailFrom } : {}),
        ...(report.originalRcptTo ? { originalRcptTo: report.originalRcptTo } : {}),
        ...(report.reportedDomain ? { reportedDomain: report.reportedDomain } : {}),
        ...(report.arrivalDate ? { arrivalDate: report.arrivalDate.toISOString() } : {}),
      };
    case 'dsn':
      return {
        kind: report.kind,
        ...(report.reportingMta ? { reportingMta: report.reportingMta } : {}),
        recipients: report.recipients.map((recipient) => ({
          original: recipient.original ?? null,
          final: recipient.final,
          action: recipient.action,
          status: recipient.status ?? null,
          diagnostic: recipient.diagnostic ?? null,
        })),
      };
  }
}

function humanLine(file: string, summary: Record<string, unknown>): string {
  const { kind, file: _file, ...rest } = summary;
  const fields = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  return escapeControls(`${file}: ${String(kind)} ${fields}`);
}

async function readable(file: string, cwd: string): Promise<string | undefined> {
  try {
    await access(resolve(cwd, file), constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

export async function reportParse(ctx: CommandContext, files: string[], options: { json?: boolean }): Promise<void> {
  const instance = ctx.instanceIfPresent();
  const { nameSources: _names, namesPerReport: _perReport, ...limits } = instance.reports;
  let failed = 0;
  for (const file of files) {
    const problem = await readable(file, ctx.host.cwd);
    const outcomes: ReadOutcome[] = problem ? [] : await readFeedback(createReadStream(resolve(ctx.host.cwd, file)), limits);
    if (problem || outcomes.every((outcome) => !outcome.ok)) failed++;
    const lines = problem
      ? [{ file, kind: 'unknown', error: problem }]
      : outcomes.map((outcome) => ({
          file,
          ...(outcome.part !== undefined ? { part: outcome.part } : {}),
          ...(outcome.ok ? reportSummary(outcome.report) : { kind: 'unknown', code: outcome.error.code, error: outcome.error.message }),
        }));
    for (const line of lines) ctx.out(options.json ? JSON.stringify(line) : humanLine(file, line));
  }
  if (failed > 0) throw new ExitError(exitCodes.failed, '');
}

export async function reportImport(ctx: CommandContext, files: string[], options: { json?: boolean }): Promise<void> {
  const services = ctx.services(ctx.config());
  let failed = 0;
  try {
    for (const file of files) {
      const problem = await readable(file, ctx.host.cwd);
      if (problem) {
        failed++;
        ctx.out(options.json ? JSON.stringify({ file, status: 'unreadable', error: problem }) : escapeControls(`${file}: ${problem}`));
        continue;
      }
      const result = await services.reports.intake(createReadStream(resolve(ctx.host.cwd, file)), { source: 'cli', name: file });
      if (result.recorded + result.duplicates === 0) failed++;
      for (const outcome of result.outcomes) {
        if (options.json) ctx.out(JSON.stringify({ file, ...outcome }));
        else {
          const what = outcome.status === 'quarantined' ? `${outcome.code}: ${outcome.reason}` : `${outcome.kind} ${outcome.org ?? ''} ${outcome.reportId ?? ''} (report ${outcome.id})`;
          ctx.out(escapeControls(`${file}${outcome.part !== undefined ? ` [${outcome.part}]` : ''}: ${outcome.status} ${what}`));
        }
      }
    }
  } finally {
    services.close();
  }
  if (failed > 0) throw new ExitError(exitCodes.failed, '');
}
