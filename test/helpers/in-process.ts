import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import type { CompileResult } from '../../src/config/compile.js';
import type { ServerDeps } from '../../src/http/deps.js';
import { createEvaluators } from '../../src/http/evaluators.js';
import { createAuthServer, type Routes } from '../../src/http/server.js';
import { memoryLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMachineTokens } from '../../src/oidc/machine-tokens.js';
import { EMPTY_REVOCATIONS } from '../../src/session/revocation-list.js';
import { PolicyStore } from '../../src/sources/policy-store.js';

/** The real server on a loopback port, in this process, with a clock the test controls. */
export async function startInProcess(config: CompileResult | undefined, routes?: (deps: ServerDeps) => Routes, now: () => number = Date.now, listenPort = 0) {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const logger = memoryLogger();
  // The revocation list the test puts in deps (perhaps after the start) is the one decisions read.
  const revocations = {
    get current() {
      return deps.revocations?.current ?? EMPTY_REVOCATIONS;
    },
  };
  const evaluators = createEvaluators({ machineTokens: createMachineTokens(metrics), revocations });
  const store = new PolicyStore(logger, metrics, { onApply: (policy) => evaluators.forPolicy(policy) });
  if (config) store.apply(config, 'test');
  const deps: ServerDeps = {
    policies: store,
    metrics,
    logger,
    now,
    shuttingDown: () => false,
    requestLog: { mode: 'denied', idHeader: 'x-request-id' },
    evaluators,
  };
  const server: Server = createAuthServer(deps, routes?.(deps));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    registry,
    logger,
    store,
    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      const v = (m?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((x) =>
        Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val),
      );
      return v?.value ?? 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
