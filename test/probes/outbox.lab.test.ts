/** The outbox probe once the lab's InfluxDB has taken every point (outbox.test.ts: the rest). */
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { runProbe, type AnyProbeKind } from '../../src/runner/run-probe.ts';
import { OutboxFlusher } from '../../src/runner/outbox-flusher.ts';
import { outboxSnapshotOf } from '../../src/runner/services.ts';
import { outbox } from '../../src/probes/outbox.ts';
import { createInfluxWriter } from '../../src/series/influx-writer.ts';
import { Database } from '../../src/store/database.ts';
import { enqueueLine } from '../../src/store/outbox.ts';
import { record } from '../../src/store/record.ts';
import { lab } from '../lab/plan.ts';
import { captureLog } from '../helpers/log.ts';
import { labServices } from '../helpers/lab.ts';
import { waitFor } from '../helpers/probes.ts';
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
  const run = await runProbe(definition, outbox as AnyProbeKind, { trigger: 'cli', clock, log: captureLog().log, services: { ...labServices(), outbox: snapshot } });
  return record(db, run);
}

describe('outbox probe', () => {
  it('reads an empty outbox and no error once InfluxDB has taken every point', async () => {
    const db = store();
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const database = `outbox_probe_${Date.now()}`;
    const query = (q: string) => fetch(`${lab.influxdb.url}/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
    await query(`CREATE DATABASE ${database}`);
    onTestFinished(async () => {
      await query(`DROP DATABASE ${database}`);
    });
    queue(db, 25, new Date());
    const flusher = new OutboxFlusher(db, createInfluxWriter({ api: 'v1', url: lab.influxdb.url, database, timeout: 5_000 }), captureLog().log, { batchSize: 100, intervalMs: 20, maxRetryMs: 1_000 });
    flusher.start();
    onTestFinished(() => flusher.stop());
    await waitFor(() => flusher.status().depth === 0, 'the outbox drained');
    const recorded = await runOutboxProbe(db, clock, outboxSnapshotOf(db, clock, true, flusher));
    const fields = recorded.observations.find((candidate) => candidate.measurement === 'outbox')?.fields;
    expect(fields).toEqual({ configured: true, depth: 0, oldest_age_s: 0, quarantined: 0, consecutive_failures: 0 });
  });
});
