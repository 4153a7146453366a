import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { ServerDeps } from '../src/http/deps.js';
import { allRoutes } from '../src/http/routes.js';
import { createAuthServer } from '../src/http/server.js';
import { jsonLogger, type Logger } from '../src/log.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createMetricsServer } from '../src/metrics/metrics-server.js';
import { type RunningSource, type SourceDeps, startFileSource } from '../src/sources/file-source.js';
import { PolicyStore } from '../src/sources/policy-store.js';
import { parse, portOption, secondsOption, UsageError } from './args.js';
import { listen, shutdownOnSignals } from './lifecycle.js';

const SERVE_OPTIONS = {
  config: { type: 'string' },
  configmap: { type: 'string' },
  secret: { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'drain-seconds': { type: 'string' },
  'shutdown-delay-seconds': { type: 'string' },
} as const;

/** The config source named on the command line: a watched file, or a watched ConfigMap (+ Secret). */
async function startSource(
  values: { config?: string | undefined; configmap?: string | undefined; secret?: string | undefined },
  deps: SourceDeps,
): Promise<RunningSource> {
  if (values.config) return startFileSource(values.config, deps);
  // Loaded only here: @kubernetes/client-node takes seconds to import on a busy machine.
  const { resolveClusterTarget, startClusterSource } = await import('../src/sources/kube/cluster-source.js');
  let target: ReturnType<typeof resolveClusterTarget>;
  try {
    target = resolveClusterTarget(values.configmap!, values.secret);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return startClusterSource(target, deps);
}

/** `airy-auth serve`: the composition root of the running service. */
export async function serveCommand(argv: string[], logger: Logger = jsonLogger()): Promise<{ port: number; metricsPort: number; close: () => Promise<void> }> {
  const { values } = parse(argv, SERVE_OPTIONS);
  if (!values.config === !values.configmap) throw new UsageError('serve needs exactly one of --config FILE or --configmap [NS/]NAME');
  if (values.secret && !values.configmap) throw new UsageError('--secret goes with --configmap');
  const port = portOption(values.port, 'port', 8080);
  const metricsPort = portOption(values['metrics-port'], 'metrics-port', 9090);
  const drainSeconds = secondsOption(values['drain-seconds'], 'drain-seconds', 20);
  const shutdownDelay = secondsOption(values['shutdown-delay-seconds'], 'shutdown-delay-seconds', 0);

  const registry = new Registry();
  const metrics = createMetrics(registry);
  const store = new PolicyStore(logger, metrics);
  const source = await startSource(values, { store, metrics, logger });
  // Serve at once (health, metrics, 503 on /auth) and let the source catch up; wait briefly so a
  // quick source is loaded before the first request.
  await Promise.race([source.ready, new Promise((r) => setTimeout(r, 5000).unref())]);

  let shuttingDown = false;
  const deps: ServerDeps = { policies: store, metrics, logger, now: Date.now, shuttingDown: () => shuttingDown };
  const server = createAuthServer(deps, allRoutes());
  const metricsServer = createMetricsServer(registry);
  await listen(server, port, values.host);
  await listen(metricsServer, metricsPort, values.host);
  const actualPort = (server.address() as AddressInfo).port;
  const actualMetricsPort = (metricsServer.address() as AddressInfo).port;
  logger.log('info', 'airy-auth listening', { host: values.host, port: actualPort, metricsPort: actualMetricsPort, source: source.name });

  const close = shutdownOnSignals({
    servers: [server, metricsServer],
    logger,
    delaySeconds: shutdownDelay,
    drainSeconds,
    markNotReady: () => {
      shuttingDown = true;
    },
    stopSources: () => source.stop(),
  });
  return { port: actualPort, metricsPort: actualMetricsPort, close };
}
