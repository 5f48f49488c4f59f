import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { assembleServices } from './assemble.ts';
import { SourceHealth, type SourceOutcome } from './sources/health.ts';
import type { LoadedConfig } from './config/load.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/logger.ts';
import { MailscopeError } from './core/errors.ts';
import { formatHostPort } from './core/schema.ts';
import { describeSocketError } from './protocols/socket-errors.ts';
import { buildApp } from './http/app.ts';
import { Cluster } from './ha/cluster.ts';
import { storeQueries } from './queries/index.ts';
import type { DnsClient } from './protocols/dns/client.ts';
import type { RunningPlatform } from './platforms/define.ts';
import { findPlatform } from './platforms/index.ts';
import type { RunningSource } from './sources/define.ts';
import { findSource } from './sources/index.ts';
import type { Runner } from './runner/runner.ts';
import type { Scheduler } from './runner/scheduler.ts';
import type { Database } from './store/database.ts';

export interface Observatory {
  app: FastifyInstance;
  runner: Runner;
  scheduler: Scheduler;
  /** The address the API listens on (the real port when the config said 0). */
  address: { host: string; port: number };
  /** Where each platform's runtime (the Postfix policy service) listens, by platform id. */
  platformAddresses: Record<string, { host: string; port: number }>;
  /** Stop taking requests, stop scheduling, abort and record runs in progress, close the store. */
  stop(): Promise<void>;
}

/** `mailscope run`: the scheduler, the API and the platforms' runtimes over one store. */
export async function startObservatory(options: { config: LoadedConfig; log: Logger; clock: Clock; db: Database; dns: DnsClient; version: string }): Promise<Observatory> {
  const { config, log, clock, db } = options;
  log.debug({ configFile: config.configFile, instance: config.instance, probes: config.probes.length }, 'configuration loaded');
  if (db.migrated.from !== db.migrated.to) log.info({ from: db.migrated.from, to: db.migrated.to, path: db.path }, 'store migrated');
  // Several instances on one PostgreSQL: the one holding the lease does the work done once (ha/cluster.ts).
  const storeConfig = config.instance.store;
  const cluster =
    db.kind === 'postgres' && storeConfig.kind === 'postgres'
      ? new Cluster({
          url: storeConfig.url.reveal(),
          db,
          log,
          version: options.version,
          leaseTtlMs: storeConfig.leaseTtl,
          heartbeatMs: storeConfig.heartbeat,
          // Only after start(), when the services exist.
          onControlsChanged: () => services.controls.refresh(),
        })
      : undefined;
  const services = assembleServices({ config, log, clock, open: { store: () => db, dns: () => options.dns }, role: 'observatory', ...(cluster ? { duty: cluster } : {}) });
  const { flusher, dispatcher, controls, pusher, releaser, alerts, runner, scheduler, pruner, traffic, trafficFlusher, reports } = services;
  // How each source is doing (its runtime's passes, its ingest route's posts): GET /v1/sources and the console.
  const sourceHealth = new SourceHealth(config.instance.sources);
  let app: FastifyInstance;
  try {
    app = await buildApp(
      {
        config,
        probes: config.probes,
        queries: storeQueries(db),
        runner,
        scheduler,
        clock,
        alerts,
        controls,
        traffic,
        reports,
        changes: services.changes,
        sourceHealth,
        ...(flusher ? { outbox: flusher } : {}),
        ...(cluster ? { cluster } : {}),
      },
      { log, version: options.version },
    );
  } catch (error) {
    services.close();
    throw error;
  }
  try {
    await app.listen({ host: config.instance.http.listen.host, port: config.instance.http.listen.port });
  } catch (error) {
    await app.close();
    services.close();
    throw new MailscopeError('HTTP_LISTEN_FAILED', `cannot listen on ${formatHostPort(config.instance.http.listen)}: ${describeSocketError(error)} (set http.listen in ${config.configFile})`, {
      cause: error,
    });
  }
  // Every platform whose kind has a runtime, whatever the kind: what it answers, the controls decide.
  const platforms: (RunningPlatform & { id: string })[] = [];
  for (const platform of config.instance.platforms) {
    const runtime = findPlatform(platform.kind)?.runtime;
    if (!runtime) continue;
    try {
      platforms.push({ id: platform.id, ...(await runtime.start(platform, { policy: services.sendPolicy(platform.id), log: log.child({ component: platform.kind, platform: platform.id }) })) });
    } catch (error) {
      await Promise.all(platforms.map((started) => started.stop()));
      await app.close();
      services.close();
      throw new MailscopeError('HTTP_LISTEN_FAILED', `${runtime.what} cannot listen: ${describeSocketError(error)} (set platforms[].listen in ${config.configFile})`, { cause: error });
    }
  }
  // Every source whose kind has a runtime (a tailed log, a mailbox): each batch is committed with where it got to.
  // In a cluster, only the leader reads them (where each got to is in the store, shared).
  let sourcesStopped = new AbortController();
  let sources: RunningSource[] = [];
  const startSources = async () => {
    sourcesStopped = new AbortController();
    for (const source of config.instance.sources) {
      const runtime = findSource(source.kind)?.runtime;
      if (!runtime) continue;
      const context = {
        ...traffic.contextFor(source.id, { signal: sourcesStopped.signal }),
        intake: (input: Buffer | Readable, name: string) => reports.intake(input, { source: source.id, name }),
        health: (outcome: SourceOutcome) => sourceHealth.report(source.id, outcome, clock.now().getTime()),
      };
      sources.push(await runtime.start(source as never, context));
    }
  };
  const stopSources = async () => {
    sourcesStopped.abort();
    const running = sources;
    sources = [];
    await Promise.all(running.map((source) => source.stop()));
  };
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? { host: address.address, port: address.port } : config.instance.http.listen;
  if (config.instance.tokens.length === 0) log.warn('no API tokens configured: every /v1 route answers 401');
  let sourcesTurn = Promise.resolve();
  if (cluster) {
    cluster.onLeadership((leader) => {
      // One change at a time: a source starts after the previous tenure's stopped.
      sourcesTurn = sourcesTurn.then(leader ? startSources : stopSources).catch((error: unknown) => log.error({ err: error }, 'sources could not follow the leadership'));
      if (leader) {
        // What waited for a leader (pending notifications, pushes, held mail) is looked at now.
        dispatcher.wake();
        pusher.wake();
        releaser.wake();
        // Minutes the leader before may have shown the rules while they were still being counted.
        try {
          trafficFlusher.adopt();
        } catch (error) {
          log.warn({ err: error }, 'could not read the minutes still being counted');
        }
      }
    });
    try {
      await cluster.start(formatHostPort(bound));
    } catch (error) {
      await cluster.stop();
      await app.close();
      await Promise.all(platforms.map((started) => started.stop()));
      services.close();
      throw new MailscopeError('STORE_UNAVAILABLE', `cannot join the cluster on ${db.path}: ${(error as Error).message}`, { cause: error });
    }
  } else await startSources();
  scheduler.start();
  flusher?.start();
  pruner.start();
  alerts.start();
  dispatcher.start();
  controls.start(config.instance.controls.interval);
  pusher.start();
  releaser.start();
  trafficFlusher.start();
  if (!config.instance.influx) log.info('no influx: configured; time series wait in the outbox');
  log.info({ listen: formatHostPort(bound), probes: config.probes.length, rules: config.rules.length, notifiers: config.instance.notifiers.length, dataDir: config.dataDir }, 'mailscope running');

  let stopping: Promise<void> | undefined;
  return {
    app,
    runner,
    scheduler,
    address: bound,
    platformAddresses: Object.fromEntries(platforms.map((started) => [started.id, started.address])),
    stop() {
      stopping ??= (async () => {
        try {
          // Abort runs first: a request waiting on a run (POST /run) then completes at once,
          // and app.close() does not wait out that run's timeout.
          await Promise.all([scheduler.stop(), app.close()]);
          // What was not acknowledged stays in the outbox for the next start.
          // Sources stop reading; what they committed is written out by the traffic flusher's last flush.
          await sourcesTurn;
          await stopSources();
          trafficFlusher.stop();
          alerts.stop();
          controls.stop();
          await Promise.all([flusher?.stop(), pruner.stop(), dispatcher.stop(), pusher.stop(), releaser.stop(), ...platforms.map((started) => started.stop())]);
          // Last: the lease goes once nothing of this instance acts on it any more, and another instance takes over at once.
          await cluster?.stop();
        } finally {
          services.close();
        }
      })();
      return stopping;
    },
  };
}
