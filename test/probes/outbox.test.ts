/**
 * The outbox probe: Mailscope's own outbox, read from a real store and a real
 * flusher (against a closed port; the lab's InfluxDB in outbox.lab.test.ts),
 * recorded like any observation so alert rules can use it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { runProbe, type AnyProbeKind } from '../../src/runner/run-probe.ts';
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { outboxSnapshotOf } from '../../src/runner/services.ts';
import { outbox } from '../../src/probes/outbox.ts';
import { createInfluxWriter } from '../../src/series/influx-writer.ts';
import { Database } from '../../src/store/database.ts';
import { enqueueLine, outboxStats } from '../../src/store/outbox.ts';
import { record } from '../../src/store/record.ts';
import { captureLog } from '../helpers/log.ts';
import { waitFor } from '../helpers/probes.ts';
import { closedPort } from '../helpers/servers.ts';
import { unitServices } from '../helpers/services.ts';
import { tempDir } from '../helpers/temp.ts';

const definition = outbox.configSchema.parse({ id: 'self', kind: 'outbox', schedule: '* * * * *' });

function store(): Database {
  const db = Database.open(tempDir());
  onTestFinished(() => db.close());
  return db;
}

/** n lines queued at `at`, as record() queues them. */
function queue(db: Database, n: number, at: Date): void {
  db.transaction(() => {
    for (let i = 0; i < n; i++) enqueueLine(db, `reachability,probe=p,target=t,protocol=tcp up=true,status="up" ${at.getTime() + i}000000`, at);
  });
}

async function runOutboxProbe(db: Database, clock: ManualClock, snapshot: ReturnType<typeof outboxSnapshotOf>) {
  const run = await runProbe(definition, outbox as AnyProbeKind, { trigger: 'cli', clock, log: captureLog().log, services: { ...unitServices(), outbox: snapshot } });
  return record(db, run);
}

describe('outbox probe', () => {
  it('reports depth and the oldest point’s age from the store, and is recorded like any observation', async () => {
    const db = store();
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    queue(db, 40, clock.now());
    clock.advance(90_000);
    const recorded = await runOutboxProbe(db, clock, outboxSnapshotOf(db, clock, false));
    expect(recorded.success).toBe(true);
    const observation = recorded.observations.find((candidate) => candidate.measurement === 'outbox');
    expect(observation).toMatchObject({
      tags: { probe: 'self' },
      fields: { configured: false, depth: 40, oldest_age_s: 90, quarantined: 0, consecutive_failures: 0 },
    });
    expect(observation?.fields).not.toHaveProperty('last_error');
    // Its own point and its probe_run joined the queue.
    expect(outboxStats(db, clock.now()).depth).toBe(42);
  });

  it('reports failed writes and the reason while the time-series database is down', async () => {
    const db = store();
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    queue(db, 25, new Date());
    const port = await closedPort();
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v1', url: `http://127.0.0.1:${port}`, database: 'nowhere', timeout: 1_000 }), captureLog().log, {
      batchSize: 100,
      intervalMs: 20,
      minRetryMs: 50,
      maxRetryMs: 100,
    });
    flusher.start();
    onTestFinished(() => flusher.stop());
    await waitFor(() => flusher.status().consecutiveFailures >= 2, 'two failed writes');
    const recorded = await runOutboxProbe(db, clock, outboxSnapshotOf(db, clock, true, flusher));
    const fields = recorded.observations.find((candidate) => candidate.measurement === 'outbox')?.fields;
    expect(fields).toMatchObject({ configured: true, depth: 25, quarantined: 0 });
    expect(fields?.consecutive_failures).toBeGreaterThanOrEqual(2);
    expect(fields?.last_error).toMatch(/ECONNREFUSED/);
  });
});
