import { type CoreV1Api, type KubeConfig, type KubernetesListObject, ListWatch, type V1ConfigMap, type V1Secret, Watch } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Backoff } from './backoff.js';
import type { ObjectRef } from './object-ref.js';
import { ResilientWatch, type RestartReason } from './resilient-watch.js';

export interface NamedWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly api: CoreV1Api;
  readonly resource: 'configmaps' | 'secrets';
  readonly ref: ObjectRef;
  readonly idleMs: number;
  readonly timeoutSeconds: number;
  readonly makeBackoff: () => Backoff;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** What is kept while the watch is down, for its warning: "the last good config". */
  readonly keeping: string;
  /** The apiserver answered (a list, or a watch it accepted), or a watch or list failed. */
  readonly setUp: (up: boolean) => void;
  /** The object may have changed (listed, added, updated or deleted): read it with `get()`. */
  readonly onChange: () => void;
}

export interface NamedWatch<T> {
  /** True once the first list has been stored: `get()` then tells whether the object exists. */
  readonly listed: boolean;
  get(): T | undefined;
  stop(): Promise<void>;
}

/**
 * One object, listed and watched by its `metadata.name` field selector (RBAC by resourceNames
 * allows nothing wider): resumed from the last resourceVersion, relisted after 410 Gone, and
 * restarted with backoff and jitter after errors and stalls, each end logged once with its reason.
 * The config's ConfigMap and Secret and the revocation list are all watched this way.
 */
export function watchNamedObject<T extends V1ConfigMap | V1Secret>(o: NamedWatchOptions): NamedWatch<T> {
  const { api, ref, resource, metrics, logger } = o;
  const backoff = o.makeBackoff();
  const quick = o.makeBackoff();
  const id = `${resource}/${ref.namespace}/${ref.name}`;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let listed = false;
  // The reason of the watch that just ended: the 'error' handler below logs it once, with the retry delay.
  let endedBecause: RestartReason | undefined;
  const watch = new ResilientWatch(new Watch(o.kubeConfig), {
    idleMs: o.idleMs,
    timeoutSeconds: o.timeoutSeconds,
    quickCloseDelayMs: () => quick.next(),
    onEstablished: () => {
      backoff.reset();
      quick.reset();
      o.setUp(true);
    },
    onEnd: (reason, err) => {
      if (stopped) return; // our own stop aborted it: not a restart
      metrics.watchRestarts.inc({ reason });
      endedBecause = reason;
      if (reason === 'renewed' || reason === 'closed') logger.log('debug', END_MESSAGES[reason], { object: id, reason });
      else if (reason === 'gone') logger.log('info', END_MESSAGES.gone, { object: id, reason, error: describeKubeError(err) });
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
    o.setUp(true);
    // ListWatch stores the items after this resolves; look at them once it has.
    setImmediate(() => {
      listed = true;
      o.onChange();
    });
    return list;
  };
  const lw = new ListWatch<T>(path, watch as unknown as Watch, listFn, false, undefined, fieldSelector);
  for (const verb of ['add', 'update', 'delete'] as const) lw.on(verb, () => o.onChange());
  lw.on('error', (err: unknown) => {
    o.setUp(false);
    if (stopped) return;
    const delay = backoff.next();
    const reason = endedBecause ?? listFailureReason(err);
    endedBecause = undefined;
    logger.log('warn', `${END_MESSAGES[reason]}; keeping ${o.keeping}`, { object: id, reason, retryInMs: delay, error: describeKubeError(err) });
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) void lw.start();
    }, delay);
    timers.add(t);
  });
  void lw.start();

  return {
    get listed() {
      return listed;
    },
    get: () => lw.get(ref.name, ref.namespace),
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await lw.stop();
    },
  };
}

/** An apiserver failure in one short line: its status code, when it has one, and its message. */
export function describeKubeError(err: unknown): string | undefined {
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
