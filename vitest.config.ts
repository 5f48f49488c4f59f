import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `lab`: the files named *.lab.test.ts, against the lab's real servers
 * (test/lab/: root, Debian packages), brought up once for the run. `unit`: every
 * other test file, with no lab and no root (in-process servers on port 0, temp
 * dirs). test/tiers.test.ts checks that no unit test reaches the lab.
 * `npm test` runs both, each file in a fresh worker. `npm run test:unit` runs the
 * unit tier alone, in seconds: one worker per core, each taking file after file
 * (--no-isolate: the packages are loaded once per worker, not once per file;
 * helpers/fresh-modules.ts gives each file fresh modules of its own).
 */
export const labTestFiles = 'test/**/*.lab.test.ts';

export default defineConfig({
  test: {
    // Real servers and real timers: generous per-test limits, no retries (a flaky test is a bug).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [labTestFiles], setupFiles: ['test/helpers/fresh-modules.ts'] } },
      // The lab's real servers: up once for the whole run.
      { extends: true, test: { name: 'lab', include: [labTestFiles], globalSetup: ['test/lab/global-setup.ts'] } },
    ],
  },
});
