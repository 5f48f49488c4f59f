import type { Clock } from '../core/clock.ts';
import { alone, type Duty } from '../core/duty.ts';
import { MailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Observation } from '../core/observation.ts';
import type { ProbeServices } from '../probes/define.ts';
import { findProbeKind, type ProbeDefinition } from '../probes/index.ts';
import type { Database } from '../store/database.ts';
import { record, type Recorded } from '../store/record.ts';
import type { RunResult, RunTrigger } from '../store/runs.ts';
import { runProbe, type AnyProbeKind } from './run-probe.ts';

export interface CompletedRun extends Recorded {
  run: RunResult;
}

export interface RunnerOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  services: ProbeServices;
  /** Called inside each run's recording transaction with its observations (the alert rules). */
  onRecord?: (observations: readonly Observation[]) => void;
  /** Where probe kinds are looked up; the registry unless a test says otherwise. */
  findKind?: (kind: string) => AnyProbeKind | undefined;
  /**
   * In a cluster: a scheduled run is recorded only while this instance holds the lease
   * (its recording transaction is fenced), so a tick is run by one instance. A run asked
   * for through the API or the CLI is recorded by whichever instance ran it.
   */
  duty?: Duty;
}

/**
 * Runs probes and records every outcome: one run of a probe at a time, all runs
 * abortable together at shutdown, each recorded (even an aborted one) before
 * the store may close.
 */
export class Runner {
  readonly #db: Database;
  readonly #duty: Duty;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #services: ProbeServices;
  readonly #findKind: (kind: string) => AnyProbeKind | undefined;
  readonly #onRecord: ((observations: readonly Observation[]) => void) | undefined;
  readonly #inFlight = new Map<string, Promise<CompletedRun>>();
  readonly #shutdown = new AbortController();

  constructor(options: RunnerOptions) {
    this.#db = options.db;
    this.#duty = options.duty ?? alone;
    this.#clock = options.clock;
    this.#log = options.log.child({ component: 'runner' });
    this.#services = options.services;
    this.#findKind = options.findKind ?? findProbeKind;
    this.#onRecord = options.onRecord;
  }

  isRunning(probeId: string): boolean {
    return this.#inFlight.has(probeId);
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get stopped(): boolean {
    return this.#shutdown.signal.aborted;
  }

  /** Run now and record. Throws PROBE_BUSY when that probe is already running. */
  run(definition: ProbeDefinition, trigger: RunTrigger): Promise<CompletedRun> {
    if (this.#shutdown.signal.aborted) {
      return Promise.reject(new MailscopeError('PROBE_ABORTED', 'Mailscope is shutting down; no new runs start'));
    }
    if (this.#inFlight.has(definition.id)) {
      return Promise.reject(new MailscopeError('PROBE_BUSY', `probe "${definition.id}" is already running`, { details: { probe: definition.id } }));
    }
    const probe = this.#findKind(definition.kind);
    if (!probe) {
      return Promise.reject(new MailscopeError('PROBE_NOT_FOUND', `no probe kind "${definition.kind}"`));
    }
    const work = (async () => {
      const run = await runProbe(definition, probe, { trigger, clock: this.#clock, log: this.#log, services: this.#services, signal: this.#shutdown.signal });
      return { ...this.#record(run), run };
    })();
    this.#inFlight.set(definition.id, work);
    const forget = () => this.#inFlight.delete(definition.id);
    work.then(forget, forget);
    return work;
  }

  /** A scheduled run that did not start because the previous one is still going: recorded as a failed run. */
  recordOverlap(definition: ProbeDefinition): Recorded {
    const now = this.#clock.now();
    return this.#record({
      probeId: definition.id,
      kind: definition.kind,
      trigger: 'schedule',
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      success: false,
      error: { code: 'PROBE_OVERLAP', message: 'skipped: the previous run of this probe was still in progress' },
      observations: [],
    });
  }

  #record(run: RunResult): Recorded {
    const onRecord = this.#onRecord;
    const within =
      run.trigger === 'schedule'
        ? (observations: readonly Observation[]) => {
            this.#duty.fence();
            onRecord?.(observations);
          }
        : onRecord;
    const recorded = record(this.#db, run, within);
    this.#log.info({ probe: run.probeId, runId: recorded.runId, success: recorded.success, code: recorded.error?.code, durationMs: Math.round(run.durationMs) }, 'run recorded');
    return recorded;
  }

  /** Abort every run in progress and wait until each is recorded. */
  async stop(): Promise<void> {
    this.#shutdown.abort();
    await Promise.allSettled(this.#inFlight.values());
  }
}
