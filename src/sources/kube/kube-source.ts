import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { formatIssue } from '../../config/issues.js';
import { compileConfigMapData } from '../../config/load.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { PolicyStore } from '../policy-store.js';
import { Backoff } from './backoff.js';
import { invalidConfigMessage, postWarning } from './kube-events.js';
import { describeKubeError as describe, type NamedWatch, watchNamedObject } from './named-watch.js';
import type { ObjectRef } from './object-ref.js';

export interface KubeSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly configMap: ObjectRef;
  readonly secret?: ObjectRef | undefined;
  readonly store: PolicyStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * A watch that sends nothing for this long is considered dead. Real apiservers send bookmarks
   * rarely (every 60 s at most, none for a type nobody writes after a restart), so quiet watches
   * are renewed by the server's own timeout, which must be shorter than this.
   */
  readonly idleMs?: number;
  /** Asked of the server for every watch; default two thirds of idleMs. */
  readonly watchTimeoutSeconds?: number;
  readonly backoff?: () => Backoff;
  /** The InvalidConfig Event's text (default: what the live config's refusal means for answers). */
  readonly invalidConfigMessage?: (hasLastGood: boolean, errors: string) => string;
}

type Obj = V1ConfigMap | V1Secret;

interface Watched<T extends Obj> {
  readonly ref: ObjectRef;
  readonly watch: NamedWatch<T>;
  present: boolean;
}

/**
 * Live config from a ConfigMap (and an optional Secret overlay): a list+watch on each object's
 * `metadata.name` field selector (RBAC by resourceNames allows nothing wider), resumed from the
 * last resourceVersion, relisted after 410 Gone, restarted with backoff and jitter after errors
 * and stalls. Every change recompiles; the PolicyStore keeps the last good policy.
 */
export function startKubeSource(options: KubeSourceOptions): { stop: () => Promise<void>; ready: Promise<void> } {
  const { kubeConfig: kc, store, metrics, logger } = options;
  const api = kc.makeApiClient(CoreV1Api);
  const idleMs = options.idleMs ?? 90_000;
  const watchTimeoutSeconds = Math.max(1, Math.min(options.watchTimeoutSeconds ?? Math.floor((idleMs * 2) / 3000), Math.floor((idleMs * 0.9) / 1000)));
  const makeBackoff = options.backoff ?? (() => new Backoff());
  let stopped = false;
  let lastEventKey = '';
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const healthy = new Set<string>();

  const secretName = options.secret ? ` + secret ${options.secret.namespace}/${options.secret.name}` : '';
  const sourceName = `configmap ${options.configMap.namespace}/${options.configMap.name}${secretName}`;

  function watchOne<T extends Obj>(resource: 'configmaps' | 'secrets', ref: ObjectRef): Watched<T> {
    const id = `${resource}/${ref.namespace}/${ref.name}`;
    const setUp = (up: boolean) => {
      if (up) healthy.add(id);
      else healthy.delete(id);
      metrics.sourceUp.set(healthy.size === (options.secret ? 2 : 1) ? 1 : 0);
    };
    const watch = watchNamedObject<T>({
      kubeConfig: kc,
      api,
      resource,
      ref,
      idleMs,
      timeoutSeconds: watchTimeoutSeconds,
      makeBackoff,
      metrics,
      logger,
      keeping: 'the last good config',
      setUp,
      onChange: () => reconcile(),
    });
    return { ref, watch, present: false };
  }

  const cm = watchOne<V1ConfigMap>('configmaps', options.configMap);
  const sec = options.secret ? watchOne<V1Secret>('secrets', options.secret) : undefined;

  /** Called from the watches' event handlers: nothing from an apiserver answer may throw out of it. */
  function reconcile(): void {
    try {
      reconcileNow();
    } catch (err) {
      logger.log('error', 'could not apply the watched objects; keeping the last good config', { error: describe(err) });
    }
  }

  function reconcileNow(): void {
    if (stopped || !cm.watch.listed || (sec && !sec.watch.listed)) return;
    const cmObj = cm.watch.get();
    const secObj = sec?.watch.get();
    const missing = !cmObj ? `configmap ${cm.ref.namespace}/${cm.ref.name}` : sec && !secObj ? `secret ${sec.ref.namespace}/${sec.ref.name}` : undefined;
    if (missing) {
      // Deleting an object (the Secret with jwtSecret, say) must not turn auth off: keep the last good.
      if (cm.present || sec?.present) store.sourceDeleted(missing);
      else logger.log('warn', `${missing} does not exist yet; answering 503 until it does`, {});
      cm.present = !!cmObj;
      if (sec) sec.present = !!secObj;
      resolveReady();
      return;
    }
    cm.present = true;
    if (sec) sec.present = true;
    const secretData = secObj ? decodeSecret(secObj.data) : undefined;
    const result = compileConfigMapData(cmObj!.data ?? {}, secretData, {
      configMap: `${cm.ref.namespace}/${cm.ref.name}`,
      secret: sec ? `${sec.ref.namespace}/${sec.ref.name}` : undefined,
    });
    const outcome = store.apply(result, sourceName);
    const eventKey = `${cmObj!.metadata?.resourceVersion}/${secObj?.metadata?.resourceVersion ?? ''}`;
    if (outcome === 'invalid' && eventKey !== lastEventKey) {
      lastEventKey = eventKey;
      const errors = store.lastIssues
        .filter((i) => i.severity === 'error')
        .map(formatIssue)
        .join('; ');
      const message = (options.invalidConfigMessage ?? invalidConfigMessage)(store.current !== undefined, errors);
      void postWarning(api, logger, 'ConfigMap', cmObj!.metadata!, 'InvalidConfig', message);
    }
    resolveReady();
  }

  return {
    ready,
    async stop() {
      stopped = true;
      await Promise.all([cm.watch.stop(), sec?.watch.stop()]);
    },
  };
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
