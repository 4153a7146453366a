import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: e2e files start nginx, Chromium and servers; more workers only add contention.
    maxWorkers: 2,
  },
});
