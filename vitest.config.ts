import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The lab's real servers (test/lab/): up once for the whole run.
    globalSetup: ['test/lab/global-setup.ts'],
    // Real servers and real timers: generous per-test limits, no retries (a flaky test is a bug).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
