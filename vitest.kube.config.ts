import { defineConfig } from 'vitest/config';

// The real-apiserver lane (`npm run test:kube`): each file starts its own kube-apiserver and etcd
// (about 6 s and 300 MB each) and airy-auth processes against it. One file at a time: the
// figures it prints (renewals, restarts, time to a decision) are about airy-auth, not contention.
export default defineConfig({
  test: {
    include: ['test/kube/**/*.test.ts'],
    reporters: ['default', './test/plain-summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 360_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
