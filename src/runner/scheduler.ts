import cron, { type ScheduledTask } from 'node-cron';
import { alone, type Duty } from '../core/duty.ts';
import { isMailscopeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ProbeDefinition } from '../probes/index.ts';
import type { Runner } from './runner.ts';

/**
 * One node-cron task per enabled probe definition. A probe that throws, hangs
 * past its timeout or overlaps itself is recorded as such; nothing a probe does
 * stops the scheduler or the other probes.
 */
export class Scheduler {
  readonly #runner: Runner;
  readonly #log: Logger;
  readonly #definitions: readonly ProbeDefinition[];
  readonly #tasks = new Map<string, ScheduledTask>();
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  readonly #duty: Duty;

  constructor(options: { runner: Runner; definitions: readonly ProbeDefinition[]; log: Logger; duty?: Duty }) {
    this.#duty = options.duty ?? alone;
    this.#runner = options.runner;
    this.#definitions = options.definitions;
    this.#log = options.log.child({ component: 'scheduler' });
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  nextRun(probeId: string): Date | null {
    return this.#tasks.get(probeId)?.getNextRun() ?? null;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    const cronLog = this.#log.child({ component: 'node-cron' });
    const logger = {
      info: (message: string) => cronLog.debug(message),
      // Overlaps are recorded as runs (execution:overlap below); node-cron's own warning would only repeat it.
      warn: (message: string) => cronLog.debug(message),
      error: (message: string | Error, err?: Error) => cronLog.error({ err: err ?? message }, 'node-cron error'),
      debug: (message: string | Error) => cronLog.debug(String(message)),
    };
    for (const definition of this.#definitions) {
      if (!definition.enabled) continue;
      const task = cron.createTask(definition.schedule, () => this.#tick(definition), {
        name: definition.id,
        noOverlap: true,
        maxRandomDelay: definition.jitter,
        logger,
        ...(definition.timezone ? { timezone: definition.timezone } : {}),
      });
      task.on('execution:overlap', () => this.#overlap(definition));
      task.on('execution:missed', () => this.#log.warn({ probe: definition.id }, 'scheduled run missed (event loop was blocked)'));
      this.#tasks.set(definition.id, task);
      void task.start();
    }
    this.#state = 'running';
    this.#log.info({ tasks: this.#tasks.size }, 'scheduler started');
  }

  async #tick(definition: ProbeDefinition): Promise<void> {
    if (this.#runner.stopped) return;
    // In a cluster, every instance keeps the schedule and the lease's holder runs it.
    if (!this.#duty.active()) return;
    // A run started through the API counts as the previous run too.
    if (this.#runner.isRunning(definition.id)) {
      this.#overlap(definition);
      return;
    }
    try {
      await this.#runner.run(definition, 'schedule');
    } catch (error) {
      if (isMailscopeError(error) && error.code === 'PROBE_ABORTED') return;
      // The cluster's lease passed to another instance during the run: that one runs the next tick.
      if (isMailscopeError(error) && error.code === 'LEASE_LOST') {
        this.#log.warn({ probe: definition.id, reason: error.message }, 'run not recorded: this instance no longer leads the cluster');
        return;
      }
      // Only the store can fail here (the run itself never throws): say so loudly and keep scheduling.
      this.#log.error({ err: error, probe: definition.id }, 'run could not be recorded');
    }
  }

  #overlap(definition: ProbeDefinition): void {
    if (this.#runner.stopped) return;
    try {
      this.#runner.recordOverlap(definition);
    } catch (error) {
      this.#log.error({ err: error, probe: definition.id }, 'overlap could not be recorded');
    }
  }

  /** Stop scheduling, abort runs in progress and wait until each is recorded. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    await Promise.all([...this.#tasks.values()].map((task) => task.destroy()));
    this.#tasks.clear();
    await this.#runner.stop();
    this.#log.info('scheduler stopped');
  }
}
