import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { PolicySnapshot, ServerDeps } from '../src/http/deps.js';
import { createEvaluators } from '../src/http/evaluators.js';
import { isReservedHeader } from '../src/http/gateway-headers.js';
import { REQUEST_LOG_MODES, type RequestLogSettings } from '../src/http/request-log.js';
import { allRoutes } from '../src/http/routes.js';
import { createAuthServer } from '../src/http/server.js';
import { jsonLogger, LEVELS, type Logger } from '../src/log.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createMetricsServer } from '../src/metrics/metrics-server.js';
import { createMachineTokens } from '../src/oidc/machine-tokens.js';
import { type RunningSource, type SourceDeps, startFileSource } from '../src/sources/file-source.js';
import { PolicyStore } from '../src/sources/policy-store.js';
import type { RunningRevocations } from '../src/sources/revocations-source.js';
import { booleanOption, type CommandSpec, choiceOption, parseCommand, portOption, secondsOption, UsageError, usageError, usageOf } from './args.js';
import { listen, shutdownOnSignals } from './lifecycle.js';
import { SHADOW_FLAGS, shadowTargetOf, startShadow } from './serve-shadow.js';

export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'Serves the auth endpoints on --port and /metrics on --metrics-port, with live config from a file or a ConfigMap (+ Secret).',
  flags: {
    config: { type: 'string', value: 'FILE', help: 'airy.yaml (or just its security: section), watched and hot-reloaded' },
    configmap: { type: 'string', value: '[NS/]NAME', help: "ConfigMap to watch instead of a file (namespace: POD_NAMESPACE, then the pod's)" },
    secret: { type: 'string', value: '[NS/]NAME', help: "Secret whose keys override the ConfigMap's (with --configmap)" },
    revocations: {
      type: 'string',
      value: '[NS/]NAME',
      help: 'ConfigMap holding the revocation list: watched, and written by back-channel logouts (and by airy-auth revoke)',
    },
    host: { type: 'string', value: 'ADDRESS', default: '0.0.0.0', help: 'address to listen on' },
    port: { type: 'string', value: 'PORT', default: '8080', help: 'port of the auth and login endpoints' },
    'metrics-port': { type: 'string', value: 'PORT', default: '9090', help: 'port of /metrics' },
    'drain-seconds': {
      type: 'string',
      value: 'SECONDS',
      default: '20',
      help: 'after SIGTERM, how long in-flight requests may take before connections are cut',
    },
    'shutdown-delay-seconds': {
      type: 'string',
      value: 'SECONDS',
      default: '0',
      help: 'after SIGTERM, keep serving this long while /readyz says not ready (Kubernetes removes the pod meanwhile)',
    },
    'require-auth': {
      type: 'boolean',
      default: false,
      env: 'AIRY_AUTH_REQUIRE_AUTH',
      help: 'refuse a config that would turn authentication off (503, not ready) instead of allowing every request: for deployments',
    },
    'log-requests': {
      type: 'string',
      value: 'none|denied|all',
      default: 'denied',
      env: 'AIRY_AUTH_LOG_REQUESTS',
      help: 'which decisions get a request log line',
    },
    'log-level': { type: 'string', value: 'debug|info|warn|error', default: 'info', env: 'AIRY_AUTH_LOG_LEVEL', help: 'the lowest level logged' },
    'request-id-header': {
      type: 'string',
      value: 'NAME',
      default: 'X-Request-ID',
      env: 'AIRY_AUTH_REQUEST_ID_HEADER',
      help: "header with the gateway's request id, logged and echoed (one is made when absent)",
    },
    ...SHADOW_FLAGS,
  },
};

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

/** The revocation list of `--revocations`, watched; undefined when the flag is absent. */
async function startRevocations(text: string | undefined, deps: Omit<SourceDeps, 'store'>): Promise<RunningRevocations | undefined> {
  if (text === undefined) return undefined;
  // Loaded only here, like the ConfigMap source: @kubernetes/client-node is slow to import.
  const { resolveRevocationsTarget, startRevocationSource } = await import('../src/sources/revocations-source.js');
  let target: ReturnType<typeof resolveRevocationsTarget>;
  try {
    target = resolveRevocationsTarget(text);
  } catch (err) {
    throw new UsageError(`--revocations: ${(err as Error).message}`);
  }
  return startRevocationSource({ ...target, metrics: deps.metrics, logger: deps.logger, now: Date.now });
}

export interface RunningServer {
  readonly port: number;
  readonly metricsPort: number;
  close(): Promise<void>;
}

/** `airy-auth serve`: the composition root of the running service. Resolves undefined for --help (printed). */
export async function serveCommand(argv: string[], out: (s: string) => void, logger?: Logger): Promise<RunningServer | undefined> {
  const parsed = parseCommand(argv, SERVE);
  if (parsed === 'help') {
    out(usageOf(SERVE));
    return undefined;
  }
  const values = parsed.values as Record<string, string | undefined>;
  if (!values.config === !values.configmap) throw usageError(SERVE, 'serve needs exactly one of --config FILE or --configmap [NS/]NAME');
  if (values.secret && !values.configmap) throw usageError(SERVE, '--secret goes with --configmap');
  const shadowTarget = shadowTargetOf(values, (message) => usageError(SERVE, message));
  const port = portOption(values.port, 'port', 8080);
  const metricsPort = portOption(values['metrics-port'], 'metrics-port', 9090);
  const drainSeconds = secondsOption(values['drain-seconds'], 'drain-seconds', 20);
  const shutdownDelay = secondsOption(values['shutdown-delay-seconds'], 'shutdown-delay-seconds', 0);
  const requestLog: RequestLogSettings = {
    mode: choiceOption(values['log-requests'], 'log-requests', REQUEST_LOG_MODES, 'denied'),
    idHeader: requestIdHeader(values['request-id-header']),
  };
  logger ??= jsonLogger(undefined, choiceOption(values['log-level'], 'log-level', LEVELS, 'info'));

  const registry = new Registry();
  const metrics = createMetrics(registry);
  const requireAuth = booleanOption(parsed.values['require-auth'] as string | boolean | undefined, 'require-auth');
  const revocations = await startRevocations(values.revocations, { metrics, logger });
  // Each applied policy gets its evaluator (its credential verifiers) as it is applied.
  const evaluators = createEvaluators({ machineTokens: createMachineTokens(metrics), revocations });
  const store = new PolicyStore(logger, metrics, { requireAuth, onApply: (policy) => evaluators.forPolicy(policy) });
  const source = await startSource(values, { store, metrics, logger });
  // Serve at once (health, metrics, 503 on /auth) and let the sources catch up; wait briefly so
  // quick sources are loaded before the first request.
  await Promise.race([Promise.all([source.ready, revocations?.ready]), new Promise((r) => setTimeout(r, 5000).unref())]);
  // Until the revocation list has been read, no session may be judged: every answer is a 503.
  let revocationsRead = revocations === undefined;
  void revocations?.ready.then(() => {
    revocationsRead = true;
  });
  const policies: PolicySnapshot =
    revocations === undefined
      ? store
      : {
          get current() {
            return revocationsRead ? store.current : undefined;
          },
        };

  // Beside the live config, never in its place: decisions read `deps` (below) when they compare.
  const shadow = await startShadow(shadowTarget, { metrics, logger, requireAuth }, () => deps);
  let shuttingDown = false;
  const deps: ServerDeps = {
    policies,
    metrics,
    logger,
    now: Date.now,
    shuttingDown: () => shuttingDown,
    requestLog,
    evaluators,
    revocations,
    shadow: shadow?.comparison,
  };
  const server = createAuthServer(deps, allRoutes());
  const metricsServer = createMetricsServer(registry);
  await listen(server, port, values.host);
  await listen(metricsServer, metricsPort, values.host);
  const actualPort = (server.address() as AddressInfo).port;
  const actualMetricsPort = (metricsServer.address() as AddressInfo).port;
  logger.log('info', 'airy-auth listening', {
    host: values.host,
    port: actualPort,
    metricsPort: actualMetricsPort,
    source: source.name,
    logRequests: requestLog.mode,
    requireAuth,
    ...(revocations ? { revocations: revocations.name } : {}),
    ...(shadow ? { shadow: shadow.name } : {}),
  });

  const close = shutdownOnSignals({
    servers: [server, metricsServer],
    logger,
    delaySeconds: shutdownDelay,
    drainSeconds,
    markNotReady: () => {
      shuttingDown = true;
    },
    stopSources: async () => {
      await Promise.all([source.stop(), revocations?.stop(), shadow?.stop()]);
    },
  });
  return { port: actualPort, metricsPort: actualMetricsPort, close };
}

function requestIdHeader(name: string | undefined): string {
  const header = (name ?? 'X-Request-ID').toLowerCase();
  if (!/^[a-z0-9-]{1,64}$/.test(header)) throw usageError(SERVE, `--request-id-header must be a header name, got "${name}"`);
  if (isReservedHeader(header)) throw usageError(SERVE, `--request-id-header cannot be ${name}: airy-auth reads or writes that header for its own purpose`);
  return header;
}
