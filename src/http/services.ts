import type { AlertEngine } from '../alerts/engine.ts';
import type { ClusterStatus } from '../core/duty.ts';
import type { ControlService } from '../controls/service.ts';
import type { LoadedConfig, LoadedProbe } from '../config/load.ts';
import type { ChangeFeed } from '../core/changes.ts';
import type { Clock } from '../core/clock.ts';
import type { FlusherStatus } from '../runner/outbox-flusher.ts';
import type { Runner } from '../runner/runner.ts';
import type { StoreQueries } from '../queries/index.ts';
import type { Scheduler } from '../runner/scheduler.ts';
import type { ReportService } from '../reports/service.ts';
import type { SourceHealth } from '../sources/health.ts';
import type { TrafficService } from '../traffic/service.ts';

/** What the API talks to. It never reaches protocol clients or the store directly. */
export interface ApiServices {
  config: LoadedConfig;
  probes: readonly LoadedProbe[];
  /** What the routes read of the store (and the silences they make and end). */
  queries: StoreQueries;
  runner: Runner;
  /** Absent when the API runs without scheduling (tests, one-shot tools). */
  scheduler?: Scheduler;
  clock: Clock;
  /** The outbox flusher, when `influx:` is configured. */
  outbox?: { status(): FlusherStatus };
  /** The rules engine (acknowledgements, and silences taking effect at once). */
  alerts?: AlertEngine;
  /** Send control: pauses, throttles and the policy they answer. */
  controls?: ControlService;
  /** Traffic events posted to /v1/ingest/: counted here. */
  traffic?: TrafficService;
  /** Reports posted to /v1/ingest/reports: recorded here. */
  reports?: ReportService;
  /** What changed: the console's live pages listen. */
  changes?: ChangeFeed;
  /** How each source is doing (this process's). */
  sourceHealth?: SourceHealth;
  /** In a cluster (the store on PostgreSQL): this instance, and whether it leads. */
  cluster?: { status(): ClusterStatus };
}
