/**
 * The Postfix log source: its config, its lines to events, and the tailer against
 * real files (appends, partial lines, rotation by rename and by truncation,
 * restarts, failed commits, a missing file, stop) with an in-memory store whose
 * commit records events and checkpoint together. Counts are checked against what
 * each test wrote: every line carries its own recipient domain (n<i>.test), so a
 * lost or repeated line shows.
 */
import { appendFileSync, closeSync, openSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { TrafficEvent } from '../../src/core/traffic.ts';
import type { RunningSource, SourceContext } from '../../src/sources/define.ts';
import { findSource } from '../../src/sources/index.ts';
import { maxLineBytes, type PostfixLogConfig, PostfixTraffic, postfixLog } from '../../src/sources/postfix-log.ts';
import { captureLog, type CapturedLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

/** One delivery line per index, each to its own domain. */
const line = (i: number) =>
  `Dec  6 10:00:00 mta postfix/pool-a/smtp[100]: QID${String(i).padStart(6, '0')}: to=<user@n${i}.test>, relay=mx.n${i}.test[192.0.2.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X${i})\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k)).join('');
const domains = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `n${from + k}.test`);

function configOf(path: string, extra: Record<string, unknown> = {}): PostfixLogConfig {
  return postfixLog.configSchema.parse({ id: 'mta', kind: 'postfix-log', path, timeZone: 'UTC', pollInterval: '10ms', ...extra });
}

/** A store in memory: commit records the events and the checkpoint together, or fails as told. */
class MemoryStore {
  events: TrafficEvent[] = [];
  checkpoint: string | undefined;
  /** Non-empty batches committed, by size. */
  batches: number[] = [];
  attempts = 0;
  /** Fail this many commits from now. */
  failNext = 0;
  /** While set, commits of events wait for it. */
  gate: Promise<void> | undefined;
  /** A commit of events is waiting on the gate. */
  waiting = false;

  domains(): string[] {
    return this.events.map((event) => event.recipientDomain);
  }

  context(log: CapturedLog['log'], signal = new AbortController().signal): SourceContext {
    return {
      clock: new ManualClock('2026-12-06T12:00:00Z'),
      log,
      signal,
      checkpoint: () => this.checkpoint,
      intake: () => Promise.reject(new Error('a log source reads no reports')),
      commit: async (events, checkpoint) => {
        this.attempts++;
        if (this.gate && events.length > 0) {
          this.waiting = true;
          await this.gate;
          this.waiting = false;
        }
        if (this.failNext > 0) {
          this.failNext--;
          throw new Error('database is locked');
        }
        this.events.push(...events);
        if (events.length > 0) this.batches.push(events.length);
        this.checkpoint = checkpoint;
      },
    };
  }
}

async function start(store: MemoryStore, config: PostfixLogConfig, captured = captureLog(), signal?: AbortSignal): Promise<RunningSource & { captured: CapturedLog }> {
  const running = await postfixLog.runtime!.start(config, store.context(captured.log, signal));
  let stopped = false;
  onTestFinished(async () => {
    if (!stopped) await running.stop();
  });
  return {
    captured,
    stop: async () => {
      stopped = true;
      await running.stop();
    },
  };
}

const until = (check: () => void) => vi.waitFor(check, { timeout: 5_000, interval: 10 });
const messages = (captured: CapturedLog) => captured.entries().map((entry) => entry.msg as string);

describe('postfix-log config', () => {
  it('is registered, with its defaults', () => {
    expect(findSource('postfix-log')).toBe(postfixLog);
    expect(postfixLog.configSchema.parse({ id: 'mta', kind: 'postfix-log', path: '/var/log/mail.log' })).toEqual({
      id: 'mta',
      kind: 'postfix-log',
      path: '/var/log/mail.log',
      services: {},
      agents: ['smtp', 'error'],
      startAt: 'end',
      batchLines: 1_000,
      pollInterval: 1_000,
    });
  });

  it.each([
    [{ services: { 'postfix/pool-a': { ip: 'not-an-ip' } } }, ['services', 'postfix/pool-a', 'ip']],
    [{ services: { 'postfix/pool-a': { pool: 'a', weight: 2 } } }, ['services', 'postfix/pool-a']],
    [{ services: { 'postfix pool a': { pool: 'a' } } }, ['services', 'postfix pool a']],
    [{ agents: [] }, ['agents']],
    [{ agents: ['SMTP!'] }, ['agents', 0]],
    [{ timeZone: 'Mars/Olympus' }, ['timeZone']],
    [{ startAt: 'middle' }, ['startAt']],
    [{ pollInterval: 'soon' }, ['pollInterval']],
    [{ batchLines: 0 }, ['batchLines']],
    [{ tail: true }, []],
  ])('refuses %j', (extra, path) => {
    const result = postfixLog.configSchema.safeParse({ id: 'mta', kind: 'postfix-log', path: '/var/log/mail.log', ...extra });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(path);
  });
});

describe('delivery lines to traffic events', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const config = configOf('/unused', {
    services: { 'postfix/pool-a': { pool: 'a', ip: '192.0.2.10' }, 'postfix/pool-b/smtp': { pool: 'b' }, 'postfix/pool-c': { ip: '2001:db8::c' } },
  });

  it('maps each status to its outcome, the service to its pool and IP, keeps codes and reply, and the latency of a delivery', () => {
    const captured = captureLog();
    const events = new PostfixTraffic(config, captured.log).events(
      [
        'Dec  6 10:00:00 mta postfix/pool-a/smtp[1]: AAAAA1: to=<one@x.test>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.x.test[192.0.2.9]:25: Connection timed out)',
        'Dec  6 10:00:01 mta postfix/pool-a/smtp[1]: AAAAA1: to=<two@Y.test>, relay=mx.y.test[192.0.2.8]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.0, status=deferred (host mx.y.test[192.0.2.8] said: 421 4.7.0 Try later (in reply to MAIL FROM command))',
        'Dec  6 10:00:02 mta postfix/pool-b/smtp[2]: BBBBB1: to=<three@z.test>, relay=mx.z.test[192.0.2.7]:25, delay=1.25, delays=0.1/0/0.5/0.65, dsn=2.0.0, status=sent (250 2.0.0 Ok)',
        'Dec  6 10:00:03 mta postfix/pool-c/smtp[3]: CCCCC1: to=<four@w.test>, relay=mx.w.test[192.0.2.6]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=5.1.1, status=bounced (host mx.w.test[192.0.2.6] said: 550 5.1.1 No such user (in reply to RCPT TO command))',
        'Dec  6 10:00:04 mta postfix/lmtp[4]: DDDDD1: to=<five@v.test>, relay=mta[/run/lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)',
        'Dec  6 10:00:05 mta postfix/smtp[5]: EEEEE1: to=<six@u.test>, relay=mx.u.test[192.0.2.5]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)',
        'Dec  6 10:00:06 mta postfix/pool-a/smtp[1]: FFFFF1: to=<root>, relay=none, delay=0.1, delays=0/0/0/0.1, dsn=5.1.3, status=bounced (bad address syntax)',
        'Dec  6 10:00:07 mta postfix/qmgr[9]: AAAAA1: from=<s@sender.test>, status=expired, returned to sender',
        'Dec  6 10:00:08 mta postfix/qmgr[9]: ZZZZZ9: from=<s@sender.test>, status=expired, returned to sender',
        'Dec  6 10:00:09 mta postfix/qmgr[9]: BBBBB1: removed',
      ],
      now,
    );
    const at = (second: number) => new Date(`2026-12-06T10:00:0${second}Z`);
    expect(events).toEqual([
      { time: at(0), outcome: 'deferred', recipientDomain: 'x.test', pool: 'a', ip: '192.0.2.10', enhancedCode: '4.4.1', reply: 'connect to mx.x.test[192.0.2.9]:25: Connection timed out' },
      { time: at(1), outcome: 'deferred', recipientDomain: 'y.test', pool: 'a', ip: '192.0.2.10', smtpCode: 421, enhancedCode: '4.7.0', reply: '421 4.7.0 Try later' },
      { time: at(2), outcome: 'delivered', recipientDomain: 'z.test', pool: 'b', smtpCode: 250, enhancedCode: '2.0.0', reply: '250 2.0.0 Ok', latencyMs: 1250 },
      { time: at(3), outcome: 'bounced', recipientDomain: 'w.test', ip: '2001:db8::c', smtpCode: 550, enhancedCode: '5.1.1', reply: '550 5.1.1 No such user' },
      // lmtp is not among the default agents; postfix/smtp has no pool or IP in services.
      { time: at(5), outcome: 'delivered', recipientDomain: 'u.test', smtpCode: 250, enhancedCode: '2.0.0', reply: '250 ok', latencyMs: 100 },
      // The expiry of AAAAA1: one per recipient still deferred, under the pool that deferred it.
      { time: at(7), outcome: 'expired', recipientDomain: 'x.test', pool: 'a', ip: '192.0.2.10', enhancedCode: '4.4.1', reply: 'connect to mx.x.test[192.0.2.9]:25: Connection timed out' },
      { time: at(7), outcome: 'expired', recipientDomain: 'y.test', pool: 'a', ip: '192.0.2.10', smtpCode: 421, enhancedCode: '4.7.0', reply: '421 4.7.0 Try later' },
    ]);
    const warnings = captured.entries().filter((entry) => entry.level === 'warn');
    expect(warnings.map((entry) => [entry.msg, entry.lines ?? entry.messages])).toEqual([
      ['delivery lines whose recipient has no domain: not counted', 1],
      ['expired messages with no deferral read before (deferred before this source started reading): their recipients are unknown, not counted', 1],
    ]);
    expect(captured.entries().filter((entry) => entry.msg === 'deliveries of a service with no pool or ip in services: counted without them')).toEqual([
      expect.objectContaining({ service: 'postfix/smtp' }),
    ]);
  });

  it('keeps a cleaned, bounded excerpt of the reply: no control characters, escape sequences or credentials', () => {
    const traffic = new PostfixTraffic(configOf('/unused'), captureLog().log);
    const hostile = `Dec  6 10:00:00 h postfix/smtp[1]: 4ABC123: to=<a@b.test>, relay=mx.test[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host mx.test[1.2.3.4] said: 550 5.7.1 \u001b[31mred\u0007 text\u202e reversed\u0000 see https://x.test/?token=abc123 ${'x'.repeat(5_000)} (in reply to RCPT TO command))`;
    const [event] = traffic.events([hostile], now);
    expect(event).toMatchObject({ outcome: 'bounced', smtpCode: 550, enhancedCode: '5.7.1' });
    expect(event!.reply).toMatch(/^550 5\.7\.1 red text reversed see https:\/\/x\.test\/\?token=\[redacted\] x+…$/);
    expect(event!.reply!.length).toBeLessThanOrEqual(500);
  });

  it('counts the agents it is told to', () => {
    const traffic = new PostfixTraffic(configOf('/unused', { agents: ['lmtp'] }), captureLog().log);
    const lmtp = 'Dec  6 10:00:04 mta postfix/lmtp[4]: DDDDD1: to=<five@v.test>, relay=mta[/run/lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)';
    expect(traffic.events([lmtp, line(1).trimEnd()], now).map((event) => event.recipientDomain)).toEqual(['v.test']);
  });

  it("counts the lab's log: its pools' attempts, not the providers' LMTP deliveries", () => {
    const traffic = new PostfixTraffic(
      configOf('/unused', { services: { 'postfix/pool-clean': { pool: 'clean', ip: '127.0.0.10' }, 'postfix/pool-listed': { pool: 'listed', ip: '127.0.0.11' } } }),
      captureLog().log,
    );
    const events = traffic.events(
      [
        'Dec 06 19:21:49 mta postfix/pool-clean/smtp[26042]: 2821D22069D: to=<seed1@gmail.test>, relay=mx.gmail.test[127.0.0.21]:25, delay=0.78, delays=0.19/0.05/0.02/0.51, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 8481B2206A0)',
        'Dec 06 19:21:50 mta postfix/lmtp[26050]: 8481B2206A0: to=<seed1@gmail.test>, relay=mta.sender.test[/var/tmp/mailscope-lab-5f3a9c21/run/dovecot-lmtp], delay=0.6, delays=0.51/0.04/0.04/0.02, dsn=2.0.0, status=sent (250 2.0.0 <seed1@gmail.test> w5sqO821FWvEZQAAg+zDdQ Saved)',
        'Dec 06 19:21:52 mta postfix/pool-listed/smtp[26076]: 3ACF5220717: to=<seed1@yahoo.test>, relay=mx.yahoo.test[127.0.0.23]:25, delay=0.17, delays=0.09/0.03/0.02/0.04, dsn=5.7.1, status=bounced (host mx.yahoo.test[127.0.0.23] said: 554 5.7.1 Service unavailable; Client host [127.0.0.11] blocked using zen.dnsbl.test; Listed in lab XBL (exploited host), see https://dnsbl.test/xbl?ip=127.0.0.11 / Listed in lab SBL (spam source), see https://dnsbl.test/sbl?ip=127.0.0.11 (in reply to RCPT TO command))',
        'Dec 06 19:21:52 mta postfix/bounce[26078]: 3ACF5220717: sender non-delivery notification: 65BE1220731',
        'Dec 06 19:21:52 mta postfix/qmgr[25983]: 3ACF5220717: removed',
      ],
      new Date('2026-12-06T20:00:00Z'),
    );
    expect(events.map((event) => [event.outcome, event.recipientDomain, event.pool, event.ip, event.smtpCode, event.enhancedCode])).toEqual([
      ['delivered', 'gmail.test', 'clean', '127.0.0.10', 250, '2.0.0'],
      ['bounced', 'yahoo.test', 'listed', '127.0.0.11', 554, '5.7.1'],
    ]);
  });
});

describe('following the log', () => {
  it('reads appends in batches, committing each with the position after its last line', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path, { batchLines: 10 }));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, lines(0, 34));
    await until(() => expect(store.events).toHaveLength(35));
    expect(store.domains()).toEqual(domains(0, 34));
    expect(Math.max(...store.batches)).toBeLessThanOrEqual(10);
    expect(store.batches.length).toBeGreaterThanOrEqual(4);
    expect(JSON.parse(store.checkpoint!).position).toBe(Buffer.byteLength(lines(0, 34)));
    await source.stop();
  });

  it('starts at the end of an existing log the first time (and keeps that start at once), or at its beginning when told', async () => {
    const dir = tempDir();
    const path = join(dir, 'mail.log');
    // The last line is still being written: it is read once it is complete.
    const half = line(5).slice(0, 40);
    writeFileSync(path, lines(0, 4) + half);
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    expect(JSON.parse(store.checkpoint!).position).toBe(Buffer.byteLength(lines(0, 4)));
    appendFileSync(path, line(5).slice(40) + lines(6, 7));
    await until(() => expect(store.domains()).toEqual(domains(5, 7)));
    await source.stop();

    const everything = new MemoryStore();
    const backfill = await start(everything, configOf(path, { startAt: 'beginning' }));
    await until(() => expect(everything.domains()).toEqual(domains(0, 7)));
    await backfill.stop();
  });

  it('waits for the rest of a partial line', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, line(0) + line(1).slice(0, 60));
    await until(() => expect(store.domains()).toEqual(domains(0, 0)));
    await sleep(100);
    expect(store.domains()).toEqual(domains(0, 0));
    appendFileSync(path, line(1).slice(60));
    await until(() => expect(store.domains()).toEqual(domains(0, 1)));
    await source.stop();
  });

  it('follows a rename: finishes the old file (written to after the rename), then reads the new one from its start', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    // The writer's descriptor, as Postfix's postlogd or syslog holds it.
    const writer = openSync(path, 'a');
    writeSync(writer, lines(0, 4));
    await until(() => expect(store.events).toHaveLength(5));
    renameSync(path, `${path}.1`);
    writeSync(writer, lines(5, 7));
    await until(() => expect(store.events).toHaveLength(8));
    // The new file exists, empty: the writer has not reopened yet and still writes to the old one.
    writeFileSync(path, '');
    await sleep(50);
    writeSync(writer, lines(8, 9));
    closeSync(writer);
    appendFileSync(path, lines(10, 13));
    await until(() => expect(store.events).toHaveLength(14));
    expect(store.domains()).toEqual(domains(0, 13));
    await sleep(50);
    expect(store.events).toHaveLength(14);
    expect(messages(source.captured)).toContain('the mail log was rotated: the old file is finished, reading the new one from its start');
    await source.stop();
  });

  it('reads an unterminated last line of a rotated file as a line', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, lines(0, 1) + line(2).trimEnd());
    await until(() => expect(store.events).toHaveLength(2));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(3, 3));
    await until(() => expect(store.domains()).toEqual(domains(0, 3)));
    await source.stop();
  });

  it('follows a truncation: shorter than the position, or refilled past it before it was looked at', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, lines(0, 4));
    await until(() => expect(store.events).toHaveLength(5));
    truncateSync(path, 0);
    appendFileSync(path, lines(5, 6));
    await until(() => expect(store.events).toHaveLength(7));
    // copytruncate, and the writer wrote more than there was before the tail looked again.
    truncateSync(path, 0);
    appendFileSync(path, lines(7, 20));
    await until(() => expect(store.events).toHaveLength(21));
    expect(store.domains()).toEqual(domains(0, 20));
    expect(messages(source.captured)).toContain('the mail log was truncated: reading it again from its start');
    await source.stop();
  });

  it('restarts from its checkpoint: nothing lost, nothing counted twice, across a rotation while stopped', async () => {
    const dir = tempDir();
    const path = join(dir, 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const first = await start(store, configOf(path, { batchLines: 3 }));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, lines(0, 9));
    await until(() => expect(store.events).toHaveLength(10));
    await first.stop();

    appendFileSync(path, lines(10, 14));
    const second = await start(store, configOf(path, { batchLines: 3 }));
    await until(() => expect(store.events).toHaveLength(15));
    await second.stop();

    // Rotated while stopped: the rest of the old file is found beside it and finished first.
    appendFileSync(path, lines(15, 17));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(18, 19));
    const third = await start(store, configOf(path, { batchLines: 3 }));
    await until(() => expect(store.events).toHaveLength(20));
    expect(store.domains()).toEqual(domains(0, 19));
    expect(third.captured.entries().map((entry) => entry.note)).toContain('the checkpointed file was rotated to mail.log.1: finishing it first');
    await sleep(50);
    expect(store.events).toHaveLength(20);
    await third.stop();
  });

  it('reads a file that was replaced in place since the checkpoint (same inode, other first bytes) from its start', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, lines(0, 4));
    const store = new MemoryStore();
    const first = await start(store, configOf(path, { startAt: 'beginning' }));
    await until(() => expect(store.events).toHaveLength(5));
    await first.stop();
    truncateSync(path, 0);
    appendFileSync(path, lines(5, 12));
    const second = await start(store, configOf(path));
    await until(() => expect(store.events).toHaveLength(13));
    expect(store.domains()).toEqual(domains(0, 12));
    await second.stop();
  });

  it('starts as the first time when the saved checkpoint is not one it wrote, saying so', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, lines(0, 2));
    const store = new MemoryStore();
    store.checkpoint = '{"offset": 12}';
    const source = await start(store, configOf(path));
    await until(() => expect(JSON.parse(store.checkpoint!).position).toBe(Buffer.byteLength(lines(0, 2))));
    appendFileSync(path, lines(3, 3));
    await until(() => expect(store.domains()).toEqual(domains(3, 3)));
    expect(messages(source.captured)).toContain('the saved checkpoint cannot be read: starting as the first time');
    await source.stop();
  });

  it('retries a batch whose commit failed, and skips nothing', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, lines(0, 9));
    const store = new MemoryStore();
    store.failNext = 4;
    const source = await start(store, configOf(path, { startAt: 'beginning', batchLines: 4 }));
    await until(() => expect(store.events).toHaveLength(10));
    expect(store.domains()).toEqual(domains(0, 9));
    expect(store.attempts).toBeGreaterThanOrEqual(4 + 1 + 3);
    const failures = source.captured.entries().filter((entry) => entry.msg === 'cannot commit the batch: retrying it (the position does not move)');
    expect(failures).toHaveLength(4);
    expect(failures[0]).toMatchObject({ level: 'warn', err: 'database is locked', attempt: 1 });
    await sleep(50);
    expect(store.events).toHaveLength(10);
    await source.stop();
  });

  it('waits for a missing file (saying so once), and reads it from its start when it appears', async () => {
    const path = join(tempDir(), 'mail.log');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await sleep(100);
    expect(store.attempts).toBe(0);
    writeFileSync(path, lines(0, 2));
    await until(() => expect(store.domains()).toEqual(domains(0, 2)));
    const said = messages(source.captured);
    expect(said.filter((message) => message === 'the mail log is missing: waiting for it')).toHaveLength(1);
    expect(said).toContain('the mail log appeared');
    await source.stop();
  });

  it('skips a line longer than the limit (counted), even one that grows over several reads', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const source = await start(store, configOf(path));
    await until(() => expect(store.checkpoint).toBeDefined());
    appendFileSync(path, `${line(0)}${'x'.repeat(3 * maxLineBytes)}\n${line(1)}`);
    await until(() => expect(store.domains()).toEqual(domains(0, 1)));
    appendFileSync(path, 'y'.repeat(maxLineBytes));
    await sleep(50);
    appendFileSync(path, 'y'.repeat(maxLineBytes));
    await sleep(50);
    appendFileSync(path, `\n${line(2)}`);
    await until(() => expect(store.domains()).toEqual(domains(0, 2)));
    const skipped = source.captured.entries().filter((entry) => entry.msg === 'lines longer than the limit: skipped');
    expect(skipped.reduce((sum, entry) => sum + (entry.lines as number), 0)).toBe(2);
    await source.stop();
  });

  it('stop() resolves after the commit in flight, and nothing is read after it', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, lines(0, 9));
    const store = new MemoryStore();
    let release!: () => void;
    store.gate = new Promise((resolve) => {
      release = resolve;
    });
    const source = await start(store, configOf(path, { startAt: 'beginning', batchLines: 5 }));
    await until(() => expect(store.waiting).toBe(true));
    let stopped = false;
    const stopping = source.stop().then(() => {
      stopped = true;
    });
    await sleep(50);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(store.domains()).toEqual(domains(0, 4));
    const attempts = store.attempts;
    await sleep(50);
    expect(store.attempts).toBe(attempts);

    // The next run goes on from there.
    store.gate = undefined;
    const next = await start(store, configOf(path));
    await until(() => expect(store.domains()).toEqual(domains(0, 9)));
    await next.stop();
  });

  it('stops when the observatory aborts its signal', async () => {
    const path = join(tempDir(), 'mail.log');
    writeFileSync(path, '');
    const store = new MemoryStore();
    const controller = new AbortController();
    const source = await start(store, configOf(path), captureLog(), controller.signal);
    await until(() => expect(store.checkpoint).toBeDefined());
    controller.abort();
    await sleep(30);
    const attempts = store.attempts;
    appendFileSync(path, lines(0, 2));
    await sleep(50);
    expect(store.attempts).toBe(attempts);
    await source.stop();
  });
});
