import { defineConfig } from 'vitest/config';

/**
 * Four tiers. `lab`: the files named *.lab.test.ts, against the lab's real servers
 * (test/lab/: root, Debian packages), brought up once for the run. `browser`: the
 * files named *.browser.test.ts, pages of in-process servers in Debian's Chromium
 * (installed by the tier's global setup when missing; no lab). `postgres`: the files
 * named *.pg.test.ts, against Debian's PostgreSQL on 127.0.0.1, a fresh database per
 * test (installed, started and given a test role by the tier's global setup when
 * needed; no lab); with it, `postgres-store` runs the unit tier's store suites
 * (storeSuiteFiles) again with every store on PostgreSQL. `unit`: every other test file, with no lab, no root, no browser
 * and no PostgreSQL (in-process servers on port 0, temp dirs). test/tiers.test.ts
 * checks that no tier reaches what another's setup brings. `npm test` runs all four, each file in a fresh worker. `npm run test:unit` runs the
 * unit tier alone, in seconds: one worker per core, each taking file after file
 * (--no-isolate: the packages are loaded once per worker, not once per file;
 * helpers/fresh-modules.ts gives each file fresh modules of its own).
 */
export const labTestFiles = 'test/**/*.lab.test.ts';
export const browserTestFiles = 'test/**/*.browser.test.ts';
export const postgresTestFiles = 'test/**/*.pg.test.ts';
/** The unit tier's store suites, run a second time on PostgreSQL (helpers/store-on-postgres.ts). */
export const storeSuiteFiles = [
  'test/store/overview.test.ts',
  'test/store/record.test.ts',
  'test/store/retention.test.ts',
  'test/store/series-state.test.ts',
  'test/alerts/rules.test.ts',
  'test/controls/adaptive.test.ts',
  'test/controls/pusher.test.ts',
  'test/controls/rule-actions.test.ts',
  'test/controls/send-policy.test.ts',
  'test/controls/service.test.ts',
  'test/http/app.test.ts',
  'test/http/console/controls.test.ts',
  'test/http/console/overview.test.ts',
  'test/http/console/session.test.ts',
  'test/http/routes/controls.test.ts',
  'test/http/routes/reports.test.ts',
  'test/http/routes/traffic.test.ts',
  'test/queries/index.test.ts',
  'test/reports/service.test.ts',
  'test/runner/outbox-flusher.test.ts',
  'test/runner/runner.test.ts',
  'test/traffic/service.test.ts',
];

export default defineConfig({
  test: {
    // Real servers and real timers: generous per-test limits, no retries (a flaky test is a bug).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [labTestFiles, browserTestFiles, postgresTestFiles], setupFiles: ['test/helpers/fresh-modules.ts'] } },
      // The lab's real servers: up once for the whole run.
      { extends: true, test: { name: 'lab', include: [labTestFiles], globalSetup: ['test/lab/global-setup.ts'] } },
      // Chromium: installed when missing, once for the whole run.
      { extends: true, test: { name: 'browser', include: [browserTestFiles], globalSetup: ['test/helpers/chromium.ts'] } },
      // PostgreSQL: installed, started and opened to a test role when needed, once for the whole run.
      { extends: true, test: { name: 'postgres', include: [postgresTestFiles], globalSetup: ['test/helpers/postgres-server.ts'] } },
      // The same store suites on PostgreSQL: every Database.open answered by a database of its own.
      { extends: true, test: { name: 'postgres-store', include: storeSuiteFiles, globalSetup: ['test/helpers/postgres-server.ts'], setupFiles: ['test/helpers/store-on-postgres.ts'] } },
    ],
  },
});
