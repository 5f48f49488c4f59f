/**
 * List and delist on the lab's DNSBLs while it runs, as a test would on a real
 * list: rbldnsd rereads its files every second, the resolver caches for 5 s.
 */
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { catalogOf } from '../../src/probes/dnsbl-config.ts';
import { loadConfig } from '../../src/config/load.ts';
import { withFileLock } from './lock.ts';
import { dnsbl, lab } from './plan.ts';
import { rbldnsdDir } from './services/rbldnsd.ts';

type DynamicFile = 'dynamic-ip4.txt' | 'dynamic-ip6.txt' | 'dynamic-dbl.txt';

function fileFor(entry: string): DynamicFile {
  if (/^[\d.]+(\/\d+)?$/.test(entry)) return 'dynamic-ip4.txt';
  if (isIPv6(entry.split('/')[0]!)) return 'dynamic-ip6.txt';
  return 'dynamic-dbl.txt';
}

async function edit(entry: string, change: (lines: string[]) => string[]): Promise<void> {
  const file = join(rbldnsdDir(lab.stateDir), fileFor(entry));
  await withFileLock(`${file}.lock`, () => {
    const before = statSync(file).mtimeMs;
    const [header, ...entries] = readFileSync(file, 'utf8').trimEnd().split('\n');
    writeFileSync(file, `${[header, ...change(entries)].join('\n')}\n`);
    // rbldnsd notices a change by mtime in whole seconds: make sure it moved.
    const seconds = Math.max(Math.floor(before / 1000) + 1, Math.floor(Date.now() / 1000));
    utimesSync(file, seconds, seconds);
  });
}

const entryName = (line: string) => line.split(/\s+/)[0];

/** List an IPv4/IPv6 address or range on zen.dnsbl.test, or a domain on dbl.dnsbl.test; value like ":127.0.0.4:reason". */
export async function list(entry: string, value = ''): Promise<void> {
  await edit(entry, (lines) => [...lines.filter((line) => entryName(line) !== entry), value ? `${entry} ${value}` : entry]);
}

export async function delist(entry: string): Promise<void> {
  await edit(entry, (lines) => lines.filter((line) => entryName(line) !== entry));
}

/** The DNSBL query name (RFC 5782) of an IPv4 or IPv6 address, or of a domain. */
export function queryName(entry: string): string {
  if (ipaddr.isValid(entry)) {
    const address = ipaddr.parse(entry);
    const labels =
      address.kind() === 'ipv4'
        ? address.toByteArray().reverse().map(String)
        : address
            .toByteArray()
            .flatMap((byte) => [byte >> 4, byte & 15])
            .reverse()
            .map((nibble) => nibble.toString(16));
    return `${labels.join('.')}.${dnsbl.ipZone}`;
  }
  return `${entry}.${dnsbl.domainZone}`;
}

const repoRoot = join(import.meta.dirname, '..', '..');
const demo = loadConfig(join(repoRoot, 'demo', 'mailscope.yaml'), { env: {}, cwd: repoRoot });

/** The lab's DNSBLs as a user configures them: demo/mailscope.yaml's blocklists.lists, the one definition. */
export const labListsConfig = demo.instance.blocklists.lists;
/** The catalog with the lab's lists (lab-zen, lab-dbl) added. */
export const labCatalog = catalogOf(demo.instance);
