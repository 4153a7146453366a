import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { compileAiryYaml } from '../src/config/load.js';
import { createAuthServer } from '../src/http/server.js';
import { allRoutes } from '../src/http/routes.js';
import { createMetricsServer } from '../src/http/metrics-server.js';
import { jsonLogger, type Logger } from '../src/log.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { watchFile } from '../src/sources/file-source.js';
import { PolicyStore } from '../src/sources/policy-store.js';
import { UsageError, parse, portOption } from './args.js';
import { listen, shutdownOnSignals } from './lifecycle.js';

export const SERVE_OPTIONS = {
  config: { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'drain-seconds': { type: 'string' },
} as const;

/** `airy-auth serve`: the composition root of the running service. */
export async function serveCommand(argv: string[], logger: Logger = jsonLogger()): Promise<{ port: number; metricsPort: number; close: () => Promise<void> }> {
  const { values } = parse(argv, SERVE_OPTIONS);
  if (!values.config) throw new UsageError('serve needs --config FILE');
  const port = portOption(values.port, 'port', 8080);
  const metricsPort = portOption(values['metrics-port'], 'metrics-port', 9090);
  const drainSeconds = Number(values['drain-seconds'] ?? 20);

  const registry = new Registry();
  const metrics = createMetrics(registry);
  const store = new PolicyStore(logger, metrics);
  const file = values.config;
  const source = watchFile(file, {
    onText: (text) => {
      metrics.sourceUp.set(1);
      store.apply(compileAiryYaml(text, file), file);
    },
    onMissing: () => {
      metrics.sourceUp.set(0);
      store.sourceDeleted(file);
    },
    onError: (code) => {
      metrics.sourceUp.set(0);
      logger.log('error', 'cannot read config file; keeping the last good config', { source: file, code });
    },
  });
  await source.check();

  const server = createAuthServer({ store, metrics, logger, now: Date.now }, allRoutes());
  const metricsServer = createMetricsServer(registry);
  await listen(server, port, values.host);
  await listen(metricsServer, metricsPort, values.host);
  const actualPort = (server.address() as AddressInfo).port;
  const actualMetricsPort = (metricsServer.address() as AddressInfo).port;
  logger.log('info', 'airy-auth listening', { host: values.host, port: actualPort, metricsPort: actualMetricsPort, config: file });

  const close = shutdownOnSignals([server, metricsServer], drainSeconds, logger, () => source.close());
  return { port: actualPort, metricsPort: actualMetricsPort, close };
}
