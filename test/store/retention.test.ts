import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { Observation } from '../../src/core/observation.ts';
import { RetentionPruner } from '../../src/runner/retention.ts';
import { Database } from '../../src/store/database.ts';
import { createSilence, deleteSilence, enqueueNotification, listAlerts, listNotifications, listSilences, markAttemptFailed, markSent, saveAlert, type AlertRow } from '../../src/store/alerts.ts';
import { enqueueLine, outboxStats, quarantine, takeBatch } from '../../src/store/outbox.ts';
import { alertsOfControl, insertControl, linkAlert, markLifted } from '../../src/store/controls.ts';
import { record } from '../../src/store/record.ts';
import { dmarcRowsOf, insertDmarcRows, insertReport, ipNames, listReportQuarantine, listReports, quarantineInput, saveIpName } from '../../src/store/reports.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

const day = 86_400_000;
const now = new Date('2026-11-23T10:00:00Z');

function runAt(db: Database, probeId: string, at: Date, observations: number) {
  const list: Observation[] = Array.from({ length: observations }, (_, i) => ({
    measurement: 'reachability',
    tags: { target: `127.0.0.1:${1000 + i}`, protocol: 'tcp' },
    fields: { status: 'up', up: true, duration_ms: 1 },
    time: at,
  }));
  return record(db, { probeId, kind: 'tcp', trigger: 'schedule', startedAt: at, finishedAt: at, durationMs: 1, success: true, observations: list });
}

const count = (db: Database, table: string) => Number((db.statement(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);

describe('retention', () => {
  it('deletes runs and observations older than keep, and keeps the newer ones', async () => {
    const db = Database.open(tempDir());
    runAt(db, 'old', new Date(now.getTime() - 40 * day), 3);
    runAt(db, 'old', new Date(now.getTime() - 31 * day), 3);
    const kept = runAt(db, 'recent', new Date(now.getTime() - 29 * day), 2);
    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 100, pruneOutbox: false, clock: { now: () => now } });
    const report = await pruner.pruneAll();
    expect(report.deleted).toEqual({
      observations: 8,
      probe_runs: 2,
      outbox_quarantine: 0,
      outbox: 0,
      notifications: 0,
      alerts: 0,
      control_alerts: 0,
      silences: 0,
      dmarc_rows: 0,
      reports: 0,
      report_quarantine: 0,
      ip_names: 0,
    });
    expect((db.statement('SELECT id, probe_id FROM probe_runs').all() as { id: number; probe_id: string }[]).map((row) => [Number(row.id), row.probe_id])).toEqual([[kept.runId, 'recent']]);
    expect(count(db, 'observations')).toBe(3);
    // The outbox is left alone while a time-series database drains it: nothing is lost.
    // (each run: its observations and its probe_run line)
    expect(outboxStats(db, now).depth).toBe(4 + 4 + 3);
    db.close();
  });

  it('counts "older than keep" from its injected clock, as it reads at each prune', async () => {
    const db = Database.open(tempDir());
    const clock = new ManualClock(now);
    runAt(db, 'aging', new Date(now.getTime() - 29 * day), 2);
    const observations = count(db, 'observations');
    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 100, pruneOutbox: false, clock });
    expect((await pruner.pruneAll()).deleted.probe_runs).toBe(0);
    clock.advance(day - 1);
    expect((await pruner.pruneAll()).deleted.probe_runs).toBe(0);
    clock.advance(2);
    expect((await pruner.pruneAll()).deleted).toMatchObject({ observations, probe_runs: 1 });
    expect(count(db, 'probe_runs')).toBe(0);
    db.close();
  });

  it('without a time-series database, old outbox lines go too; old quarantined lines always do', async () => {
    const db = Database.open(tempDir());
    enqueueLine(db, 'm,probe=a v=1 1', new Date(now.getTime() - 31 * day));
    enqueueLine(db, 'm,probe=a v=2 2', new Date(now.getTime() - 1 * day));
    const [old] = takeBatch(db, 1);
    quarantine(db, old!, 'bad', new Date(now.getTime() - 31 * day));
    enqueueLine(db, 'm,probe=a v=3 3', new Date(now.getTime() - 45 * day));
    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 100, pruneOutbox: true, clock: { now: () => now } });
    expect((await pruner.pruneAll()).deleted).toEqual({
      observations: 0,
      probe_runs: 0,
      outbox_quarantine: 1,
      outbox: 1,
      notifications: 0,
      alerts: 0,
      control_alerts: 0,
      silences: 0,
      dmarc_rows: 0,
      reports: 0,
      report_quarantine: 0,
      ip_names: 0,
    });
    expect(takeBatch(db, 10).map((row) => row.line)).toEqual(['m,probe=a v=2 2']);
    db.close();
  });

  it('works in batches and lets the event loop run between them', async () => {
    const db = Database.open(tempDir());
    for (let i = 0; i < 10; i++) runAt(db, 'big', new Date(now.getTime() - 60 * day + i), 500);
    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 1_000, pruneOutbox: false, clock: { now: () => now } });
    const pending = pruner.pruneAll();
    // Work queued while pruning runs gets its turn before pruning has finished.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const leftWhenOthersRan = count(db, 'observations');
    const report = await pending;
    expect(leftWhenOthersRan).toBeGreaterThan(0);
    // 5,000 observations and the 10 runs' probe_run observations, 1,000 per batch; then the runs.
    expect(report).toEqual({
      deleted: {
        observations: 5_010,
        probe_runs: 10,
        outbox_quarantine: 0,
        outbox: 0,
        notifications: 0,
        alerts: 0,
        control_alerts: 0,
        silences: 0,
        dmarc_rows: 0,
        reports: 0,
        report_quarantine: 0,
        ip_names: 0,
      },
      batches: 7,
    });
    expect(count(db, 'observations')).toBe(0);
    db.close();
  });

  it('alerts that are over, their delivered notifications and ended silences go; live alerts and undelivered notifications stay', async () => {
    const db = Database.open(tempDir());
    const ago = (days: number) => now.getTime() - days * day;
    const alert = (id: string, state: string, updatedAt: number): AlertRow => ({
      id,
      ruleId: 'r',
      series: id,
      labels: {},
      severity: 'warning',
      state,
      machine: { state },
      details: {},
      createdAt: ago(90),
      updatedAt,
    });
    saveAlert(db, alert('resolved-old', 'resolved', ago(40)));
    saveAlert(db, alert('resolved-recent', 'resolved', ago(2)));
    saveAlert(db, alert('firing-old', 'firing', ago(40)));
    saveAlert(db, alert('resolved-undelivered', 'resolved', ago(40)));
    const notify = (alertId: string) => enqueueNotification(db, { alertId, channel: 'chat', event: 'firing', payload: {}, at: ago(40) });
    markSent(db, notify('resolved-old'), ago(40));
    markAttemptFailed(db, notify('firing-old'), 'HTTP 404', undefined);
    notify('resolved-undelivered'); // still pending: never pruned, and it keeps its alert
    const silence = (endsAt: number) => createSilence(db, { matchers: { rule: 'r' }, startsAt: ago(60), endsAt, comment: 'maintenance', createdBy: 'ops', createdAt: ago(60) });
    silence(ago(45));
    deleteSilence(db, silence(ago(-10)).id, 'ops', ago(35));
    const live = silence(ago(-10));
    // Links of controls to alerts: gone when the control is lifted and the alert pruned.
    const control = (id: string) =>
      insertControl(db, { id, action: 'pause', scope: { pool: id }, reason: 'listed', source: 'rule:r', createdBy: 'rule:r', createdAt: ago(50), updatedAt: ago(50), keepUntilResumed: false });
    control('lifted');
    control('active');
    markLifted(db, 'lifted', 'ops', 'delisted', ago(39));
    linkAlert(db, 'lifted', 'resolved-old', ago(50));
    linkAlert(db, 'lifted', 'firing-old', ago(50));
    linkAlert(db, 'active', 'resolved-old', ago(50));

    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 100, pruneOutbox: false, clock: { now: () => now } });
    expect((await pruner.pruneAll()).deleted).toEqual({
      observations: 0,
      probe_runs: 0,
      outbox_quarantine: 0,
      outbox: 0,
      notifications: 2,
      alerts: 1,
      control_alerts: 1,
      silences: 2,
      dmarc_rows: 0,
      reports: 0,
      report_quarantine: 0,
      ip_names: 0,
    });
    expect([alertsOfControl(db, 'lifted'), alertsOfControl(db, 'active')]).toEqual([['firing-old'], ['resolved-old']]);
    expect(
      listAlerts(db, { limit: 10 })
        .map((row) => row.id)
        .sort(),
    ).toEqual(['firing-old', 'resolved-recent', 'resolved-undelivered']);
    expect(listNotifications(db, { limit: 10 }).map((row) => [row.alertId, row.status])).toEqual([['resolved-undelivered', 'pending']]);
    expect(listSilences(db, { limit: 10 }).map((row) => row.id)).toEqual([live.id]);
    db.close();
  });

  it('deletes feedback reports received before the cutoff with their DMARC rows, old quarantined inputs and old names', async () => {
    const db = Database.open(tempDir());
    const report = (reportId: string, at: number) => {
      const id = insertReport(db, {
        kind: 'dmarc-aggregate',
        dedupeKey: reportId,
        source: 'rua',
        org: 'google.com',
        reportId,
        domain: 'sender.test',
        beginAt: at,
        endAt: at,
        receivedAt: at,
        messages: 3,
        summary: {},
      });
      const row = { sourceIp: '192.0.2.1', source: '192.0.2.1', count: 3, disposition: 'none', dkimAligned: true, spfAligned: true, headerFrom: 'sender.test', dkim: [], spf: [], overrides: [] };
      insertDmarcRows(db, { id, domain: 'sender.test', reporter: 'google.com', endAt: at }, [row, row]);
      return id;
    };
    const old = now.getTime() - 40 * day;
    const recent = now.getTime() - day;
    const oldId = report('old', old);
    const recentId = report('recent', recent);
    quarantineInput(db, { digest: 'a', part: '', source: 'rua', name: 'old', size: 1, code: 'unknown', reason: 'x', receivedAt: old });
    quarantineInput(db, { digest: 'b', part: '', source: 'rua', name: 'recent', size: 1, code: 'unknown', reason: 'x', receivedAt: recent });
    saveIpName(db, { ip: '192.0.2.1', confirmed: false, resolvedAt: old });
    saveIpName(db, { ip: '192.0.2.2', confirmed: false, resolvedAt: recent });
    const pruner = new RetentionPruner(db, captureLog().log, { keepMs: 30 * day, intervalMs: 3_600_000, batchSize: 100, pruneOutbox: false, clock: new ManualClock(now) });
    expect((await pruner.pruneAll()).deleted).toMatchObject({ dmarc_rows: 2, reports: 1, report_quarantine: 1, ip_names: 1 });
    expect(listReports(db, { since: 0, until: now.getTime(), limit: 10 }).map((row) => row.reportId)).toEqual(['recent']);
    expect(dmarcRowsOf(db, oldId, 10)).toEqual([]);
    expect(dmarcRowsOf(db, recentId, 10)).toHaveLength(2);
    expect(listReportQuarantine(db, { since: 0, limit: 10 }).map((row) => row.name)).toEqual(['recent']);
    expect([...ipNames(db, ['192.0.2.1', '192.0.2.2']).keys()]).toEqual(['192.0.2.2']);
    db.close();
  });
});
