/**
 * Debian's Chromium, which the browser tier (*.browser.test.ts) drives through
 * playwright-core. This file is that tier's vitest global setup: Chromium is
 * installed when missing, once for the run, as the lab installs its packages.
 */
import { existsSync } from 'node:fs';
import { installDebianPackages, missingDebianPackages } from './debian.ts';

export const chromiumPackage = 'chromium';
export const chromiumPath = '/usr/bin/chromium';

/** Headless, and quiet: no sandbox (root), no GPU, no update or sync traffic (the machine has no internet). */
export const chromiumArgs = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/** Installs Chromium unless it is there; without root, says what to do instead. */
export function ensureChromium(log: (line: string) => void): void {
  if (existsSync(chromiumPath) && missingDebianPackages([chromiumPackage]).length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the browser tests need Debian's ${chromiumPackage} (${chromiumPath}): install it (apt-get install ${chromiumPackage}), or run npm test as root, which installs it`);
  }
  installDebianPackages([chromiumPackage], log);
}

export default function setup(): void {
  ensureChromium((line) => process.stderr.write(`browser tests: ${line}\n`));
}
