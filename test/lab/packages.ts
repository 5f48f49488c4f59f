/** The Debian packages the lab runs, installed when missing — without letting their scripts start daemons. */
import { installDebianPackages, missingDebianPackages } from '../helpers/debian.ts';

export const labPackages = [
  'nsd',
  'unbound',
  'rbldnsd',
  'postfix',
  'postfix-policyd-spf-python',
  'dovecot-imapd',
  'dovecot-lmtpd',
  'dovecot-sieve',
  'opendkim',
  'opendkim-tools',
  'opendmarc',
  // Mail::DMARC: the providers' aggregate reports (dmarc-reporter.ts).
  'libmail-dmarc-perl',
  'spamd',
  'spamass-milter',
  'influxdb',
  'victoria-metrics',
  'openssl',
  'util-linux',
];

export function missingPackages(): string[] {
  return missingDebianPackages(labPackages);
}

/** Installs what is missing; returns what it installed. */
export function installPackages(log: (line: string) => void): string[] {
  return installDebianPackages(labPackages, log, {
    debconf: 'postfix postfix/main_mailer_type select No configuration\nopendmarc opendmarc/dbconfig-install boolean false\n',
  });
}
