/**
 * The services of one process, assembled in one place from the configuration:
 * the store, the DNS client, the control service, the alert engine and the probe
 * runner (with the list catalog) for every command; and, for `mailscope run`,
 * what works in the background (the outbox flusher, the notification dispatcher,
 * control pushes, the release of held mail, the scheduler, retention).
 * Each is built when first asked for, so `control list` opens the store and
 * never creates a DNS client.
 */
import { AlertEngine } from './alerts/engine.ts';
import { Dispatcher } from './alerts/dispatcher.ts';
import type { LoadedConfig } from './config/load.ts';
import { alertSettingsOf, controlSettingsOf, reportSettingsOf, retrySettingsOf, trafficSettingsOf } from './config/settings.ts';
import { ownAddressesOf } from './reports/own.ts';
import { ReportService } from './reports/service.ts';
import { providerMap } from './core/providers.ts';
import { TrafficFlusher } from './traffic/flusher.ts';
import { TrafficService } from './traffic/service.ts';
import { Pusher, pushTargetsOf } from './controls/pusher.ts';
import { Releaser, releaseTargetsOf } from './controls/release.ts';
import { controlActions } from './controls/rule-actions.ts';
import { sendPolicyOf } from './controls/send-policy.ts';
import { ControlService } from './controls/service.ts';
import { ChangeFeed, type ChangeKind } from './core/changes.ts';
import type { Clock } from './core/clock.ts';
import { alone, type Duty } from './core/duty.ts';
import type { Logger } from './core/logger.ts';
import type { SendPolicy } from './platforms/define.ts';
import type { DnsClient } from './protocols/dns/client.ts';
import { OutboxFlusher } from './runner/outbox-flusher.ts';
import { RetentionPruner } from './runner/retention.ts';
import { Runner } from './runner/runner.ts';
import { Scheduler } from './runner/scheduler.ts';
import { outboxSnapshotOf, probeServicesOf } from './runner/services.ts';
import { createInfluxWriter } from './series/influx-writer.ts';
import type { Database, StoreLocation } from './store/database.ts';

export interface AssembleOptions {
  config: LoadedConfig;
  log: Logger;
  clock: Clock;
  /** Open the store, create the DNS client: each called once, when a service first needs it. */
  open: { store(): Database; dns(): DnsClient };
  /**
   * `observatory` (`mailscope run`): the outbox is shipped, notifications are
   * delivered, controls are pushed and held mail released by this process.
   * `command` (one CLI command): what it records, queues or changes waits in the
   * store for the running observatory.
   */
  role: 'observatory' | 'command';
  /** In a cluster (the store on PostgreSQL): whether this instance does the work done once, and its fencing token. Alone by default. */
  duty?: Duty;
}

export class Services {
  readonly config: LoadedConfig;
  /** What changed (a run, an alert, a control, traffic, a report): the console's live pages listen. */
  readonly changes = new ChangeFeed();
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #open: AssembleOptions['open'];
  readonly #observatory: boolean;
  readonly duty: Duty;
  #store: Database | undefined;
  #dns: DnsClient | undefined;
  #controls: ControlService | undefined;
  #alerts: AlertEngine | undefined;
  #runner: Runner | undefined;
  #flusher: OutboxFlusher | undefined;
  #dispatcher: Dispatcher | undefined;
  #pusher: Pusher | undefined;
  #releaser: Releaser | undefined;
  #scheduler: Scheduler | undefined;
  #pruner: RetentionPruner | undefined;
  #traffic: TrafficService | undefined;
  #trafficFlusher: TrafficFlusher | undefined;
  #reports: ReportService | undefined;

  constructor(options: AssembleOptions) {
    this.config = options.config;
    this.#log = options.log;
    this.#clock = options.clock;
    this.#open = options.open;
    this.#observatory = options.role === 'observatory';
    this.duty = options.duty ?? alone;
  }

  get store(): Database {
    return (this.#store ??= this.#open.store());
  }

  get dns(): DnsClient {
    return (this.#dns ??= this.#open.dns());
  }

  get controls(): ControlService {
    if (!this.#controls) {
      const { instance } = this.config;
      this.#controls = new ControlService({ db: this.store, clock: this.#clock, log: this.#log, settings: controlSettingsOf(instance), platforms: pushTargetsOf(instance.platforms), duty: this.duty });
      if (this.#observatory) {
        this.#controls.onChange(() => {
          this.changes.emit('control');
          this.pusher.wake();
          this.releaser.wake();
        });
      }
    }
    return this.#controls;
  }

  /** The rules, evaluated in each run's transaction; their control actions write controls (pushed and enforced by the observatory). */
  get alerts(): AlertEngine {
    return (this.#alerts ??= new AlertEngine({
      db: this.store,
      rules: this.config.rules.map(({ rule }) => rule),
      clock: this.#clock,
      log: this.#log,
      settings: alertSettingsOf(this.config.instance),
      ...(this.#observatory
        ? {
            onQueued: () => {
              this.dispatcher.wake();
              this.changes.emit('alert');
            },
          }
        : {}),
      actions: controlActions(this.controls),
      duty: this.duty,
    }));
  }

  get runner(): Runner {
    if (!this.#runner) {
      const { instance } = this.config;
      // Built before the first run: never inside a run's recording transaction.
      const alerts = this.alerts;
      // The outbox probe sees this process's flusher when it has one; a command counts the store's rows.
      const outbox = outboxSnapshotOf(this.store, this.#clock, instance.influx !== undefined, this.#observatory ? this.flusher : undefined);
      this.#runner = new Runner({
        db: this.store,
        clock: this.#clock,
        log: this.#log,
        services: probeServicesOf(instance, this.dns, outbox),
        onRecord: (observations) => {
          alerts.evaluate(observations);
          this.#changedAfterCommit('run');
        },
        duty: this.duty,
      });
    }
    return this.#runner;
  }

  // ── the observatory's background services ──

  /** Ships the outbox to InfluxDB; undefined without `influx:`. */
  get flusher(): OutboxFlusher | undefined {
    const influx = this.config.instance.influx;
    if (!influx) return undefined;
    return (this.#flusher ??= new OutboxFlusher(this.store, createInfluxWriter(influx), this.#log, {
      batchSize: influx.batchSize,
      intervalMs: influx.flushInterval,
      maxRetryMs: influx.maxRetryDelay,
      clock: this.#clock,
      duty: this.duty,
    }));
  }

  get dispatcher(): Dispatcher {
    const { instance } = this.config;
    return (this.#dispatcher ??= new Dispatcher({ db: this.store, channels: instance.notifiers, clock: this.#clock, log: this.#log, retry: retrySettingsOf(instance.alerts.retry), duty: this.duty }));
  }

  get pusher(): Pusher {
    const { instance } = this.config;
    return (this.#pusher ??= new Pusher({ db: this.store, platforms: instance.platforms, clock: this.#clock, log: this.#log, retry: retrySettingsOf(instance.controls.retry), duty: this.duty }));
  }

  get releaser(): Releaser {
    return (this.#releaser ??= new Releaser({
      db: this.store,
      controls: this.controls,
      targets: releaseTargetsOf(this.config.instance.platforms),
      clock: this.#clock,
      log: this.#log,
      duty: this.duty,
    }));
  }

  get scheduler(): Scheduler {
    return (this.#scheduler ??= new Scheduler({ runner: this.runner, definitions: this.config.probes.map((probe) => probe.definition), log: this.#log, duty: this.duty }));
  }

  get pruner(): RetentionPruner {
    const { retention, influx } = this.config.instance;
    return (this.#pruner ??= new RetentionPruner(this.store, this.#log, {
      keepMs: retention.keep,
      intervalMs: retention.interval,
      batchSize: retention.batchSize,
      pruneOutbox: !influx,
      clock: this.#clock,
      duty: this.duty,
    }));
  }

  /** Counts the traffic the sources report (posted or tailed), per minute and slice. */
  get traffic(): TrafficService {
    const { instance } = this.config;
    return (this.#traffic ??= new TrafficService({
      db: this.store,
      clock: this.#clock,
      log: this.#log,
      // A command only reads what was counted: it asks no DNS.
      ...(this.#observatory ? { dns: this.dns } : {}),
      providers: providerMap(instance.controls.providers),
      settings: trafficSettingsOf(instance),
    }));
  }

  /** Writes changed minutes of traffic to the outbox and shows them to the alert rules. */
  get trafficFlusher(): TrafficFlusher {
    const { traffic } = this.config.instance;
    // Built before the first flush: never inside its transaction.
    const alerts = this.alerts;
    return (this.#trafficFlusher ??= new TrafficFlusher({
      db: this.store,
      clock: this.#clock,
      log: this.#log,
      intervalMs: traffic.flushInterval,
      campaignTag: traffic.campaignTag,
      keepMs: this.config.instance.retention.keep,
      evaluate: (observations, options) => {
        alerts.evaluate(observations, options);
        this.#changedAfterCommit('traffic');
      },
      duty: this.duty,
    }));
  }

  /** Records feedback reports (from report sources, uploads and `report import`), their points and the bounces they carry. */
  get reports(): ReportService {
    // Built before the first intake: never inside its transaction.
    const alerts = this.alerts;
    return (this.#reports ??= new ReportService({
      db: this.store,
      clock: this.#clock,
      log: this.#log,
      dns: this.dns,
      traffic: this.traffic,
      settings: reportSettingsOf(this.config.instance),
      evaluate: (observations) => {
        alerts.evaluate(observations);
        this.#changedAfterCommit('report');
      },
      own: ownAddressesOf(this.config.probes, this.store, this.#clock),
    }));
  }

  /** What a platform's runtime asks: the controls; a message held for a pause lifted meanwhile wakes the releaser. */
  sendPolicy(platformId: string): SendPolicy {
    return sendPolicyOf({ platformId, controls: this.controls, db: this.store, clock: this.#clock, onHeldAfterLift: () => this.releaser.wake() });
  }

  /** Called inside a transaction: listeners hear of it once it committed (they read what changed). */
  #changedAfterCommit(kind: ChangeKind): void {
    if (this.changes.listeners > 0) setImmediate(() => this.changes.emit(kind));
  }

  /** Close the DNS client and the store, those that were opened. */
  close(): void {
    this.#dns?.close();
    this.#store?.close();
  }
}

/** What one CLI command may use: nothing that works in the background. */
export type CommandServices = Pick<Services, 'config' | 'store' | 'dns' | 'controls' | 'alerts' | 'runner' | 'traffic' | 'reports' | 'close'>;

/** The services of this process: `mailscope run`'s, or one command's. */
export function assembleServices(options: AssembleOptions & { role: 'command' }): CommandServices;
export function assembleServices(options: AssembleOptions & { role: 'observatory' }): Services;
export function assembleServices(options: AssembleOptions): Services {
  return new Services(options);
}

/** Where the store lives, as the store opens it: the data dir, or PostgreSQL (the URL's password revealed here only). */
export function storeLocationOf(loaded: { dataDir: string; instance: LoadedConfig['instance'] }): StoreLocation {
  const { store } = loaded.instance;
  if (store.kind === 'sqlite') return { kind: 'sqlite', dataDir: loaded.dataDir };
  return { kind: 'postgres', url: store.url.reveal(), statementTimeoutMs: store.statementTimeout, connectTimeoutMs: store.connectTimeout };
}
