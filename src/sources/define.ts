/**
 * A source is to events what a probe is to observations (DESIGN.md): it turns
 * what a sending platform reports — a KumoMTA log record posted to Mailscope, a
 * line of Postfix's mail log, a JSON event — into traffic events, and never
 * writes the store itself. Two ways in:
 * - pushed: the platform POSTs to `/v1/ingest/<kind>`; `http.parse` turns the
 *   body into events (or refuses it, naming the record and the field), and the
 *   request is answered 2xx only once they are committed;
 * - tailed: `runtime.start` follows a file (or polls), handing each batch of
 *   events to `ctx.commit` together with where it got to (its checkpoint), so a
 *   restart resumes there: nothing lost, nothing counted twice.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { MeasurementSpec } from '../core/measurement.ts';
import { identifier } from '../core/schema.ts';
import type { SourceOutcome } from './health.ts';
import type { TrafficEvent } from '../core/traffic.ts';

/** The keys every source has, whatever its kind. */
export const SourceBase = z.object({
  id: identifier.describe('how the API, the CLI and the logs name this source'),
  kind: z.string().describe('the source kind (see the table of kinds)'),
});

export type SourceBaseOutput = z.output<typeof SourceBase>;

/** A record the platform sent that cannot be read: refused with where and why (the whole body is refused). */
export class SourceInputError extends Error {
  /** Which record of the body (0-based), when the body is a batch. */
  readonly record: number | undefined;
  /** The field of that record, as a path ("response.code"). */
  readonly field: string | undefined;

  constructor(message: string, options: { record?: number; field?: string } = {}) {
    super(message);
    this.name = 'SourceInputError';
    this.record = options.record;
    this.field = options.field;
  }
}

/** Pushed over HTTP: `POST /v1/ingest/<kind>` (or `/v1/ingest/<kind>/<id>` when several sources share the kind). */
export interface HttpIngest<C> {
  /** Largest body accepted, in bytes (a larger one is a 413 and nothing is read). */
  maxBodyBytes: number;
  /**
   * The events of one request body (JSON, already parsed). Throw a SourceInputError
   * naming the record and the field when any record cannot be read: a batch is
   * taken whole or not at all.
   */
  parse(body: unknown, config: C): TrafficEvent[];
}

/** Pushed over HTTP as a file (a report, a mail): `POST /v1/ingest/<kind>`, the raw body handed to intake(). */
export interface UploadIngest {
  /** Largest body accepted, in bytes (a larger one is a 413 and nothing is read). */
  maxBodyBytes: number;
}

/** What became of one report (or one part of an input that carried several). */
export interface IntakeOutcome {
  /** dmarc-aggregate, tls-rpt, arf, dsn; absent when the input could not be read */
  kind?: string;
  /** Which part of a mail, when the input carried several */
  part?: string;
  /** recorded: new; duplicate: recorded before (the same report again); quarantined: refused with its reason */
  status: 'recorded' | 'duplicate' | 'quarantined';
  /** The stored report's id (recorded or duplicate) */
  id?: number;
  reportId?: string;
  org?: string;
  domain?: string;
  code?: string;
  reason?: string;
}

export interface IntakeResult {
  recorded: number;
  duplicates: number;
  quarantined: number;
  outcomes: IntakeOutcome[];
}

/** What a tailing source gets to work with. */
export interface SourceContext {
  clock: Clock;
  log: Logger;
  /** Aborted when the observatory shuts down. */
  signal: AbortSignal;
  /** Where this source got to when it last committed; undefined the first time. */
  checkpoint(): string | undefined;
  /**
   * Record events and where the source got to, in one transaction: once this
   * returns, both are committed (the caller may then move on: an offset is saved
   * only with the counts it produced). Throws when the store refuses.
   */
  commit(events: readonly TrafficEvent[], checkpoint: string): Promise<void>;
  /**
   * Read one input (a mail, a report file) and record what it carries — reports,
   * or the quarantine with the reason — in one transaction. Once this returns the
   * input may be acknowledged (moved, deleted); the same input read again is a
   * duplicate. Throws when nothing could be recorded (the store refused): leave
   * the input where it is and try again later.
   */
  intake(input: Buffer | Readable, name: string): Promise<IntakeResult>;
  /** Say how the source is doing (after each pass, or when it fails): shown in GET /v1/sources and the console. */
  health?(outcome: SourceOutcome): void;
}

export interface RunningSource {
  /** Stop reading; resolves once the last batch is committed (or abandoned). */
  stop(): Promise<void>;
}

/** Tailed or polled in `mailscope run`. */
export interface SourceRuntime<C> {
  start(config: C, ctx: SourceContext): Promise<RunningSource>;
}

export interface SourceKind<K extends string = string, S extends z.ZodType<SourceBaseOutput & { kind: K }> = z.ZodType<SourceBaseOutput & { kind: K }>> {
  kind: K;
  description: string;
  configSchema: S;
  /** The measurements this kind's events become (the traffic aggregates). */
  measurements: Record<string, MeasurementSpec>;
  http?: HttpIngest<z.output<S>>;
  upload?: UploadIngest;
  runtime?: SourceRuntime<z.output<S>>;
}

export function defineSource<K extends string, S extends z.ZodType<SourceBaseOutput & { kind: K }>>(source: SourceKind<K, S>): SourceKind<K, S> {
  return source;
}
