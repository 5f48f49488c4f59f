/**
 * The traffic service: takes the events a source produced, completes them (the
 * provider from the recipient's domain — the known domains, else its MX hosts —
 * and the bounce class), adds them to the minute aggregates and the reasons, and
 * commits, with the source's checkpoint when it has one, in ONE transaction.
 * Whoever acknowledges the events (an HTTP 2xx, a saved log offset) does so only
 * after ingest() resolved.
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { providerOfMx } from '../core/providers.ts';
import { peerExcerpt } from '../core/redact.ts';
import type { TrafficEvent } from '../core/traffic.ts';
import { classifyBounce } from '../protocols/mail/bounce-class.ts';
import type { Resolver } from '../protocols/dns/types.ts';
import { SourceInputError, type SourceContext } from '../sources/define.ts';
import type { Database } from '../store/database.ts';
import { addReasons, addTraffic, emptyCounts, getCheckpoint, saveCheckpoint, type TrafficBucket, type TrafficReason } from '../store/traffic.ts';

export interface TrafficSettings {
  /** Keep campaigns apart in the aggregates (a tag of the traffic series). */
  campaignTag: boolean;
  /** Distinct reasons kept per hour, provider and bounce class. */
  reasonsKept: number;
  /** Find the provider of unknown domains by their MX hosts. */
  mxLookup: boolean;
  /** Events older than this (the retention period) are not counted. */
  oldestMs: number;
}

/** How far ahead of this clock an event may be dated (the platform's clock may run a little fast). */
const futureSlackMs = 3_600_000;

/** A reply with its variable parts masked, so the same refusal to a thousand recipients is one reason. */
export function reasonOf(reply: string): string {
  return reply
    .replace(/<[^<>@\s]+@[^<>\s]+>|\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<address>')
    .replace(/\[?\b\d{1,3}(\.\d{1,3}){3}\b\]?|\[?\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b\]?/gi, '<ip>')
    .replace(/\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{12,}\b/g, '<id>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

export interface PreparedTraffic {
  /** Recipient domain → provider, for the events prepared. */
  providers: ReadonlyMap<string, string>;
  /** Write the aggregates; call inside a transaction. */
  apply(): void;
}

interface Pending {
  buckets: Map<string, TrafficBucket>;
  reasons: Map<string, TrafficReason>;
}

export class TrafficService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #dns: Resolver | undefined;
  readonly #providers: ReadonlyMap<string, string>;
  readonly #settings: TrafficSettings;
  /** Domain → provider found by MX (and until when it is trusted). */
  readonly #byMx = new Map<string, { provider: string; until: number }>();

  constructor(options: { db: Database; clock: Clock; log: Logger; dns?: Resolver | undefined; providers: ReadonlyMap<string, string>; settings: TrafficSettings }) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'traffic' });
    this.#dns = options.dns;
    this.#providers = options.providers;
    this.#settings = options.settings;
  }

  /**
   * Count a batch of events (a request body, a run of log lines), and the source's
   * checkpoint with them. An event dated outside what is kept (older than the
   * retention, or more than an hour ahead) is refused as bad input, naming it.
   */
  async ingest(events: readonly TrafficEvent[], checkpoint?: { source: string; value: string }): Promise<{ counted: number }> {
    const now = this.#clock.now().getTime();
    events.forEach((event, index) => {
      const at = event.time.getTime();
      if (!Number.isFinite(at) || at < now - this.#settings.oldestMs || at > now + futureSlackMs) {
        throw new SourceInputError(`event ${index}, time: ${Number.isFinite(at) ? event.time.toISOString() : 'invalid'} is outside what is kept (the retention period up to an hour ahead)`, {
          record: index,
          field: 'time',
        });
      }
    });
    const prepared = await this.prepare(events);
    this.#db.transaction(() => {
      prepared.apply();
      if (checkpoint) saveCheckpoint(this.#db, checkpoint.source, checkpoint.value, now);
    });
    return { counted: events.length };
  }

  /**
   * Complete events (the provider of each recipient domain, asked of DNS when
   * needed) and aggregate them, without writing: apply() writes them, inside the
   * caller's transaction (a report's bounces commit with the report).
   */
  async prepare(events: readonly TrafficEvent[]): Promise<PreparedTraffic> {
    const providers = await this.#providersOf(events);
    const pending: Pending = { buckets: new Map(), reasons: new Map() };
    for (const event of events) this.#add(pending, event, providers.get(event.recipientDomain) ?? 'other');
    return {
      providers,
      apply: () => {
        addTraffic(this.#db, pending.buckets.values());
        addReasons(this.#db, pending.reasons.values(), this.#settings.reasonsKept);
      },
    };
  }

  /** The window of event times this service counts, at this moment (older than the retention, or more than an hour ahead, is not). */
  keptWindow(): { oldest: number; newest: number } {
    const now = this.#clock.now().getTime();
    return { oldest: now - this.#settings.oldestMs, newest: now + futureSlackMs };
  }

  checkpoint(source: string): string | undefined {
    return getCheckpoint(this.#db, source);
  }

  /** The context a tailing source runs in: its checkpoint, and commit() through ingest(). */
  contextFor(source: string, options: { signal: AbortSignal }): Omit<SourceContext, 'intake'> {
    const log = this.#log.child({ source });
    return {
      clock: this.#clock,
      log,
      signal: options.signal,
      checkpoint: () => this.checkpoint(source),
      commit: async (events, value) => {
        // A tailed file may hold lines older than what is kept (a first read of an old log): skipped, not refused.
        const now = this.#clock.now().getTime();
        const kept = events.filter((event) => event.time.getTime() >= now - this.#settings.oldestMs && event.time.getTime() <= now + futureSlackMs);
        if (kept.length < events.length) log.warn({ skipped: events.length - kept.length }, 'events dated outside what is kept were skipped');
        await this.ingest(kept, { source, value });
      },
    };
  }

  #add(pending: Pending, event: TrafficEvent, provider: string): void {
    const minute = Math.floor(event.time.getTime() / 60_000) * 60_000;
    const slice = { provider, ip: event.ip ?? '', pool: event.pool ?? '', campaign: this.#settings.campaignTag ? (event.campaign ?? '') : '' };
    const key = JSON.stringify([minute, slice.provider, slice.ip, slice.pool, slice.campaign]);
    let bucket = pending.buckets.get(key);
    if (!bucket) pending.buckets.set(key, (bucket = { minute, ...slice, counts: emptyCounts(), classes: {}, latencySum: 0, latencyCount: 0 }));
    bucket.counts[event.outcome]++;
    if (event.outcome === 'delivered') {
      if (event.latencyMs !== undefined && Number.isFinite(event.latencyMs) && event.latencyMs >= 0) {
        bucket.latencySum += event.latencyMs;
        bucket.latencyCount++;
        bucket.latencyMax = Math.max(bucket.latencyMax ?? 0, event.latencyMs);
      }
      return;
    }
    // The reply's text and codes decide first; a source's own label (KumoMTA's, sisimai's, ours) only when they do not.
    const bounceClass = classifyBounce({ outcome: event.outcome, smtpCode: event.smtpCode, enhancedCode: event.enhancedCode, reply: event.reply, label: event.bounceClass });
    bucket.classes[bounceClass] = (bucket.classes[bounceClass] ?? 0) + 1;
    if (event.reply === undefined || event.reply.trim() === '') return;
    const example = peerExcerpt(event.smtpCode !== undefined && !event.reply.startsWith(String(event.smtpCode)) ? `${event.smtpCode} ${event.reply}` : event.reply);
    const hour = Math.floor(minute / 3_600_000) * 3_600_000;
    const reason = reasonOf(example);
    const reasonKey = JSON.stringify([hour, provider, bounceClass, reason]);
    const seen = pending.reasons.get(reasonKey);
    if (seen) {
      seen.count++;
      seen.lastSeen = Math.max(seen.lastSeen, event.time.getTime());
      seen.example = example;
    } else pending.reasons.set(reasonKey, { hour, provider, class: bounceClass, reason, count: 1, lastSeen: event.time.getTime(), example });
  }

  /** The provider of each recipient domain in the batch: as the source said, a known domain, or by MX. */
  async #providersOf(events: readonly TrafficEvent[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unknown = new Set<string>();
    for (const event of events) {
      if (found.has(event.recipientDomain)) continue;
      const provider = event.provider ?? this.#known(event.recipientDomain);
      if (provider) found.set(event.recipientDomain, provider);
      else unknown.add(event.recipientDomain);
    }
    await Promise.all([...unknown].map(async (domain) => found.set(domain, await this.#byMxOf(domain))));
    return found;
  }

  /** A known provider domain, or a subdomain of one. */
  #known(domain: string): string | undefined {
    for (let name = domain; name.includes('.'); name = name.slice(name.indexOf('.') + 1)) {
      const provider = this.#providers.get(name);
      if (provider) return provider;
    }
    return undefined;
  }

  async #byMxOf(domain: string): Promise<string> {
    if (!this.#settings.mxLookup || !this.#dns) return 'other';
    const now = this.#clock.now().getTime();
    const cached = this.#byMx.get(domain);
    if (cached && cached.until > now) return cached.provider;
    const outcome = await this.#dns.query(domain, 'MX');
    // Unknown is not "other": a failed lookup is counted as unknown, and asked again soon.
    const provider =
      outcome.status === 'answer'
        ? (providerOfMx(outcome.records.flatMap((record) => (record.type === 'MX' ? [(record.data as { exchange: string }).exchange] : []))) ?? 'other')
        : outcome.status === 'error'
          ? 'unknown'
          : 'other';
    if (this.#byMx.size >= 100_000) this.#byMx.delete(this.#byMx.keys().next().value!);
    this.#byMx.set(domain, { provider, until: now + (provider === 'unknown' ? 300_000 : 86_400_000) });
    return provider;
  }
}
