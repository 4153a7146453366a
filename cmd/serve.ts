import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { compileAiryYaml } from '../src/config/load.js';
import { createAuthServer } from '../src/http/server.js';
import { allRoutes } from '../src/http/routes.js';
import { createMetricsServer } from '../src/http/metrics-server.js';
import { jsonLogger, type Logger } from '../src/log.js';
import { createMetrics, type Metrics } from '../src/metrics/metrics.js';
import { watchFile } from '../src/sources/file-source.js';
import { startKubeSource } from '../src/sources/kube/kube-source.js';
import { defaultNamespace, parseObjectRef } from '../src/sources/kube/object-ref.js';
import { PolicyStore } from '../src/sources/policy-store.js';
import { UsageError, parse, portOption, secondsOption } from './args.js';
import { listen, shutdownOnSignals } from './lifecycle.js';

export const SERVE_OPTIONS = {
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
function startSource(
  values: { config?: string; configmap?: string; secret?: string },
  store: PolicyStore,
  metrics: Metrics,
  logger: Logger,
): { stop: () => void | Promise<void>; ready: Promise<void>; name: string } {
  if (values.config) {
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
    return { stop: () => source.close(), ready: source.check(), name: file };
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const contextNs = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  const ns = defaultNamespace(process.env, contextNs);
  let configMap, secret;
  try {
    configMap = parseObjectRef(values.configmap!, ns);
    secret = values.secret ? parseObjectRef(values.secret, ns) : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const source = startKubeSource({ kubeConfig, configMap, secret, store, metrics, logger });
  return { stop: source.stop, ready: source.ready, name: `configmap ${configMap.namespace}/${configMap.name}` };
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
  const source = startSource(values, store, metrics, logger);
  // Serve at once (health, metrics, 503 on /auth) and let the source catch up; wait briefly so a
  // quick source is loaded before the first request.
  await Promise.race([source.ready, new Promise((r) => setTimeout(r, 5000).unref())]);

  const deps = { store, metrics, logger, now: Date.now, shuttingDown: false };
  const server = createAuthServer(deps, allRoutes());
  const metricsServer = createMetricsServer(registry);
  await listen(server, port, values.host);
  await listen(metricsServer, metricsPort, values.host);
  const actualPort = (server.address() as AddressInfo).port;
  const actualMetricsPort = (metricsServer.address() as AddressInfo).port;
  logger.log('info', 'airy-auth listening', { host: values.host, port: actualPort, metricsPort: actualMetricsPort, source: source.name });

  const close = shutdownOnSignals(
    [server, metricsServer],
    drainSeconds,
    logger,
    () => void source.stop(),
    shutdownDelay,
    () => (deps.shuttingDown = true),
  );
  return { port: actualPort, metricsPort: actualMetricsPort, close };
}
