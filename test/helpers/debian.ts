/**
 * Debian packages the tests need (the lab's servers, Chromium for the browser
 * tests), installed when missing — without letting their scripts start daemons.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

/** Those of `names` dpkg does not have installed. */
export function missingDebianPackages(names: readonly string[]): string[] {
  return names.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

/**
 * Installs those of `names` that are missing (root; apt-get, no recommends);
 * returns what it installed. `debconf` answers the packages' questions beforehand.
 */
export function installDebianPackages(names: readonly string[], log: (line: string) => void, options: { debconf?: string } = {}): string[] {
  const missing = missingDebianPackages(names);
  if (missing.length === 0) return [];
  log(`installing Debian packages: ${missing.join(' ')}`);
  // No init system here: maintainer scripts would try to start daemons on :25, :53, :143.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    if (options.debconf) execFileSync('debconf-set-selections', { input: options.debconf });
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Another apt-get may hold the lock for a while (unattended upgrades): wait for it rather than fail.
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    execFileSync('apt-get', [...lock, 'update', '-qq'], { env, stdio: 'inherit' });
    execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  return missing;
}
