/**
 * npm run bench -- traffic
 *
 * The sending platform's traffic into Mailscope: 1,000,000 delivery events
 * through each way in, against a reference measured in the same run.
 * - HTTP: `mailscope run` as the CLI starts it (startObservatory), in its own
 *   process, with a `kumomta` source, an ingest token and traffic.mxLookup off.
 *   1,000,000 KumoMTA log records in the documented shape (JsonLogRecord, as in
 *   test/sources/kumomta.test.ts): 85% Delivery, 10% TransientFailure and 5%
 *   Bounce with the providers' own replies; 19 recipient domains of the 10
 *   built-in providers, and 200 business domains (provider "other", 14% of the
 *   mail); 50 sending IPs in 5 pools; dated
 *   over the last hour in order, as a hook posts them, so every batch falls in a
 *   minute or two and an hour's minutes and slices are aggregated. Posted as JSON
 *   arrays of 500 records (about 500 KB: KumoMTA's batched hooks send batch_size
 *   records per request, and 500 is a middle value under the 8 MiB limit) over 4
 *   keep-alive connections (a hook's webhook queue delivers over a few
 *   connections, and several nodes post to one Mailscope; more connections than
 *   this only queue in front of the one event loop, adding latency, not events).
 *   Bodies are made before the clock starts: the load generator shares the 2
 *   cores. Measured: events/s, p50/p99 of the time from a batch's request to its
 *   200 (the acknowledgement, after the commit), server CPU (share of a core, and
 *   µs per event: what other load on the machine changes least), and the server's
 *   heap after a full GC and RSS at 100,000, 500,000 and 1,000,000 events.
 * - Postfix log: the same 1,000,000 events as Postfix delivery lines (syslog
 *   format, one master.cf service per sending IP), appended to the mail log that a
 *   `postfix-log` source of the same server tails (default batchLines, a poll
 *   interval of 100 ms); from the first append to the commit of the checkpoint at
 *   the file's end (its updated_at), events/s.
 * - Reference: what a naive "store every event" ingester does with the same
 *   events: one row each, inserted with plain node:sqlite (WAL, synchronous
 *   NORMAL, as Mailscope's store) in transactions of 500 rows, in a process of
 *   its own; only the transactions are timed. Run three times (before HTTP,
 *   between HTTP and Postfix, after Postfix), median. Once more with JSON.parse
 *   of the same bodies (and the rows taken from the records, unchecked) timed
 *   too: no goal, it shows what the parse alone costs beside the insert.
 * Memory flat: the heap after a full GC (what is kept) grows by at most 10% from
 * 100,000 to 1,000,000 events. RSS is reported beside it: it follows V8's heap
 * sizing (garbage is collected lazily), not what is kept.
 * Goals: HTTP ≥ 50,000 events/s, HTTP / reference ≥ 0.5, memory flat from 100k to
 * 1M events. Every answer is checked (200, accepted = records sent), and at the
 * end the aggregates (per provider and outcome, and the bounce classes) must
 * equal what was sent: a mismatch fails the bench (exit 1).
 *
 * MAILSCOPE_BENCH_PROFILE=DIR: the Mailscope server process writes a CPU profile
 * there (node --cpu-prof) when it stops; MAILSCOPE_BENCH_ONLY=http or postfix runs
 * one half (a profile of one way in). MAILSCOPE_BENCH_EVENTS=N: fewer events (a
 * quick look; the goals are for 1,000,000).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { builtinProviders } from '../src/core/providers.ts';
import { startObservatory } from '../src/observatory.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';
import { Database } from '../src/store/database.ts';
import { median, Mismatches, percentiles, random, ServerChild } from './lib/measure.ts';

const totalEvents = Number(process.env.MAILSCOPE_BENCH_EVENTS ?? 1_000_000);
const batchSize = 500;
const connections = 4;
/** Where the server's memory is looked at (after a full GC besides): 100k, half-way, and the end. */
const memoryMarks = [Math.min(100_000, totalEvents / 10), totalEvents / 2];
const ingestToken = 'bench-ingest-token-0000000001';
const goals = { rate: 50_000, ratio: 0.5, memoryGrowth: 1.1 };
const postfixLinesPerWrite = 10_000;

// ---------------------------------------------------------------- the traffic

const providerOf = new Map<string, string>(Object.entries(builtinProviders).flatMap(([provider, domains]) => domains.map((domain) => [domain, provider] as const)));

/** Recipient domains and their share of the mail: a consumer list, and business domains (provider "other": mxLookup is off). */
const domainShares: readonly [string, number][] = [
  ['gmail.com', 30],
  ['googlemail.com', 1],
  ['outlook.com', 7],
  ['hotmail.com', 8],
  ['live.com', 2],
  ['msn.com', 1],
  ['yahoo.com', 9],
  ['aol.com', 3],
  ['ymail.com', 1],
  ['icloud.com', 6],
  ['me.com', 1],
  ['gmx.de', 4],
  ['web.de', 3],
  ['mail.ru', 2],
  ['yandex.ru', 1],
  ['proton.me', 1],
  ['comcast.net', 3],
  ['orange.fr', 2],
  ['wanadoo.fr', 1],
  ['corp-mail.example', 14],
];
const domainTable = domainShares.flatMap(([domain, share]) => Array.from({ length: share }, () => domain));
const corpDomains = Array.from({ length: 200 }, (_, n) => `corp-${n}.example`);

const ipCount = 50;
const poolCount = 5;
const ipOf = (n: number) => `10.0.1.${n + 1}`;
const poolOf = (n: number) => `pool-${String.fromCharCode(97 + (n % poolCount))}`;
const sourceOf = (n: number) => `ip-${String(n + 1).padStart(2, '0')}`;

type KumoType = 'Delivery' | 'TransientFailure' | 'Bounce';
const outcomeOf: Record<KumoType, 'delivered' | 'deferred' | 'bounced'> = { Delivery: 'delivered', TransientFailure: 'deferred', Bounce: 'bounced' };

interface Reply {
  code: number;
  enhanced: [number, number, number];
  text: (ip: string, id: string) => string;
  command: string;
}

const mxOf: Record<string, { name: string; addr: string }> = {
  gmail: { name: 'gmail-smtp-in.l.google.com.', addr: '142.251.2.27' },
  outlook: { name: 'hotmail-com.olc.protection.outlook.com.', addr: '52.101.42.3' },
  yahoo: { name: 'mta7.am0.yahoodns.net.', addr: '67.195.204.74' },
  apple: { name: 'mx01.mail.icloud.com.', addr: '17.57.154.6' },
  gmx: { name: 'mx00.emig.gmx.net.', addr: '212.227.15.9' },
  other: { name: 'mx1.corp-mail.example.', addr: '198.51.100.25' },
};
const mxFor = (provider: string) => mxOf[provider] ?? { name: `mx.${provider}.example.`, addr: '203.0.113.25' };

/** Replies as the providers word them (the variable parts, ids and addresses, differ from one to the next). */
const deferrals: Record<string, readonly Reply[]> = {
  gmail: [
    {
      code: 421,
      enhanced: [4, 7, 28],
      text: (ip, id) =>
        `[${ip}      15] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. For more information, go to https://support.google.com/mail/?p=UnsolicitedRateLimitError to review our Bulk Email Senders Guidelines. ${id} - gsmtp`,
      command: '.',
    },
    {
      code: 452,
      enhanced: [4, 2, 2],
      text: (_ip, id) => `The recipient's inbox is out of storage space. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp ${id} - gsmtp`,
      command: 'RCPT TO',
    },
  ],
  outlook: [
    {
      code: 451,
      enhanced: [4, 7, 500],
      text: (ip, id) => `Server busy. Please try again later from [${ip}]. (S77719) [${id}.eop-nam12.prod.protection.outlook.com 2026-06-10T12:34:56.789Z 08DC8A1B2C3D4E5F]`,
      command: 'MAIL FROM',
    },
  ],
  yahoo: [
    {
      code: 421,
      enhanced: [4, 7, 0],
      text: (ip) => `[TSS04] Messages from ${ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes`,
      command: 'MAIL FROM',
    },
  ],
  other: [
    { code: 451, enhanced: [4, 7, 1], text: () => 'Greylisting in action, please come back later', command: 'RCPT TO' },
    { code: 450, enhanced: [4, 2, 0], text: (_ip, id) => `Mailbox temporarily unavailable (queue ${id})`, command: 'RCPT TO' },
  ],
};
const bounces: Record<string, readonly Reply[]> = {
  gmail: [
    {
      code: 550,
      enhanced: [5, 1, 1],
      text: (_ip, id) =>
        `The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser ${id} - gsmtp`,
      command: 'RCPT TO',
    },
  ],
  outlook: [
    {
      code: 550,
      enhanced: [5, 5, 0],
      text: (_ip, id) => `Requested action not taken: mailbox unavailable (S2017062302). [${id}.eurprd04.prod.outlook.com 2026-06-10T12:34:56.789Z 08DC8A1B2C3D4E60]`,
      command: 'RCPT TO',
    },
  ],
  yahoo: [{ code: 554, enhanced: [5, 7, 9], text: () => 'Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes', command: '.' }],
  other: [
    {
      code: 554,
      enhanced: [5, 7, 1],
      text: (ip) => `Service unavailable; Client host [${ip}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/${ip}`,
      command: 'RCPT TO',
    },
    { code: 552, enhanced: [5, 2, 2], text: (_ip, id) => `Mailbox full: user quota exceeded (${id})`, command: 'RCPT TO' },
  ],
};

/** One delivery attempt, whatever way it is reported. */
interface Attempt {
  /** ms since the epoch. */
  time: number;
  type: KumoType;
  recipient: string;
  domain: string;
  provider: string;
  ip: number;
  campaign: string;
  tenant: string;
  /** Seconds from reception to this attempt. */
  delay: number;
  reply: { code: number; enhanced: [number, number, number]; content: string; command: string };
  queueId: string;
  id: string;
}

const hex = (rng: () => number, length: number) => {
  let text = '';
  while (text.length < length)
    text += Math.floor(rng() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return text.slice(0, length);
};
const base36 = (rng: () => number, length: number) => {
  let text = '';
  while (text.length < length)
    text += Math.floor(rng() * 36 ** 6)
      .toString(36)
      .toUpperCase();
  return text.slice(0, length);
};

/** The window the events are dated in: the hour before the bench started, in order. */
const windowEnd = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const windowStart = windowEnd - 3_600_000;

/** Batch b's attempts: the same for the same b (each batch has its own seed), so the reference makes exactly these again. */
function attempts(b: number): Attempt[] {
  const rng = random(0x9e3779b9 ^ Math.imul(b + 1, 2_654_435_761));
  const count = Math.min(batchSize, totalEvents - b * batchSize);
  return Array.from({ length: count }, (_, k) => {
    const i = b * batchSize + k;
    // In order over the hour, a few seconds apart at most within a batch: as a hook sends them.
    const time = Math.min(windowEnd, windowStart + Math.floor((i / totalEvents) * 3_600_000) + Math.floor(rng() * 3_000));
    const r = rng();
    const type: KumoType = r < 0.85 ? 'Delivery' : r < 0.95 ? 'TransientFailure' : 'Bounce';
    let domain = domainTable[Math.floor(rng() * domainTable.length)]!;
    if (domain === 'corp-mail.example') domain = corpDomains[Math.floor(rng() * corpDomains.length)]!;
    const provider = providerOf.get(domain) ?? 'other';
    const ip = Math.floor(rng() * ipCount);
    const campaign = `campaign-${Math.floor(rng() * 30)}`;
    const tenant = `tenant-${Math.floor(rng() * 12)}`;
    const id = hex(rng, 32);
    const recipient = `user.${base36(rng, 8).toLowerCase()}@${domain}`;
    let reply: Attempt['reply'];
    if (type === 'Delivery') {
      reply = { code: 250, enhanced: [2, 0, 0], content: `OK ids=${id}`, command: '.' };
    } else {
      const choices = (type === 'Bounce' ? bounces : deferrals)[provider] ?? (type === 'Bounce' ? bounces : deferrals).other!;
      const choice = choices[Math.floor(rng() * choices.length)]!;
      reply = { code: choice.code, enhanced: choice.enhanced, content: choice.text(ipOf(ip), `${hex(rng, 13)}-${base36(rng, 12).toLowerCase()}si${Math.floor(rng() * 1e6)}`), command: choice.command };
    }
    return { time, type, recipient, domain, provider, ip, campaign, tenant, delay: 1 + Math.floor(rng() * 600), reply, queueId: base36(rng, 11), id };
  });
}

/** A KumoMTA log record (JsonLogRecord, the fields of docs/reference/log_record.md). */
function kumoRecord(a: Attempt): Record<string, unknown> {
  const timestamp = Math.floor(a.time / 1000);
  const mx = mxFor(a.provider);
  return {
    type: a.type,
    id: a.id,
    sender: `bounce+${a.campaign}@news.sender.example`,
    recipient: a.recipient,
    queue: `${a.campaign}:${a.tenant}@${a.domain}`,
    site: `${sourceOf(a.ip)}->${mx.name}`,
    size: 24_000 + (timestamp % 9_000),
    response: { code: a.reply.code, enhanced_code: { class: a.reply.enhanced[0], subject: a.reply.enhanced[1], detail: a.reply.enhanced[2] }, content: a.reply.content, command: a.reply.command },
    peer_address: { name: mx.name, addr: mx.addr },
    timestamp,
    created: timestamp - a.delay,
    num_attempts: a.type === 'TransientFailure' ? 1 : 0,
    bounce_classification: 'Uncategorized',
    egress_pool: poolOf(a.ip),
    egress_source: sourceOf(a.ip),
    source_address: { address: `${ipOf(a.ip)}:${40_000 + (timestamp % 20_000)}` },
    feedback_report: null,
    meta: { campaign: a.campaign, tenant: a.tenant },
    headers: {},
    delivery_protocol: 'ESMTP',
    reception_protocol: 'ESMTP',
    nodeid: '557f3ad4-2c8c-11ee-976e-782d7e12e173',
    tls_cipher: 'TLS_AES_256_GCM_SHA384',
    tls_protocol_version: 'TLSv1.3',
    session_id: '9bcd689e-23d9-41b7-a015-63a1382f8b57',
  };
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** The same attempt as Postfix's smtp agent logs it (syslog's format, this host's zone; the service is the sending IP's). */
function postfixLine(a: Attempt): string {
  const at = new Date(a.time);
  const stamp = `${months[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  const mx = mxFor(a.provider);
  const relay = `${mx.name.slice(0, -1)}[${mx.addr}]:25`;
  const dsn = a.reply.enhanced.join('.');
  const status = a.type === 'Delivery' ? 'sent' : a.type === 'TransientFailure' ? 'deferred' : 'bounced';
  const command = a.reply.command === '.' ? 'end of DATA' : a.reply.command;
  const text = a.type === 'Delivery' ? `250 ${dsn} ${a.reply.content}` : `host ${mx.name.slice(0, -1)}[${mx.addr}] said: ${a.reply.code} ${dsn} ${a.reply.content} (in reply to ${command} command)`;
  const delays = `0.01/0/${(a.delay / 2).toFixed(2)}/${(a.delay / 2).toFixed(2)}`;
  return `${stamp} mta1 postfix/${sourceOf(a.ip)}/smtp[${10_000 + ((a.ip * 37) % 20_000)}]: ${a.queueId}: to=<${a.recipient}>, relay=${relay}, delay=${a.delay}, delays=${delays}, dsn=${dsn}, status=${status} (${text})\n`;
}

/** What the aggregates must add up to: per provider, each outcome; and the attempts that get a bounce class. */
type Expected = Map<string, { delivered: number; deferred: number; bounced: number }>;
function countInto(into: Expected, batch: readonly Attempt[]): void {
  for (const a of batch) {
    let counts = into.get(a.provider);
    if (!counts) into.set(a.provider, (counts = { delivered: 0, deferred: 0, bounced: 0 }));
    counts[outcomeOf[a.type]]++;
  }
}

// ---------------------------------------------------------------- server processes

type ToChild = { type: 'memory' } | { type: 'cpu' } | { type: 'stop' } | { type: 'reference'; dir: string; parse: boolean };
/** RSS as it is, then RSS, heap used (what is kept) and heap committed after a full GC; the highest RSS sampled so far (every 100 ms). */
type Memory = { rss: number; rssAfterGc: number; heapAfterGc: number; heapTotalAfterGc: number; maxRss: number };
type FromChild = { type: 'ready'; http: number } | ({ type: 'memory' } & Memory) | { type: 'cpu'; micros: number } | { type: 'reference'; rate: number; rows: number; seconds: number };

function onMessages(handle: (message: ToChild) => Promise<FromChild | undefined>): void {
  process.on('message', (message: ToChild) => {
    void handle(message).then((reply) => reply && process.send!(reply));
  });
}

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

let maxRss = 0;
function sampleRss(): void {
  maxRss = Math.max(maxRss, process.memoryUsage.rss());
}

function memory(): Memory {
  sampleRss();
  const rss = process.memoryUsage.rss();
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage();
  return { rss, rssAfterGc: after.rss, heapAfterGc: after.heapUsed, heapTotalAfterGc: after.heapTotal, maxRss };
}

/** `mailscope run`, as the CLI starts it, on the bench's directory. */
async function serveMailscope(dir: string): Promise<void> {
  const config = loadConfig('mailscope.yaml', { cwd: dir, env: { INGEST_TOKEN: ingestToken } });
  const log = createLogger({ level: config.instance.log.level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const db = Database.open(config.dataDir);
  const dns = new DnsClient({ servers: [{ host: '127.0.0.1', port: 53 }] });
  const observatory = await startObservatory({ config, log, clock: systemClock, db, dns, version: 'bench' });
  setInterval(sampleRss, 100).unref();
  onMessages(async (message) => {
    if (message.type === 'memory') return { type: 'memory', ...memory() };
    if (message.type === 'cpu') return { type: 'cpu', micros: cpuMicros() };
    if (message.type === 'stop') {
      await observatory.stop();
      dns.close();
      process.exit(0);
    }
    return undefined;
  });
  process.send!({ type: 'ready', http: observatory.address.port } satisfies FromChild);
}

/** A reference's row: the event as a naive ingester keeps it. */
type Row = [number, string, string, string, string, string, string, number, string, string | null, number | null];

function rowOf(a: Attempt): Row {
  return [
    a.time,
    outcomeOf[a.type],
    a.domain,
    ipOf(a.ip),
    poolOf(a.ip),
    a.campaign,
    a.tenant,
    a.reply.code,
    a.reply.enhanced.join('.'),
    a.type === 'Delivery' ? null : `${a.reply.code} ${a.reply.content}`,
    a.type === 'Delivery' ? a.delay * 1000 : null,
  ];
}

/** The same row, read from the KumoMTA record as a naive ingester would (no checks). */
function rowOfRecord(record: Record<string, any>): Row {
  const { response, meta } = record;
  const enhanced = response.enhanced_code;
  return [
    record.timestamp * 1000,
    outcomeOf[record.type as KumoType],
    String(record.recipient).slice(String(record.recipient).lastIndexOf('@') + 1),
    String(record.source_address.address).replace(/:\d+$/, ''),
    record.egress_pool,
    meta.campaign,
    meta.tenant,
    response.code,
    `${enhanced.class}.${enhanced.subject}.${enhanced.detail}`,
    record.type === 'Delivery' ? null : `${response.code} ${response.content}`,
    record.type === 'Delivery' ? (record.timestamp - record.created) * 1000 : null,
  ];
}

/**
 * The reference: every event a row of one table, plain node:sqlite, transactions
 * of batchSize rows; only the transactions are timed. With `parse`, each batch is
 * first read from the same JSON body the HTTP side posts (JSON.parse, and the row
 * taken from each record without checks), and that is timed too.
 */
function insertReference(dir: string, parse: boolean): Extract<FromChild, { type: 'reference' }> {
  const db = new DatabaseSync(join(dir, 'reference.db'));
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(
      `CREATE TABLE events (time INTEGER NOT NULL, outcome TEXT NOT NULL, recipient_domain TEXT NOT NULL, ip TEXT, pool TEXT, campaign TEXT, tenant TEXT,
         smtp_code INTEGER, enhanced_code TEXT, reply TEXT, latency_ms INTEGER)`,
    );
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    let timed = 0;
    for (let b = 0; b * batchSize < totalEvents; b++) {
      const batch = attempts(b);
      const body = parse ? JSON.stringify(batch.map(kumoRecord)) : '';
      let rows = parse ? [] : batch.map(rowOf);
      const started = performance.now();
      if (parse) rows = (JSON.parse(body) as Record<string, unknown>[]).map(rowOfRecord);
      db.exec('BEGIN');
      for (const row of rows) insert.run(...row);
      db.exec('COMMIT');
      timed += performance.now() - started;
    }
    const rows = Number((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    return { type: 'reference', rate: totalEvents / (timed / 1_000), rows, seconds: timed / 1_000 };
  } finally {
    db.close();
    rmSync(join(dir, 'reference.db'), { force: true });
    rmSync(join(dir, 'reference.db-wal'), { force: true });
    rmSync(join(dir, 'reference.db-shm'), { force: true });
  }
}

async function serveReference(): Promise<void> {
  onMessages(async (message) => {
    if (message.type === 'reference') return insertReference(message.dir, message.parse);
    if (message.type === 'stop') process.exit(0);
    return undefined;
  });
  process.send!({ type: 'ready', http: 0 } satisfies FromChild);
}

class Child extends ServerChild<ToChild, FromChild> {
  constructor(role: 'mailscope' | 'reference', dir: string, execArgv: string[]) {
    super(`${role} process`, import.meta.filename, ['--serve', role, dir], { execArgv });
  }
}

// ---------------------------------------------------------------- checks and helpers

const mismatches = new Mismatches();
const mismatch = (what: string) => mismatches.add(what);

function post(agent: Agent, port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/ingest/kumomta',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        response.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** What the store holds, read beside the server (WAL: readers do not block it). */
function storeTotals(dbPath: string): { byProvider: Expected; classified: number } {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const byProvider: Expected = new Map();
    let classified = 0;
    for (const row of db.prepare('SELECT provider, delivered, deferred, bounced, expired, complained, classes FROM traffic_minutes').all() as Record<string, number | string>[]) {
      let counts = byProvider.get(String(row.provider));
      if (!counts) byProvider.set(String(row.provider), (counts = { delivered: 0, deferred: 0, bounced: 0 }));
      counts.delivered += Number(row.delivered);
      counts.deferred += Number(row.deferred);
      counts.bounced += Number(row.bounced);
      if (Number(row.expired) !== 0 || Number(row.complained) !== 0) mismatch(`traffic_minutes: expired or complained counted (${row.expired}, ${row.complained}); none was sent`);
      for (const count of Object.values(JSON.parse(String(row.classes)) as Record<string, number>)) classified += count;
    }
    return { byProvider, classified };
  } finally {
    db.close();
  }
}

function compareTotals(what: string, dbPath: string, expected: Expected): void {
  const { byProvider, classified } = storeTotals(dbPath);
  const providers = new Set([...expected.keys(), ...byProvider.keys()]);
  let failed = 0;
  for (const provider of [...providers].sort()) {
    const want = expected.get(provider) ?? { delivered: 0, deferred: 0, bounced: 0 };
    const got = byProvider.get(provider) ?? { delivered: 0, deferred: 0, bounced: 0 };
    if (want.delivered !== got.delivered || want.deferred !== got.deferred || want.bounced !== got.bounced) {
      failed++;
      mismatch(`${what}: ${provider} counted ${JSON.stringify(got)}, sent ${JSON.stringify(want)}`);
    }
  }
  // Every deferral and bounce gets a bounce class (unknown when nothing fits): the classes add up to them.
  const failures = [...expected.values()].reduce((sum, counts) => sum + counts.deferred + counts.bounced, 0);
  if (classified !== failures) {
    failed++;
    mismatch(`${what}: bounce classes add up to ${classified}, ${failures} deferrals and bounces were sent`);
  }
  mismatches.checked += providers.size + 1;
  if (failed === 0) console.log(`${what}: the aggregates equal what was sent (${providers.size} providers, ${classified.toLocaleString('en')} classified failures)`);
}

function sum(expected: Expected): number {
  let total = 0;
  for (const counts of expected.values()) total += counts.delivered + counts.deferred + counts.bounced;
  return total;
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(0)} MB`;
const fmt = (value: number) => Math.round(value).toLocaleString('en');
const ms2 = (value: number) => value.toFixed(1);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------- the bench

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-bench-'));
  const logPath = join(dir, 'mail.log');
  const children: Child[] = [];
  const only = process.env.MAILSCOPE_BENCH_ONLY;
  const doHttp = only !== 'postfix';
  const doPostfix = only !== 'http';
  const batches = Math.ceil(totalEvents / batchSize);
  try {
    const services = Array.from({ length: ipCount }, (_, n) => `      postfix/${sourceOf(n)}: { pool: ${poolOf(n)}, ip: ${ipOf(n)} }`);
    writeFileSync(
      join(dir, 'mailscope.yaml'),
      [
        'dataDir: ./data',
        'http: { listen: "127.0.0.1:0" }',
        'tokens:',
        '  - { name: kumo, role: ingest, token: "${INGEST_TOKEN}" }',
        'sources:',
        '  - { id: kumo, kind: kumomta }',
        `  - id: maillog`,
        '    kind: postfix-log',
        `    path: ${logPath}`,
        '    pollInterval: 100ms',
        '    services:',
        ...services,
        'traffic: { mxLookup: false }',
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'probes'));
    writeFileSync(logPath, '');
    const dbPath = join(dir, 'data', 'mailscope.db');

    // What is sent, made before any clock starts.
    const madeStarted = performance.now();
    const expectedHttp: Expected = new Map();
    const expectedPostfix: Expected = new Map();
    const bodies: Buffer[] = [];
    const accepted: number[] = [];
    const postfixChunks: Buffer[] = [];
    let postfixLines: string[] = [];
    let bodyBytes = 0;
    for (let b = 0; b < batches; b++) {
      const batch = attempts(b);
      if (doHttp) {
        const body = Buffer.from(JSON.stringify(batch.map(kumoRecord)));
        bodies.push(body);
        bodyBytes += body.length;
        accepted.push(batch.length);
        countInto(expectedHttp, batch);
      }
      if (doPostfix) {
        for (const a of batch) postfixLines.push(postfixLine(a));
        if (postfixLines.length >= postfixLinesPerWrite || b === batches - 1) {
          postfixChunks.push(Buffer.from(postfixLines.join('')));
          postfixLines = [];
        }
        countInto(expectedPostfix, batch);
      }
    }
    const postfixBytes = postfixChunks.reduce((total, chunk) => total + chunk.length, 0);
    const madeSeconds = (performance.now() - madeStarted) / 1_000;

    const profileDir = process.env.MAILSCOPE_BENCH_PROFILE ? resolve(process.env.MAILSCOPE_BENCH_PROFILE) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const mailscope = new Child('mailscope', dir, ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]);
    const reference = new Child('reference', dir, []);
    children.push(mailscope, reference);
    const [ms] = await Promise.all([mailscope.ready, reference.ready]);
    const references: Extract<FromChild, { type: 'reference' }>[] = [];
    let parsedReference: Extract<FromChild, { type: 'reference' }> | undefined;
    const runReference = async (parse = false) => {
      const result = await reference.ask({ type: 'reference', dir, parse });
      if (result.rows !== totalEvents) mismatch(`reference: ${result.rows} rows, ${totalEvents} inserted`);
      if (parse) parsedReference = result;
      else references.push(result);
    };
    const loadBefore = (await import('node:os')).loadavg();
    await runReference();

    // HTTP: 4 connections, each posting its next batch once the last was answered.
    let http: { rate: number; seconds: number; p50: number; p99: number; max: number; cpu: number; memory: { at: number; memory: Memory }[] } | undefined;
    if (doHttp) {
      const agent = new Agent({ keepAlive: true, maxSockets: connections });
      const latencies: number[] = [];
      let next = 0;
      let acked = 0;
      const marks: Promise<{ at: number; memory: Memory }>[] = [];
      const cpuBefore = (await mailscope.ask({ type: 'cpu' })).micros;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (next < batches) {
            const b = next++;
            const sent = performance.now();
            let answer: { status: number; text: string };
            try {
              answer = await post(agent, ms.http, bodies[b]!);
            } catch (error) {
              mismatch(`batch ${b}: ${(error as Error).message}`);
              continue;
            }
            latencies.push(performance.now() - sent);
            mismatches.checked++;
            if (answer.status !== 200) {
              mismatch(`batch ${b}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
              continue;
            }
            const count = (JSON.parse(answer.text) as { accepted?: number }).accepted;
            if (count !== accepted[b]) mismatch(`batch ${b}: accepted ${count}, ${accepted[b]} records sent`);
            acked += count ?? 0;
            const mark = memoryMarks[marks.length];
            if (mark !== undefined && acked >= mark) {
              const at = acked;
              marks.push(mailscope.ask({ type: 'memory' }).then((memory) => ({ at, memory })));
            }
          }
        }),
      );
      const seconds = (performance.now() - started) / 1_000;
      const cpuAfter = (await mailscope.ask({ type: 'cpu' })).micros;
      const end = await mailscope.ask({ type: 'memory' });
      agent.destroy();
      http = { rate: acked / seconds, seconds, ...percentiles(latencies), cpu: (cpuAfter - cpuBefore) / 1e6 / seconds, memory: [...(await Promise.all(marks)), { at: acked, memory: end }] };
      if (acked !== totalEvents) mismatch(`HTTP: ${acked} events acknowledged, ${totalEvents} sent`);
      compareTotals('HTTP', dbPath, expectedHttp);
      bodies.length = 0;
      await runReference();
    }

    // Postfix: the lines appended as fast as this process writes them; the source reads behind.
    let postfix: { rate: number; seconds: number; appendSeconds: number; cpu: number } | undefined;
    if (doPostfix) {
      const cpuBefore = (await mailscope.ask({ type: 'cpu' })).micros;
      const checkpoints = new DatabaseSync(dbPath, { readOnly: true });
      const read = checkpoints.prepare("SELECT checkpoint, updated_at FROM source_checkpoints WHERE source = 'maillog'");
      const started = Date.now();
      const fd = openSync(logPath, 'a');
      for (const chunk of postfixChunks) writeSync(fd, chunk);
      closeSync(fd);
      const appendSeconds = (Date.now() - started) / 1_000;
      let committedAt: number | undefined;
      const deadline = Date.now() + 600_000;
      while (committedAt === undefined && Date.now() < deadline) {
        const row = read.get() as { checkpoint: string; updated_at: number } | undefined;
        if (row && (JSON.parse(row.checkpoint) as { position: number }).position === postfixBytes) committedAt = Number(row.updated_at);
        else await sleep(50);
      }
      checkpoints.close();
      const cpuAfter = (await mailscope.ask({ type: 'cpu' })).micros;
      if (committedAt === undefined) {
        mismatch('Postfix: the source did not reach the end of the log within 10 minutes');
      } else {
        const seconds = (committedAt - started) / 1_000;
        postfix = { rate: totalEvents / seconds, seconds, appendSeconds, cpu: (cpuAfter - cpuBefore) / 1e6 / seconds };
      }
      const both: Expected = new Map();
      for (const source of [expectedHttp, expectedPostfix]) {
        for (const [provider, counts] of source) {
          const into = both.get(provider) ?? { delivered: 0, deferred: 0, bounced: 0 };
          both.set(provider, { delivered: into.delivered + counts.delivered, deferred: into.deferred + counts.deferred, bounced: into.bounced + counts.bounced });
        }
      }
      compareTotals(doHttp ? 'HTTP and Postfix' : 'Postfix', dbPath, both);
      await runReference();
    }
    await runReference(true);
    const loadAfter = (await import('node:os')).loadavg();
    await Promise.all(children.map((child) => child.stop()));
    if (doHttp && sum(expectedHttp) !== totalEvents) mismatch(`the mix made ${sum(expectedHttp)} events, not ${totalEvents}`);

    // The report.
    const ref = median(references.map((run) => run.rate));
    const mix = [...(doHttp ? expectedHttp : expectedPostfix).values()].reduce(
      (all, counts) => ({ delivered: all.delivered + counts.delivered, deferred: all.deferred + counts.deferred, bounced: all.bounced + counts.bounced }),
      { delivered: 0, deferred: 0, bounced: 0 },
    );
    console.log(
      `\ntraffic: ${fmt(totalEvents)} events (${fmt(mix.delivered)} delivered, ${fmt(mix.deferred)} deferred, ${fmt(mix.bounced)} bounced), ${domainShares.length - 1} provider domains + ${corpDomains.length} business ones, ${ipCount} IPs in ${poolCount} pools, over an hour; made in ${madeSeconds.toFixed(1)} s`,
    );
    if (doHttp) console.log(`HTTP: ${fmt(batches)} POST /v1/ingest/kumomta of ${batchSize} records (mean ${fmt(bodyBytes / batches)} bytes), ${connections} keep-alive connections`);
    if (doPostfix) console.log(`Postfix: ${fmt(totalEvents)} delivery lines (${mb(postfixBytes)}) appended to the tailed log`);
    console.log(`load average (1, 5, 15 min): ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${loadAfter.map((value) => value.toFixed(2)).join(' ')} after; 2 cores\n`);
    // Server CPU: how much of a core the server got (others share the machine); µs of it per event, what the load changes least.
    const perEvent = (cpu: number, seconds: number) => `${((cpu * seconds * 1e6) / totalEvents).toFixed(1)}`.padStart(8);
    console.log(
      `${'way in'.padEnd(34)} ${'events/s'.padStart(9)} ${'seconds'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} ${'server CPU'.padStart(10)} ${'µs/event'.padStart(8)}`,
    );
    if (http) {
      console.log(
        `${'Mailscope, HTTP (KumoMTA hook)'.padEnd(34)} ${fmt(http.rate).padStart(9)} ${http.seconds.toFixed(1).padStart(8)} ${ms2(http.p50).padStart(7)} ${ms2(http.p99).padStart(7)} ${ms2(http.max).padStart(7)} ${`${Math.round(http.cpu * 100)}%`.padStart(10)} ${perEvent(http.cpu, http.seconds)}`,
      );
    }
    if (postfix) {
      console.log(
        `${'Mailscope, Postfix log (tailed)'.padEnd(34)} ${fmt(postfix.rate).padStart(9)} ${postfix.seconds.toFixed(1).padStart(8)} ${''.padStart(7)} ${''.padStart(7)} ${''.padStart(7)} ${`${Math.round(postfix.cpu * 100)}%`.padStart(10)} ${perEvent(postfix.cpu, postfix.seconds)}   (appended in ${postfix.appendSeconds.toFixed(1)} s)`,
      );
    }
    console.log(
      `${'reference: plain node:sqlite insert'.padEnd(34)} ${fmt(ref).padStart(9)} ${(totalEvents / ref).toFixed(1).padStart(8)}   runs ${references.map((run) => fmt(run.rate)).join(' / ')}`,
    );
    if (parsedReference)
      console.log(
        `${'  + JSON.parse of the same bodies'.padEnd(34)} ${fmt(parsedReference.rate).padStart(9)} ${parsedReference.seconds.toFixed(1).padStart(8)}   (no checks, no HTTP; for reading the ratio)`,
      );

    console.log(`\nanswers checked: ${mismatches.checked.toLocaleString('en')}, mismatches: ${mismatches.count}; ${((performance.now() - benchStarted) / 1_000).toFixed(0)} s in all`);
    if (http) {
      const ratio = http.rate / ref;
      const mark = http.memory[0]!.memory;
      const end = http.memory.at(-1)!.memory;
      const growth = end.heapAfterGc / mark.heapAfterGc;
      const series = (of: (memory: Memory) => number) => http!.memory.map(({ memory }) => mb(of(memory))).join(' → ');
      console.log(
        `traffic http: ${fmt(http.rate)} events/s (goal ≥ ${fmt(goals.rate)}) ${http.rate >= goals.rate ? 'ok' : 'MISSED'}; ${ratio.toFixed(2)} of the plain insert (goal ≥ ${goals.ratio}) ${ratio >= goals.ratio ? 'ok' : 'MISSED'}` +
          (parsedReference ? `; ${(http.rate / parsedReference.rate).toFixed(2)} of JSON.parse + insert` : ''),
      );
      console.log(`traffic http ack latency per batch of ${batchSize}: p50 ${ms2(http.p50)} ms, p99 ${ms2(http.p99)} ms, max ${ms2(http.max)} ms`);
      console.log(
        `traffic memory, server at ${http.memory.map(({ at }) => fmt(at)).join(' → ')} events: heap used after a full GC ${series((m) => m.heapAfterGc)} (×${growth.toFixed(2)}, goal flat: ≤ ×${goals.memoryGrowth}) ${growth <= goals.memoryGrowth ? 'ok' : 'MISSED'}; ` +
          `RSS ${series((m) => m.rss)} (after the GC ${series((m) => m.rssAfterGc)}, of which V8's heap ${series((m) => m.heapTotalAfterGc)}; highest sampled ${mb(end.maxRss)})`,
      );
    }
    if (postfix) console.log(`traffic postfix: ${fmt(postfix.rate)} events/s, ${(postfix.rate / ref).toFixed(2)} of the plain insert (reference, no goal set)`);
    if (mismatches.count > 0) {
      console.error(`\n${mismatches.count} mismatches, first ones:\n${mismatches.shown.join('\n')}`);
      process.exitCode = 1;
    }
    if (profileDir) console.log(`CPU profile of the Mailscope server: ${profileDir}`);
  } finally {
    for (const child of children) if (child.process.exitCode === null) child.process.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  if (process.argv[3] === 'mailscope') await serveMailscope(process.argv[4]!);
  else await serveReference();
} else {
  await main();
}
