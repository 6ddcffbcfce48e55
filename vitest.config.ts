import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks (or installs) the tools the tests run; puts every temporary file under one directory removed at the end.
    globalSetup: ['test/setup/global-setup.ts'],
    // The tests start real services (embedded TimescaleDB, Prometheus): give them time, and
    // do not run more files at once than the two cores of the CI machine can carry.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
  },
})
