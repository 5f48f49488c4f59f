import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from './config/load.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/logger.ts';
import { MailscopeError } from './core/errors.ts';
import { formatHostPort } from './core/schema.ts';
import { describeSocketError } from './protocols/socket-errors.ts';
import { buildApp } from './http/app.ts';
import type { DnsClient } from './protocols/dns/client.ts';
import { AlertEngine, alertSettingsOf } from './alerts/engine.ts';
import { controlActions } from './controls/rule-actions.ts';
import { postfixPolicyAnswers } from './controls/postfix.ts';
import { Pusher, pushTargetsOf } from './controls/pusher.ts';
import { Releaser, releaseTargetsOf } from './controls/release.ts';
import { ControlService, controlSettingsOf } from './controls/service.ts';
import { startPolicyServer, type PolicyServer } from './platforms/postfix-policy.ts';
import { Dispatcher } from './alerts/dispatcher.ts';
import { OutboxFlusher } from './runner/outbox-flusher.ts';
import { RetentionPruner } from './runner/retention.ts';
import { Runner } from './runner/runner.ts';
import { createInfluxWriter } from './series/influx-writer.ts';
import { Scheduler } from './runner/scheduler.ts';
import { outboxSnapshotOf, probeServicesOf } from './runner/services.ts';
import type { Database } from './store/database.ts';
import { retrySettingsOf } from './runner/retry-queue.ts';

export interface Observatory {
  app: FastifyInstance;
  runner: Runner;
  scheduler: Scheduler;
  /** The address the API listens on (the real port when the config said 0). */
  address: { host: string; port: number };
  /** Where each Postfix policy service listens, by platform id. */
  policyAddresses: Record<string, { host: string; port: number }>;
  /** Stop taking requests, stop scheduling, abort and record runs in progress, close the store. */
  stop(): Promise<void>;
}

/** `mailscope run`: the scheduler and the API over one store. */
export async function startObservatory(options: {
  config: LoadedConfig;
  log: Logger;
  clock: Clock;
  db: Database;
  dns: DnsClient;
  version: string;
}): Promise<Observatory> {
  const { config, log, clock, db, dns } = options;
  log.debug({ configFile: config.configFile, instance: config.instance, probes: config.probes.length }, 'configuration loaded');
  if (db.migrated.from !== db.migrated.to) log.info({ from: db.migrated.from, to: db.migrated.to, path: db.path }, 'store migrated');
  const influx = config.instance.influx;
  const flusher = influx
    ? new OutboxFlusher(db, createInfluxWriter(influx), log, { batchSize: influx.batchSize, intervalMs: influx.flushInterval, maxRetryMs: influx.maxRetryDelay, clock })
    : undefined;
  const dispatcher = new Dispatcher({ db, channels: config.instance.notifiers, clock, log, retry: retrySettingsOf(config.instance.alerts.retry) });
  const controls = new ControlService({ db, clock, log, settings: controlSettingsOf(config.instance), platforms: pushTargetsOf(config.instance.platforms) });
  const pusher = new Pusher({ db, platforms: config.instance.platforms, clock, log, retry: retrySettingsOf(config.instance.controls.retry) });
  const releaser = new Releaser({ db, controls, targets: releaseTargetsOf(config.instance.platforms), clock, log });
  controls.onChange(() => {
    pusher.wake();
    releaser.wake();
  });
  const alerts = new AlertEngine({ db, rules: config.rules.map(({ rule }) => rule), clock, log, settings: alertSettingsOf(config.instance), onQueued: () => dispatcher.wake(), actions: controlActions(controls) });
  const runner = new Runner({
    db,
    clock,
    log,
    services: probeServicesOf(config.instance, dns, outboxSnapshotOf(db, clock, flusher !== undefined, flusher)),
    onRecord: (observations) => alerts.evaluate(observations),
  });
  const scheduler = new Scheduler({ runner, definitions: config.probes.map((probe) => probe.definition), log });
  const { retention } = config.instance;
  const pruner = new RetentionPruner(db, log, { keepMs: retention.keep, intervalMs: retention.interval, batchSize: retention.batchSize, pruneOutbox: !influx, clock });
  let app: FastifyInstance;
  try {
    app = await buildApp({ config, probes: config.probes, db, runner, scheduler, clock, alerts, controls, ...(flusher ? { outbox: flusher } : {}) }, { log, version: options.version });
  } catch (error) {
    dns.close();
    db.close();
    throw error;
  }
  try {
    await app.listen({ host: config.instance.http.listen.host, port: config.instance.http.listen.port });
  } catch (error) {
    await app.close();
    dns.close();
    db.close();
    throw new MailscopeError(
      'HTTP_LISTEN_FAILED',
      `cannot listen on ${formatHostPort(config.instance.http.listen)}: ${describeSocketError(error)} (set http.listen in ${config.configFile})`,
      { cause: error },
    );
  }
  const policyServers: PolicyServer[] = [];
  try {
    for (const platform of config.instance.platforms) {
      if (platform.kind !== 'postfix-policy') continue;
      policyServers.push(await startPolicyServer({ listen: platform.listen, idleTimeoutMs: platform.idleTimeout, maxConnections: platform.maxConnections, ...postfixPolicyAnswers({ platformId: platform.id, controls, db, clock, log, onHeldAfterLift: () => releaser.wake() }) }));
    }
  } catch (error) {
    await Promise.all(policyServers.map((server) => server.close()));
    await app.close();
    dns.close();
    db.close();
    throw new MailscopeError('HTTP_LISTEN_FAILED', `the Postfix policy service cannot listen: ${describeSocketError(error)} (set platforms[].listen in ${config.configFile})`, { cause: error });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? { host: address.address, port: address.port } : config.instance.http.listen;
  if (config.instance.tokens.length === 0) log.warn('no API tokens configured: every /v1 route answers 401');
  scheduler.start();
  flusher?.start();
  pruner.start();
  alerts.start();
  dispatcher.start();
  controls.start(config.instance.controls.interval);
  pusher.start();
  releaser.start();
  if (!influx) log.info('no influx: configured; time series wait in the outbox');
  log.info({ listen: formatHostPort(bound), probes: config.probes.length, rules: config.rules.length, notifiers: config.instance.notifiers.length, dataDir: config.dataDir }, 'mailscope running');

  let stopping: Promise<void> | undefined;
  return {
    app,
    runner,
    scheduler,
    address: bound,
    policyAddresses: Object.fromEntries(config.instance.platforms.filter((platform) => platform.kind === 'postfix-policy').map((platform, index) => [platform.id, policyServers[index]!.address])),
    stop() {
      stopping ??= (async () => {
        try {
          // Abort runs first: a request waiting on a run (POST /run) then completes at once,
          // and app.close() does not wait out that run's timeout.
          await Promise.all([scheduler.stop(), app.close()]);
          // What was not acknowledged stays in the outbox for the next start.
          alerts.stop();
          controls.stop();
          await Promise.all([flusher?.stop(), pruner.stop(), dispatcher.stop(), pusher.stop(), releaser.stop(), ...policyServers.map((server) => server.close())]);
        } finally {
          dns.close();
          db.close();
        }
      })();
      return stopping;
    },
  };
}
