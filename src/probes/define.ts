import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Measurements } from '../core/measurement.ts';
import type { Observation } from '../core/observation.ts';
import { cronExpression, duration, identifier, timeZone } from '../core/schema.ts';
import type { Resolver } from '../protocols/dns/types.ts';
import type { ListCatalog } from './dnsbl-lists.ts';

/** What a probe gets to work with. */
export interface ProbeContext {
  clock: Clock;
  log: Logger;
  /** Aborted when the run times out or the observatory shuts down. */
  signal: AbortSignal;
  /** The DNS client every probe shares (its cache and rate limits included). */
  dns: Resolver;
  /** The blocklists in effect: built-in, DQS when keyed, and the user's own. */
  blocklists: ListCatalog;
  /** Mailscope's own outbox toward the time-series database, as it stands now. */
  outbox(): OutboxSnapshot;
}

/** The outbox's state, for the `outbox` probe kind (runner/ reads it from the store and the flusher). */
export interface OutboxSnapshot {
  /** An `influx:` section is configured, so something drains the outbox. */
  configured: boolean;
  depth: number;
  oldestAgeMs: number;
  quarantined: number;
  consecutiveFailures: number;
  lastError?: string;
}

/** The services the runner hands every probe, besides clock, log and signal. */
export type ProbeServices = Pick<ProbeContext, 'dns' | 'blocklists' | 'outbox'>;

/** The keys every probe definition has, whatever its kind. */
export const ProbeBase = z.object({
  id: identifier.describe('unique across all probe files; becomes the `probe` tag'),
  kind: z.string().describe('the probe kind (see the table of kinds)'),
  description: z.string().optional().describe('free text for people'),
  schedule: cronExpression.describe('cron expression, 5 fields or 6 with seconds first'),
  timezone: timeZone.optional().describe("IANA time zone of the schedule; default: the machine's"),
  timeout: duration.prefault('30s').describe('a run still going after this is recorded as PROBE_TIMEOUT'),
  jitter: duration.prefault('0s').describe('random delay before each scheduled run, to spread load'),
  enabled: z.boolean().default(true).describe('false: defined and runnable by hand, never scheduled'),
});

export type ProbeBaseOutput = z.output<typeof ProbeBase>;

/**
 * What a kind's load-time checks see of the instance: built from the instance
 * configuration by probeLoadContext (index.ts), which the config loader calls,
 * so that a kind never sees config/.
 */
export interface ProbeLoadContext {
  /** dns.rateLimit: queries per second to each resolver; 0 = no limit. */
  dnsRateLimit: number;
  /** The blocklists in effect: built-in, DQS when keyed, and the user's own. */
  blocklists: ListCatalog;
}

/** A problem with one probe definition: where in it (['lists', 2]) and what is wrong. */
export interface DefinitionProblem {
  path: (string | number)[];
  message: string;
}

export interface ProbeKind<K extends string = string, S extends z.ZodType<ProbeBaseOutput & { kind: K }> = z.ZodType<ProbeBaseOutput & { kind: K }>, M extends Measurements = Measurements> {
  kind: K;
  description: string;
  configSchema: S;
  /**
   * The measurements its observations belong to: tags, typed fields, units,
   * `since` and `changes` state. The series registry is composed from these
   * (src/measurements/); record() refuses an observation that does not match.
   * A measurement another kind also writes is declared with the same spec object.
   */
  measurements: M;
  /**
   * Checks of a definition against the rest of the configuration, at load time
   * (its schema checks the definition alone): e.g. that the lists it names exist.
   * Every problem is reported with the others, at its path below the definition.
   */
  checkAtLoad?(definition: z.output<S>, context: ProbeLoadContext): DefinitionProblem[];
  /** The platform's own sending addresses this definition names (a blacklist probe's IP targets): reports mark them as yours. */
  sendingAddresses?(definition: z.output<S>): string[];
  /**
   * Measure and return what was found. Throw a MailscopeError only when nothing
   * could be measured; runner/ turns that throw into a failed run.
   */
  run(config: z.output<S>, ctx: ProbeContext): Promise<Observation[]>;
}

export function defineProbe<K extends string, S extends z.ZodType<ProbeBaseOutput & { kind: K }>, M extends Measurements>(probe: ProbeKind<K, S, M>): ProbeKind<K, S, M> {
  return probe;
}
