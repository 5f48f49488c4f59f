/**
 * Postfix's mail log, tailed: each delivery attempt Postfix logs (`status=sent`,
 * `deferred`, `bounced`, `expired`, with its relay, DSN and the remote reply)
 * becomes a traffic event. Postfix does not log the source IP: each pool is a
 * master.cf service with its own `-o syslog_name=postfix/pool-a` (and its own
 * smtp_bind_address), and `services` says which pool and IP each name stands for.
 *
 * Reading follows the file through rotation (sources/file-tail.ts) and commits
 * each batch of events with the position after its last line, in one
 * transaction: the position moves only once the commit resolved; a failed commit
 * is retried with the same batch, never skipped. The first time (no
 * checkpoint), the file is read from its end: a mail log holds days or weeks of
 * history (more in its rotations), and counting it would write minutes long past
 * into the traffic aggregates and evaluate alert rules on them; `startAt:
 * beginning` reads it all, for a backfill. That starting point is committed at
 * once, so that lines written before the first batch are not skipped by a restart.
 */
import { z } from 'zod';
import { backoffMs } from '../core/backoff.ts';
import type { Logger } from '../core/logger.ts';
import { peerExcerpt } from '../core/redact.ts';
import { duration, timeZone } from '../core/schema.ts';
import type { TrafficEvent, TrafficOutcome } from '../core/traffic.ts';
import { DeferredRecipients, type PostfixDelivery, type PostfixStatus, parsePostfixLine } from '../protocols/mail/postfix-log.ts';
import { defineSource, type SourceContext, SourceBase } from './define.ts';
import { decodeCheckpoint, encodeCheckpoint, FileTail, type TailBatch } from './file-tail.ts';
import { trafficMeasurements } from './traffic.ts';

/** A line longer than this is skipped (and counted): Postfix's lines are a few hundred bytes; syslog cuts at 8 KiB. */
export const maxLineBytes = 64 * 1024;
/** A batch stops after this many bytes of lines, whatever batchLines says. */
const maxBatchBytes = 4 * 1024 * 1024;
/** The reply kept with an event, in characters: enough for the bounce classifier's patterns, bounded whatever the peer sent. */
const replyExcerptLength = 500;
/** Services named in the log without a pool or IP in config: logged once each, up to this many. */
const maxUnmappedLogged = 100;

const serviceSlice = z.strictObject({
  pool: z.string().min(1).max(128).optional().describe("the IP pool its deliveries count under (the traffic measurement's pool tag)"),
  ip: z.union([z.ipv4(), z.ipv6()]).optional().describe('the source IP its deliveries leave from (the service’s smtp_bind_address)'),
});

const configSchema = SourceBase.extend({
  kind: z.literal('postfix-log'),
  path: z.string().min(1).describe("the mail log to follow: Postfix's own maillog_file (3.4+), or the file syslog writes Postfix's lines to (/var/log/mail.log); waited for while missing"),
  services: z
    .record(z.string().regex(/^[^\s[\]:]{1,255}$/, { error: 'expected a log tag such as postfix/pool-a/smtp, or a syslog_name such as postfix/pool-a' }), serviceSlice)
    .default({})
    .describe(
      'the pool and source IP of each sending service, by its log tag (postfix/pool-a/smtp) or its syslog_name (postfix/pool-a, from master.cf\'s "-o syslog_name=postfix/pool-a"); deliveries of a service not listed count without pool or IP',
    ),
  agents: z
    .array(z.string().regex(/^[a-z0-9_-]{1,32}$/, { error: 'expected a delivery agent name such as smtp, lmtp, local' }))
    .min(1)
    .default(['smtp', 'error'])
    .describe(
      'the delivery agents whose lines count (the last part of the log tag: smtp in postfix/pool-a/smtp; error for transports that refuse or defer outright). lmtp, local, virtual and pipe deliver into mailboxes on this side, not to a provider: add them to count them',
    ),
  timeZone: timeZone.optional().describe("the time zone the log's times are written in, when they carry none (syslog, maillog_file), e.g. Europe/Berlin; default: this host's"),
  startAt: z
    .enum(['end', 'beginning'])
    .default('end')
    .describe('the first time (no checkpoint yet): start at the end of the log (count traffic from now on) or at its beginning (count the history it holds)'),
  batchLines: z.int().min(1).max(100_000).default(1_000).describe('lines read, at most, before their events are committed with the position reached'),
  pollInterval: duration.prefault('1s').describe('how often the log is looked at for new lines and for rotation, once it has been read to its end'),
}).strict();

export type PostfixLogConfig = z.output<typeof configSchema>;

const outcomeOf: Record<PostfixStatus, TrafficOutcome> = { sent: 'delivered', deferred: 'deferred', bounced: 'bounced', expired: 'expired' };

/** Delivery lines to traffic events, with what was left out counted. */
export class PostfixTraffic {
  readonly #config: PostfixLogConfig;
  readonly #log: Logger;
  readonly #agents: Set<string>;
  readonly #deferred = new DeferredRecipients();
  readonly #unmapped = new Set<string>();
  #forgotten = 0;

  constructor(config: PostfixLogConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#agents = new Set(config.agents);
  }

  /** The events of these lines; what could not be counted is logged, with how many. */
  events(lines: readonly string[], now: Date): TrafficEvent[] {
    const events: TrafficEvent[] = [];
    let noDomain = 0;
    let unmatchedExpiries = 0;
    for (const line of lines) {
      const record = parsePostfixLine(line, { now, timeZone: this.#config.timeZone });
      if (!record) continue;
      const expired = this.#deferred.note(record);
      const deliveries = record.kind === 'delivery' ? [record] : expired;
      if (record.kind === 'expiry' && expired.length === 0) unmatchedExpiries++;
      for (const delivery of deliveries) {
        if (!this.#agents.has(delivery.program)) continue;
        if (delivery.recipientDomain === undefined) {
          noDomain++;
          continue;
        }
        events.push(this.#event(delivery, delivery.recipientDomain));
      }
    }
    if (noDomain > 0) this.#log.warn({ lines: noDomain }, 'delivery lines whose recipient has no domain: not counted');
    if (unmatchedExpiries > 0) {
      this.#log.warn({ messages: unmatchedExpiries }, 'expired messages with no deferral read before (deferred before this source started reading): their recipients are unknown, not counted');
    }
    if (this.#deferred.forgotten > this.#forgotten) {
      this.#log.warn({ recipients: this.#deferred.forgotten - this.#forgotten }, 'too many deferred recipients followed at once: the oldest are forgotten, and will not be counted if they expire');
      this.#forgotten = this.#deferred.forgotten;
    }
    return events;
  }

  #event(delivery: PostfixDelivery, recipientDomain: string): TrafficEvent {
    const slice = this.#config.services[delivery.service] ?? this.#config.services[delivery.syslogName];
    if (!slice && this.#unmapped.size < maxUnmappedLogged && !this.#unmapped.has(delivery.service)) {
      this.#unmapped.add(delivery.service);
      this.#log.info({ service: delivery.service }, 'deliveries of a service with no pool or ip in services: counted without them');
    }
    const outcome = outcomeOf[delivery.status];
    // Peer text: control characters, escape sequences and anything like a credential go.
    const reply = delivery.reply === undefined ? '' : peerExcerpt(delivery.reply, replyExcerptLength);
    return {
      time: delivery.time,
      outcome,
      recipientDomain,
      ...(slice?.ip ? { ip: slice.ip } : {}),
      ...(slice?.pool ? { pool: slice.pool } : {}),
      ...(delivery.smtpCode !== undefined ? { smtpCode: delivery.smtpCode } : {}),
      ...(delivery.dsn ? { enhancedCode: delivery.dsn } : {}),
      ...(reply ? { reply } : {}),
      ...(outcome === 'delivered' && delivery.delaySeconds !== undefined ? { latencyMs: Math.round(delivery.delaySeconds * 1000) } : {}),
    };
  }
}

/** Follow the log until stopped: read, commit, then move on; wait for the file while it is missing. */
function follow(config: PostfixLogConfig, ctx: SourceContext) {
  const log = ctx.log.child({ source: config.id, path: config.path });
  const traffic = new PostfixTraffic(config, log);
  let tail = new FileTail(config.path, { maxLineBytes, startAt: config.startAt });
  let opened = false;
  let lastCommitted = ctx.checkpoint();
  if (lastCommitted !== undefined && decodeCheckpoint(lastCommitted) === undefined) {
    // Not a checkpoint this code wrote: start as the first time rather than guess a position.
    log.warn({ checkpoint: lastCommitted.slice(0, 200) }, 'the saved checkpoint cannot be read: starting as the first time');
    lastCommitted = undefined;
  }
  let stopping = false;
  let wake: (() => void) | undefined;
  let waitingLogged = false;
  let failures = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  const retryDelay = (attempts: number) => backoffMs(attempts, { minMs: config.pollInterval, maxMs: Math.max(config.pollInterval, 60_000), jitter: 0.2, random: Math.random });

  /** Commit until it takes (true) or the source stops (false: the batch is left for the next run). */
  async function commit(events: TrafficEvent[], checkpoint: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.commit(events, checkpoint);
        if (attempt > 1) log.info({ attempts: attempt }, 'batch committed after retrying');
        lastCommitted = checkpoint;
        return true;
      } catch (error) {
        log.warn({ err: (error as Error).message, attempt, events: events.length }, 'cannot commit the batch: retrying it (the position does not move)');
        ctx.health?.({ ok: false, code: 'COMMIT_FAILED', reason: `the store refused a batch: ${(error as Error).message}` });
      }
      if (stopping) return false;
      await sleep(retryDelay(attempt));
      if (stopping) return false;
    }
  }

  async function step(): Promise<void> {
    if (!opened) {
      opened = await tail.open(decodeCheckpoint(lastCommitted));
      for (const note of tail.notes.splice(0)) log.info({ note }, 'mail log opened');
      if (!opened) {
        if (!waitingLogged) log.warn('the mail log is missing: waiting for it');
        waitingLogged = true;
        ctx.health?.({ ok: false, code: 'LOG_MISSING', reason: `the mail log ${config.path} is missing: waiting for it` });
        return sleep(config.pollInterval);
      }
      if (waitingLogged) log.info('the mail log appeared');
      waitingLogged = false;
      // The starting point is kept at once: a restart before the first batch starts there, not at a later end.
      if (lastCommitted === undefined && tail.checkpoint && !(await commit([], encodeCheckpoint(tail.checkpoint)))) return;
    }
    const read = await tail.read(config.batchLines, maxBatchBytes);
    failures = 0;
    ctx.health?.({ ok: true });
    if (read.state !== 'lines') return sleep(config.pollInterval);
    if (read.event === 'switched') log.info('the mail log was rotated: the old file is finished, reading the new one from its start');
    if (read.event === 'truncated') log.warn('the mail log was truncated: reading it again from its start');
    if (read.skipped > 0) log.warn({ lines: read.skipped, maxLineBytes }, 'lines longer than the limit: skipped');
    const batch: TailBatch = read;
    const events = traffic.events(batch.lines, ctx.clock.now());
    // Stopped while reading: the batch is read again by the next run.
    if (stopping || !(await commit(events, encodeCheckpoint(batch.checkpoint)))) {
      await tail.discard(batch);
      return;
    }
    await tail.accept(batch);
    if (!batch.more) await sleep(config.pollInterval);
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await step();
      } catch (error) {
        // A read that failed (permissions, an I/O error): start over from what was committed, after a while.
        failures++;
        log.warn({ err: (error as Error).message, attempt: failures }, 'cannot read the mail log: trying again');
        ctx.health?.({ ok: false, code: (error as NodeJS.ErrnoException).code ?? 'READ_FAILED', reason: `cannot read the mail log: ${(error as Error).message}` });
        await tail.close();
        tail = new FileTail(config.path, { maxLineBytes, startAt: config.startAt });
        opened = false;
        await sleep(retryDelay(failures));
      }
    }
    await tail.close();
  }

  const running = run();
  const stop = () => {
    stopping = true;
    wake?.();
  };
  ctx.signal.addEventListener('abort', stop, { once: true });
  if (ctx.signal.aborted) stop();
  return {
    async stop(): Promise<void> {
      stop();
      await running;
      ctx.signal.removeEventListener('abort', stop);
    },
  };
}

export const postfixLog = defineSource({
  kind: 'postfix-log',
  description:
    "Postfix's mail log, tailed through rotation: each delivery attempt (status=sent, deferred, bounced, expired) with its DSN and reply; pools and source IPs from the services' syslog names",
  configSchema,
  measurements: trafficMeasurements,
  runtime: {
    async start(config, ctx) {
      return follow(config, ctx);
    },
  },
});
