import { configDefaults, defineConfig } from 'vitest/config';
import { ensureTestCa } from './test/helpers/test-ca.js';

// Test IdPs serve https with a test CA; Node reads NODE_EXTRA_CA_CERTS only at start, so it is set
// here, before any worker process starts.
const ca = ensureTestCa();
if (ca) process.env.NODE_EXTRA_CA_CERTS = ca.caCert;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-apiserver lane runs on its own: npm run test:kube (vitest.kube.config.ts).
    exclude: [...configDefaults.exclude, 'test/kube/**'],
    reporters: ['default', './test/plain-summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: e2e files start nginx, Chromium and servers; more workers only add contention.
    maxWorkers: 2,
  },
});
