/**
 * The lab's one source of addresses, ports, names and users. Everything the lab
 * renders, starts, checks and every test that talks to it reads them from here.
 *
 * Ports can be moved without editing code: MAILSCOPE_LAB_PORTS="imap=2143,influxdb=18086".
 * Two are fixed by the protocols the daemons speak: the resolver on port 53 (libc
 * resolvers inside Postfix, pyspf, spamd know no other) and the MX listeners on 25
 * (where an MTA delivers).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const labDir = import.meta.dirname;

/**
 * test/lab/state, when every directory above it lets other users through: the
 * daemons that drop privileges (rbldnsd, Dovecot's mail user, pyspf) must reach
 * their files. A checkout under /root (mode 700) gets a state dir in /var/tmp.
 */
function defaultStateDir(): string {
  for (let dir = labDir; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      return join('/var/tmp', `mailscope-lab-${createHash('sha256').update(labDir).digest('hex').slice(0, 8)}`);
    }
    if (dirname(dir) === dir) return join(labDir, 'state');
  }
}

const defaultPorts = {
  resolver: 53,
  nsd: 5300,
  rbldnsd: 5301,
  mx: 25,
  submissionClean: 2587,
  submissionListed: 2588,
  submissionUnsigned: 2589,
  submissionManagedA: 2590,
  submissionManagedB: 2591,
  /** Not the lab's: where the test's Mailscope serves Postfix's policy requests for the managed pools. */
  policy: 10040,
  imap: 1143,
  imaps: 1993,
  dkimSign: 8891,
  dkimVerify: 8892,
  dmarc: 8893,
  spamd: 7830,
  spamassMilter: 8894,
  mtaSts: 443,
  influxdb: 8086,
  influxdbRpc: 8088,
  victoria: 8428,
} as const;

export type PortName = keyof typeof defaultPorts;

function ports(): Record<PortName, number> {
  const result: Record<PortName, number> = { ...defaultPorts };
  const overrides = process.env.MAILSCOPE_LAB_PORTS;
  if (!overrides) return result;
  for (const item of overrides.split(',')) {
    const [name, value] = item.split('=').map((part) => part.trim());
    if (!name || !(name in result) || !/^\d+$/.test(value ?? '') || Number(value) < 1 || Number(value) > 65535) {
      throw new Error(`MAILSCOPE_LAB_PORTS: "${item}" is not name=port with a name among ${Object.keys(result).join(', ')}`);
    }
    result[name as PortName] = Number(value);
  }
  return result;
}

const port = ports();

/** The sending brand and its pools: each submission port leaves from its own address. */
export const sender = {
  domain: 'sender.test',
  bounceMailbox: 'bounces@sender.test',
  dkimSelector: 'lab2026',
  pools: {
    clean: { submission: port.submissionClean, source: '127.0.0.10', helo: 'mta-a.sender.test', signed: true, inSpf: true, ptr: true, managed: false },
    listed: { submission: port.submissionListed, source: '127.0.0.11', helo: 'mta-b.sender.test', signed: true, inSpf: true, ptr: true, managed: false },
    unsigned: { submission: port.submissionUnsigned, source: '127.0.0.12', helo: 'mta-c.sender.test', signed: false, inSpf: false, ptr: false, managed: false },
    // Send control: Postfix asks Mailscope's policy service (port.policy) about each recipient, with
    // policy_context "ip=<source> pool=<name>"; while no policy service answers, mail goes (DUNNO).
    managedA: { submission: port.submissionManagedA, source: '127.0.0.14', helo: 'mta-d.sender.test', signed: true, inSpf: false, ptr: true, managed: true },
    managedB: { submission: port.submissionManagedB, source: '127.0.0.15', helo: 'mta-e.sender.test', signed: true, inSpf: false, ptr: true, managed: true },
  },
  /** The sender's own MX, where DSNs (bounces) arrive. */
  mx: { host: 'mx.sender.test', address: '127.0.0.20' },
} as const;

export type PoolName = keyof typeof sender.pools;

/** Seed mailbox providers: each MX on its own address, each with its own policy (Sieve). */
export const providers = {
  'gmail.test': { mx: 'mx.gmail.test', address: '127.0.0.21', policy: 'spam → Junk; List-Unsubscribe (bulk) → Promotions' },
  'outlook.test': { mx: 'mx.outlook.test', address: '127.0.0.22', policy: 'spam → Junk; no dmarc=pass → Junk' },
  'yahoo.test': { mx: 'mx.yahoo.test', address: '127.0.0.23', policy: 'rejects DNSBL-listed clients at RCPT (554); spam → Junk' },
} as const;

export type ProviderDomain = keyof typeof providers;

/**
 * A provider for the traffic tests: its MX accepts at most `messagesPerWindow`
 * messages from one client per anvil window (then 4xx: the platform's mail is
 * deferred) and only the recipients `user0`..`user999` (550 5.1.1 for the others:
 * bounced). What it accepts is discarded (no mailbox to read).
 */
export const limitedProvider = {
  domain: 'limited.test',
  mx: 'mx.limited.test',
  address: '127.0.0.24',
  messagesPerWindow: 10,
  windowSeconds: 10,
  recipient: (n: number) => `user${n}@limited.test`,
} as const;

export const labPassword = 'lab-seed-password';

/** IMAP users: seeds per provider, and the sender's bounce mailbox. */
export const mailboxes = [
  'seed1@gmail.test',
  'seed2@gmail.test',
  'seed1@outlook.test',
  'seed2@outlook.test',
  'seed1@yahoo.test',
  'seed2@yahoo.test',
  'bounces@sender.test',
  'dmarc@sender.test',
] as const;

/** Extra seeds for bench/placement.ts: 50 mailboxes spread over the three providers. */
export const benchMailboxes = Array.from({ length: 50 }, (_, i) => `bench${String(i + 1).padStart(2, '0')}@${Object.keys(providers)[i % 3]}`);

/** The authentication identifier every receiving check writes in Authentication-Results. */
export const authservId = 'mx.lab.test';

export const dnsbl = {
  /** Spamhaus-ZEN-like: several datasets (codes) in one zone, IPv4 and IPv6. */
  ipZone: 'zen.dnsbl.test',
  /** Spamhaus-DBL-like domain list. */
  domainZone: 'dbl.dnsbl.test',
  /** Addresses listed from the start, with their codes. */
  listedPoolCodes: ['127.0.0.2', '127.0.0.4'],
} as const;

export const lab = {
  stateDir: process.env.MAILSCOPE_LAB_STATE ?? defaultStateDir(),
  port,
  resolver: { host: '127.0.0.1', port: port.resolver },
  nsd: { host: '127.0.0.1', port: port.nsd },
  rbldnsd: { host: '127.0.0.1', port: port.rbldnsd },
  imap: { host: '127.0.0.1', port: port.imap, tlsPort: port.imaps, hostname: 'imap.lab.test' },
  mtaSts: { address: '127.0.0.30', port: port.mtaSts },
  influxdb: { url: `http://127.0.0.1:${port.influxdb}`, database: 'mailscope' },
  victoria: { url: `http://127.0.0.1:${port.victoria}` },
  /** Postfix's own name and the address its default transport leaves from. */
  mta: { hostname: 'mta.sender.test', address: '127.0.0.1' },
} as const;

/** Every 127.0.0.x address the lab binds or sends from (all on loopback: 127/8 needs no setup on Linux). */
export function labAddresses(): string[] {
  return [
    '127.0.0.1',
    ...Object.values(sender.pools).map((pool) => pool.source),
    sender.mx.address,
    ...Object.values(providers).map((provider) => provider.address),
    limitedProvider.address,
    lab.mtaSts.address,
  ];
}
