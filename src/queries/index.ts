/**
 * What the API reads of the store, and the silences it makes and ends, bound to
 * the open database in this one place: http/ talks to this service and never
 * imports store/ (test/architecture.test.ts). The rows are the store's own types,
 * passed on as they are.
 */
import type { Database } from '../store/database.ts';
import { createSilence, deleteSilence, getAlert, getSilence, listAlerts, listNotifications, listSilences, silencePageKey } from '../store/alerts.ts';
import { controlPageKey, getControl, heldCount, listAudit, listControls, pushesOf } from '../store/controls.ts';
import { listQuarantine, outboxStats } from '../store/outbox.ts';
import { dmarcByDomain, lastRecordChanges, latestSweeps, placementTrend, reportCounts } from '../store/overview.ts';
import { getRun, lastRunOf, listObservations, listRuns, observationsOfRun, observationsTagged } from '../store/runs.ts';
import { dmarcDomainsOfSource, dmarcRowsOf, dmarcSources, getReport, ipNames, listReportQuarantine, listReports } from '../store/reports.ts';
import { createSession, deleteSession, getSession, pruneSessions } from '../store/sessions.ts';
import { topReasons, trafficTotals } from '../store/traffic.ts';

export type { AlertRow, NotificationRow, SilenceRow } from '../store/alerts.ts';
export type { AuditRow, ControlRow, PushRow } from '../store/controls.ts';
export { runTriggers, type PageKey } from '../store/runs.ts';
export type { SessionRow } from '../store/sessions.ts';
export type { DmarcDomainOfSource, DmarcSourceTotals, IpName, StoredDmarcRow, StoredQuarantine, StoredReport } from '../store/reports.ts';
export { trafficGroupings, type TrafficGrouping, type TrafficTotals } from '../store/traffic.ts';

/** A store function with the database already given. */
function bound<A extends unknown[], R>(db: Database, query: (db: Database, ...args: A) => R): (...args: A) => R {
  return (...args) => query(db, ...args);
}

export function storeQueries(db: Database) {
  return {
    /** The store can be used (readiness). */
    ping: () => db.ping(),
    runs: { list: bound(db, listRuns), get: bound(db, getRun), lastOf: bound(db, lastRunOf), observationsOf: bound(db, observationsOfRun) },
    observations: { list: bound(db, listObservations) },
    alerts: { list: bound(db, listAlerts), get: bound(db, getAlert) },
    notifications: { list: bound(db, listNotifications) },
    silences: { list: bound(db, listSilences), get: bound(db, getSilence), pageKey: bound(db, silencePageKey), create: bound(db, createSilence), end: bound(db, deleteSilence) },
    controls: { list: bound(db, listControls), get: bound(db, getControl), pageKey: bound(db, controlPageKey), pushesOf: bound(db, pushesOf), heldCount: bound(db, heldCount) },
    audit: { list: bound(db, listAudit) },
    outbox: { stats: bound(db, outboxStats), quarantine: bound(db, listQuarantine) },
    traffic: { totals: bound(db, trafficTotals), reasons: bound(db, topReasons) },
    reports: {
      list: bound(db, listReports),
      get: bound(db, getReport),
      dmarcRows: bound(db, dmarcRowsOf),
      dmarcSources: bound(db, dmarcSources),
      names: bound(db, ipNames),
      quarantine: bound(db, listReportQuarantine),
    },
    sessions: { create: bound(db, createSession), get: bound(db, getSession), end: bound(db, deleteSession), prune: bound(db, pruneSessions) },
    /** What the console's drill-downs read beyond the API's: one series' history, the domains a source IP sent as. */
    pages: { observationsTagged: bound(db, observationsTagged), dmarcDomainsOfSource: bound(db, dmarcDomainsOfSource) },
    /** The console's overview: the latest sweeps, a week of placement and DMARC, the last DNS changes (store/overview.ts). */
    console: {
      latestSweeps: bound(db, latestSweeps),
      placementTrend: bound(db, placementTrend),
      lastRecordChanges: bound(db, lastRecordChanges),
      dmarcByDomain: bound(db, dmarcByDomain),
      reportCounts: bound(db, reportCounts),
    },
  };
}

export type StoreQueries = ReturnType<typeof storeQueries>;
