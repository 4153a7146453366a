import { CoreV1Api, type KubeConfig, type KubernetesListObject, ListWatch, type V1ConfigMap, type V1Secret, Watch } from '@kubernetes/client-node';
import { formatIssue } from '../../config/issues.js';
import { compileConfigMapData } from '../../config/load.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { PolicyStore } from '../policy-store.js';
import { Backoff } from './backoff.js';
import { invalidConfigMessage, postWarning } from './kube-events.js';
import type { ObjectRef } from './object-ref.js';
import { ResilientWatch, type RestartReason } from './resilient-watch.js';

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
}

type Obj = V1ConfigMap | V1Secret;

interface Watched<T extends Obj> {
  readonly ref: ObjectRef;
  readonly lw: ListWatch<T>;
  listed: boolean;
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
  const timers = new Set<NodeJS.Timeout>();

  const secretName = options.secret ? ` + secret ${options.secret.namespace}/${options.secret.name}` : '';
  const sourceName = `configmap ${options.configMap.namespace}/${options.configMap.name}${secretName}`;

  function watchOne<T extends Obj>(resource: 'configmaps' | 'secrets', ref: ObjectRef): Watched<T> {
    const backoff = makeBackoff();
    const id = `${resource}/${ref.namespace}/${ref.name}`;
    const setUp = (up: boolean) => {
      if (up) healthy.add(id);
      else healthy.delete(id);
      metrics.sourceUp.set(healthy.size === (options.secret ? 2 : 1) ? 1 : 0);
    };
    const quick = makeBackoff();
    // The reason of the watch that just ended: the 'error' handler below logs it once, with the retry delay.
    let endedBecause: RestartReason | undefined;
    const watch = new ResilientWatch(new Watch(kc), {
      idleMs,
      timeoutSeconds: watchTimeoutSeconds,
      quickCloseDelayMs: () => quick.next(),
      onEstablished: () => {
        backoff.reset();
        quick.reset();
        setUp(true);
      },
      onEnd: (reason, err) => {
        if (stopped) return; // our own stop aborted it: not a restart
        metrics.watchRestarts.inc({ reason });
        endedBecause = reason;
        if (reason === 'renewed' || reason === 'closed') logger.log('debug', END_MESSAGES[reason], { object: id, reason });
        else if (reason === 'gone') logger.log('info', END_MESSAGES.gone, { object: id, reason, error: describe(err) });
      },
    });
    const path = `/api/v1/namespaces/${ref.namespace}/${resource}`;
    const fieldSelector = `metadata.name=${ref.name}`;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const list = (
        resource === 'configmaps'
          ? await api.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector })
          : await api.listNamespacedSecret({ namespace: ref.namespace, fieldSelector })
      ) as KubernetesListObject<T>;
      backoff.reset();
      setUp(true);
      // ListWatch stores the items after this resolves; look at them once it has.
      setImmediate(() => {
        watched.listed = true;
        reconcile();
      });
      return list;
    };
    const lw = new ListWatch<T>(path, watch as unknown as Watch, listFn, false, undefined, fieldSelector);
    const watched: Watched<T> = { ref, lw, listed: false, present: false };
    for (const verb of ['add', 'update', 'delete'] as const) lw.on(verb, () => reconcile());
    lw.on('error', (err: unknown) => {
      setUp(false);
      if (stopped) return;
      const delay = backoff.next();
      const reason = endedBecause ?? listFailureReason(err);
      endedBecause = undefined;
      logger.log('warn', `${END_MESSAGES[reason]}; keeping the last good config`, { object: id, reason, retryInMs: delay, error: describe(err) });
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) void lw.start();
      }, delay);
      timers.add(t);
    });
    return watched;
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
    if (stopped || !cm.listed || (sec && !sec.listed)) return;
    const cmObj = cm.lw.get(cm.ref.name, cm.ref.namespace);
    const secObj = sec?.lw.get(sec.ref.name, sec.ref.namespace);
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
      void postWarning(api, logger, 'ConfigMap', cmObj!.metadata!, 'InvalidConfig', invalidConfigMessage(store.current !== undefined, errors));
    }
    resolveReady();
  }

  void cm.lw.start();
  if (sec) void sec.lw.start();

  return {
    ready,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await cm.lw.stop();
      await sec?.lw.stop();
    },
  };
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function describe(err: unknown): string | undefined {
  if (!err) return undefined;
  const status = (err as { statusCode?: number; code?: number }).statusCode ?? (err as { code?: number }).code;
  const message = err instanceof Error ? err.message : String(err);
  return `${status ? `${status} ` : ''}${message}`.slice(0, 200);
}

/** What each end of a watch means, for the one log line it gets. */
const END_MESSAGES: Record<RestartReason, string> = {
  renewed: 'watch renewed at its timeout; resuming from the last resourceVersion',
  closed: 'the apiserver closed the watch; resuming from the last resourceVersion',
  gone: 'the watch history expired (410 Gone); listing again',
  forbidden: 'the apiserver refused access (403 Forbidden; RBAC may still be starting); retrying',
  unauthorized: 'the apiserver refused the token (401 Unauthorized); retrying',
  premature_close: 'the watch stream broke off (premature close; the apiserver stopped or the connection was cut); reconnecting',
  stalled: 'the watch went silent past its renewal (idle); reconnecting',
  error: 'cannot reach the apiserver; retrying',
};

/** A failed list has no watch reason: classify it the same way. */
function listFailureReason(err: unknown): RestartReason {
  const code = (err as { code?: number; statusCode?: number } | null)?.code ?? (err as { statusCode?: number } | null)?.statusCode;
  if (code === 403) return 'forbidden';
  if (code === 401) return 'unauthorized';
  return 'error';
}
