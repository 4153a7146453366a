import { Gauge } from 'prom-client';
import type { CompileResult } from '../config/compile.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { type RunningSource, startFileSource } from './file-source.js';
import { type ApplyOutcome, PolicyStore } from './policy-store.js';

/** Where the candidate config comes from: a watched file, or a watched ConfigMap (+ Secret). */
export type ShadowTarget = { readonly file: string } | { readonly configMap: string; readonly secret?: string | undefined };

export interface ShadowSourceDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** `serve --require-auth`: judged the same way as the live config. */
  readonly requireAuth: boolean;
}

/** A running shadow source; `store.current` is the shadow config in force (undefined until one is good). */
export interface RunningShadowSource extends RunningSource {
  readonly store: PolicyStore;
}

/**
 * The candidate config of `serve --shadow-config`/`--shadow-configmap`, watched and recompiled
 * exactly as the live one is (the same file and ConfigMap sources, a PolicyStore of its own that
 * keeps the last good shadow). It never touches the live store, readiness or the live metrics:
 * its store and source report to the `airy_auth_shadow_config_*` metrics, and its log lines start
 * with "shadow". Throws a TypeError for a malformed `[NS/]NAME`.
 */
export async function startShadowSource(target: ShadowTarget, deps: ShadowSourceDeps): Promise<RunningShadowSource> {
  const metrics = shadowMetricsView(deps.metrics);
  const logger = shadowLogger(deps.logger);
  const store = new ShadowStore(logger, metrics, deps.metrics, deps.requireAuth);
  if ('file' in target) {
    const source = startFileSource(target.file, { store, metrics, logger });
    return { name: `shadow ${source.name}`, ready: source.ready, stop: source.stop, store };
  }
  // Loaded only here, as for the live ConfigMap: @kubernetes/client-node is slow to import.
  const { resolveClusterTarget } = await import('./kube/cluster-source.js');
  const { startKubeSource } = await import('./kube/kube-source.js');
  const cluster = resolveClusterTarget(target.configMap, target.secret);
  const source = startKubeSource({
    ...cluster,
    store,
    metrics,
    logger,
    invalidConfigMessage: (hasLastGood, errors) =>
      `airy-auth refused this shadow config (answers are unaffected); ${hasLastGood ? 'the last good shadow stays' : 'nothing is compared yet'}: ${errors}`,
  });
  return { name: `shadow configmap ${cluster.configMap.namespace}/${cluster.configMap.name}`, ready: source.ready, stop: source.stop, store };
}

/**
 * The live metrics with the ones a source and its store write redirected to the shadow's, so the
 * shadow never moves `airy_auth_enabled`, `airy_auth_config_generation`,
 * `airy_auth_config_reloads_total` or `airy_auth_config_source_up`. (Watch restarts are counted
 * with the live ones: they say the apiserver is flaky, whichever watch saw it.)
 */
function shadowMetricsView(metrics: Metrics): Metrics {
  return {
    ...metrics,
    // Whether the shadow would turn authentication off shows in its disagreements: no gauge of its own.
    enabled: new Gauge({ name: 'airy_auth_shadow_enabled_unregistered', help: 'not exported', registers: [] }),
    configGeneration: metrics.shadowConfigGeneration,
    configReloads: metrics.shadowConfigReloads,
    sourceUp: metrics.shadowSourceUp,
  };
}

/**
 * The store's and sources' lines, marked as the shadow's: "shadow config rejected; keeping the last
 * good config". What they would say about answers (503, authentication off) concerns only the
 * comparison, and is said so.
 */
function shadowLogger(logger: Logger): Logger {
  return {
    log(level, msg, fields) {
      const text = msg.startsWith('!!! AUTHENTICATION IS OFF')
        ? 'config turns authentication off: every request would be allowed under it (answers are unaffected)'
        : msg.replace('answering 503', 'comparing nothing');
      logger.log(level, `shadow ${text}`, fields);
    },
  };
}

/** A PolicyStore that also says whether a shadow is loaded and whether the source's latest content is it. */
class ShadowStore extends PolicyStore {
  constructor(
    logger: Logger,
    view: Metrics,
    private readonly shadowMetrics: Metrics,
    requireAuth: boolean,
  ) {
    super(logger, view, { requireAuth });
    shadowMetrics.shadowConfigLoaded.set(0);
    shadowMetrics.shadowConfigValid.set(0);
  }

  override apply(result: CompileResult, source: string): ApplyOutcome {
    const outcome = super.apply(result, source);
    this.shadowMetrics.shadowConfigValid.set(outcome === 'invalid' ? 0 : 1);
    this.shadowMetrics.shadowConfigLoaded.set(this.current === undefined ? 0 : 1);
    return outcome;
  }

  override sourceDeleted(source: string): void {
    super.sourceDeleted(source);
    this.shadowMetrics.shadowConfigValid.set(0);
  }
}
