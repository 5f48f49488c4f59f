/** rbldnsd serving the lab's DNSBLs: a Spamhaus-ZEN-like IP list and a DBL-like domain list. */
import { join } from 'node:path';
import { dnsbl, lab, sender } from '../plan.ts';
import { resolverAt, type LabService } from '../service.ts';

/**
 * Each file is one rbldnsd dataset: its first line gives the default answer and
 * TXT ("$" becomes the queried IP or name). Several datasets in one zone answer
 * together, so an IP in two of them gets two A records.
 */
export const dnsblFiles = {
  'zen-sbl.txt': [':127.0.0.2:Listed in lab SBL (spam source), see https://dnsbl.test/sbl?ip=$', '127.0.0.2', sender.pools.listed.source],
  'zen-xbl.txt': [':127.0.0.4:Listed in lab XBL (exploited host), see https://dnsbl.test/xbl?ip=$', sender.pools.listed.source],
  'zen-pbl.txt': [':127.0.0.10:Listed in lab PBL (end-user range), see https://dnsbl.test/pbl?ip=$', '198.51.100.0/29'],
  'zen6.txt': [':127.0.0.2:Listed in lab SBL (IPv6), see https://dnsbl.test/sbl?ip=$', '::ffff:7f00:2', '2001:db8::bad'],
  'dbl.txt': [':127.0.1.2:Listed in lab DBL (spam domain), see https://dnsbl.test/dbl?d=$', 'test', 'spammy-brand.test', 'phish.test :127.0.1.4:Listed in lab DBL (phishing domain)'],
  // Written by tests (list, delist) while the lab runs; rbldnsd rereads them every second.
  'dynamic-ip4.txt': [':127.0.0.2:Listed by a lab test, see https://dnsbl.test/sbl?ip=$'],
  'dynamic-ip6.txt': [':127.0.0.2:Listed by a lab test (IPv6), see https://dnsbl.test/sbl?ip=$'],
  'dynamic-dbl.txt': [':127.0.1.2:Listed by a lab test, see https://dnsbl.test/dbl?d=$'],
} as const;

const datasets: [zone: string, type: string, file: keyof typeof dnsblFiles][] = [
  [dnsbl.ipZone, 'ip4set', 'zen-sbl.txt'],
  [dnsbl.ipZone, 'ip4set', 'zen-xbl.txt'],
  [dnsbl.ipZone, 'ip4set', 'zen-pbl.txt'],
  [dnsbl.ipZone, 'ip4set', 'dynamic-ip4.txt'],
  [dnsbl.ipZone, 'ip6trie', 'zen6.txt'],
  [dnsbl.ipZone, 'ip6trie', 'dynamic-ip6.txt'],
  [dnsbl.domainZone, 'dnset', 'dbl.txt'],
  [dnsbl.domainZone, 'dnset', 'dynamic-dbl.txt'],
];

export const rbldnsdDir = (state: string) => join(state, 'etc', 'rbldnsd');

export const rbldnsd: LabService = {
  name: 'rbldnsd',
  processMatch: 'rbldnsd',
  listeners: [{ address: lab.rbldnsd.host, port: lab.rbldnsd.port, protocol: 'udp' }],
  files() {
    return Object.fromEntries(Object.entries(dnsblFiles).map(([file, lines]) => [`etc/rbldnsd/${file}`, `${lines.join('\n')}\n`]));
  },
  start: ({ paths }) => ({
    argv: [
      'rbldnsd',
      '-u',
      'rbldns',
      '-w',
      rbldnsdDir(paths.state),
      '-b',
      `${lab.rbldnsd.host}/${lab.rbldnsd.port}`,
      '-p',
      join(paths.run, 'rbldnsd.pid'),
      '-c',
      '1',
      '-t',
      '5',
      '-q',
      ...datasets.map(([zone, type, file]) => `${zone}:${type}:${file}`),
    ],
    pidFile: join(paths.run, 'rbldnsd.pid'),
  }),
  async ready() {
    const answer = await resolverAt(lab.rbldnsd.host, lab.rbldnsd.port).resolve4(`2.0.0.127.${dnsbl.ipZone}`);
    if (!answer.includes('127.0.0.2')) throw new Error(`rbldnsd answers ${answer.join(', ')} for the 127.0.0.2 test point`);
  },
};
