import { configDefaults, defineConfig } from 'vitest/config';
import { ensureTestCa } from './test/helpers/test-ca.js';

// The fast lane (`npm run test:unit`): every test file that starts no other program. In-process
// servers (oidc-provider, the GitHub double, the fake apiserver, airy-auth's own handlers) are
// in; files that spawn nginx, Caddy, Chromium, helm, promtool, kube-apiserver or the airy-auth
// CLI are out. test/no-spawn-setup.ts makes any spawn in this lane fail the test, so a file that
// starts needing a program shows up here and belongs in the exclude list below.
const ca = ensureTestCa();
if (ca) process.env.NODE_EXTRA_CA_CERTS = ca.caCert;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      'test/kube/**',
      'test/e2e/**',
      'test/cmd/**',
      'test/image/**',
      'test/migrate/**',
      'test/helm/!(gateway-headers).test.ts',
      'test/config/configmap-roundtrip.test.ts',
      'test/config/read-manifests.test.ts',
      'test/docs/quickstart.test.ts',
      'test/docs/login.test.ts',
      'test/fuzz/request-fuzz.test.ts',
      'test/metrics/prometheus.test.ts',
      'test/metrics/promtool.test.ts',
      'test/session/memo-memory.test.ts',
      'test/sources/file-source-writes.test.ts',
      'test/tooling/static-checks.test.ts',
    ],
    setupFiles: ['./test/no-spawn-setup.ts'],
    // The config fuzz is most of this lane's time; `npm test` runs all 10,000 cases.
    env: { AIRY_CONFIG_FUZZ_CASES: '1000' },
    reporters: ['default', './test/plain-summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
