import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // PostgreSQL (and the object store) start once per run: test/global/engines.ts
    globalSetup: ['./test/global/engines.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
