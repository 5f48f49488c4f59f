/** The Debian packages the lab runs, installed when missing — without letting their scripts start daemons. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

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
  return labPackages.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

/** Installs what is missing; returns what it installed. */
export function installPackages(log: (line: string) => void): string[] {
  const missing = missingPackages();
  if (missing.length === 0) return [];
  log(`installing Debian packages: ${missing.join(' ')}`);
  // No init system here: maintainer scripts would try to start daemons on :25, :53, :143.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('debconf-set-selections', {
      input: 'postfix postfix/main_mailer_type select No configuration\nopendmarc opendmarc/dbconfig-install boolean false\n',
    });
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  return missing;
}
