/**
 * DMARC aggregate reports from a real DMARC implementation: each provider of the
 * lab (gmail.test, outlook.test, yahoo.test) reports, with Mail::DMARC (Debian's
 * libmail-dmarc-perl), on the mail it received, to the rua of the domain in the
 * From header: for sender.test, dmarc@sender.test through sender.test's MX.
 *
 * Not a daemon: `sendAggregateReports()` runs dmarc-reporter.pl, which records the
 * messages delivered to the provider's mailboxes since the last run (from the
 * Received and Authentication-Results headers the lab's receiving checks wrote),
 * ends the open reporting periods and sends every due report over SMTP.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { withLock } from './lock.ts';
import { authservId, labDir, providers } from './plan.ts';
import { labPaths, type LabPaths } from './service.ts';

const run = promisify(execFile);

/** The receivers that report: every provider with mailboxes (not the sender's own MX, which checks nothing). */
export const dmarcReporters = Object.keys(providers) as (keyof typeof providers)[];

const iniFile = (paths: LabPaths, reporter: string) => join(paths.etc, 'mail-dmarc', `${reporter}.ini`);

/** The reporters' mail-dmarc.ini files and their public suffix list, by path relative to the state dir. */
export function mailDmarcFiles(paths: LabPaths): Record<string, string> {
  const store = join(paths.data, 'mail-dmarc');
  const files: Record<string, string> = {
    // Mail::DMARC finds the Organizational Domain with the public suffix list, where `test`
    // is not: sender.test's organizational domain would be "test", and every .test domain aligned.
    'etc/mail-dmarc/public_suffix_list.dat': '// The lab: every domain is under .test (RFC 6761), its only public suffix.\ntest\n',
  };
  for (const reporter of dmarcReporters) {
    files[`etc/mail-dmarc/${reporter}.ini`] = [
      `; Mailscope lab: ${reporter} as a DMARC aggregate reporter (Mail::DMARC). Rendered by test/lab; edits are overwritten.`,
      '[organization]',
      `domain = ${reporter}`,
      `org_name = ${reporter}`,
      `email = dmarc-noreply@${reporter}`,
      '',
      '[report_store]',
      'backend = SQL',
      `dsn = dbi:SQLite:dbname=${join(store, `${reporter}.sqlite`)}`,
      'user =',
      'pass =',
      'auto_save = 0',
      '',
      '[dmarc]',
      'backend = perl',
      '',
      '[dns]',
      'timeout = 2',
      `public_suffix_list = ${join(paths.etc, 'mail-dmarc', 'public_suffix_list.dat')}`,
      '',
      '; Reports go to the MX of each rua address, as Mail::DMARC does without a smarthost.',
      '[smtp]',
      `hostname = ${providers[reporter].mx}`,
      '',
      '; Read by dmarc-reporter.pl: where this receiver delivered, how its checks sign their results, the address its reports leave from.',
      '[lab]',
      `domain = ${reporter}`,
      `mx = ${providers[reporter].mx}`,
      `address = ${providers[reporter].address}`,
      `authserv_id = ${authservId}`,
      `maildir = ${join(paths.data, 'mail', reporter)}`,
      `seen = ${join(store, `${reporter}.seen`)}`,
      '',
    ].join('\n');
  }
  return files;
}

export interface ReporterRun {
  reporter: string;
  /** Messages newly recorded in the report store. */
  recorded: number;
  /** Messages looked at and not recorded: not through the lab's checks, or their From domain asks for no reports. */
  skipped: number;
  /** Messages that could not be read or evaluated (in the log): tried again on the next run. */
  errors: number;
  /** Report emails accepted by the rua's MX. */
  sent: number;
  /** Report emails not accepted (Mail::DMARC keeps the report and retries on the next run, unless refused with 5xx). */
  failed: number;
}

export interface AggregateReportRun {
  /** Report emails accepted, over all reporters. */
  sent: number;
  failed: number;
  recorded: number;
  reporters: ReporterRun[];
  /** Everything Mail::DMARC printed (its sender's log is verbose). */
  log: string;
  ms: number;
}

/**
 * Records what the providers received since the last call and sends the due
 * reports now; safe to call at any time and from several tests (one run at a
 * time, each message recorded once). When it returns, sender.test's MX has
 * accepted the reports: they reach dmarc@sender.test's INBOX within about a second.
 * Needs root and a running lab (its resolver and MX).
 */
export async function sendAggregateReports(options: { paths?: LabPaths } = {}): Promise<AggregateReportRun> {
  const paths = options.paths ?? labPaths();
  return withLock(join(paths.run, 'dmarc-reporter.lock'), async () => {
    const began = performance.now();
    // lab:up renders these too; written here as well so that a lab started before they existed reports.
    for (const [relative, content] of Object.entries(mailDmarcFiles(paths))) {
      const file = join(paths.state, relative);
      if (existsSync(file) && readFileSync(file, 'utf8') === content) continue;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    const resolvConf = join(paths.etc, 'resolv.conf');
    if (!existsSync(resolvConf)) throw new Error(`${resolvConf} is missing: is the lab up?`);
    // As the lab's daemons: in a mount namespace whose /etc/resolv.conf is the lab resolver's
    // (Net::DNS for the DMARC records and MX lookups, libc for the MX host's address).
    const script = 'mount --bind "$1" /etc/resolv.conf && shift && exec perl "$@"';
    const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', resolvConf, join(labDir, 'dmarc-reporter.pl')];
    // The reporters in parallel: each waits for the end of the current second before it closes its period.
    const outputs = await Promise.all(
      dmarcReporters.map(async (reporter) => {
        try {
          const { stdout, stderr } = await run('unshare', [...args, iniFile(paths, reporter)], { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
          return { stdout, log: `--- ${reporter}\n${stdout}${stderr}` };
        } catch (error) {
          const failed = error as { stdout?: string; stderr?: string; message: string };
          throw new Error(`dmarc-reporter.pl (${reporter}) failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
        }
      }),
    );
    const reporters = outputs.flatMap(({ stdout }) =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{"'))
        .map((line) => JSON.parse(line) as ReporterRun),
    );
    const log = outputs.map((output) => output.log).join('');
    const total = (key: 'sent' | 'failed' | 'recorded') => reporters.reduce((sum, reporter) => sum + reporter[key], 0);
    return { sent: total('sent'), failed: total('failed'), recorded: total('recorded'), reporters, log, ms: performance.now() - began };
  });
}
