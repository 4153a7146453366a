import { CoreV1Api, type KubeConfig, KubeConfig as KubeConfigClass, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { EMPTY_REVOCATIONS, liveCount, parseRevocations, type RevocationEntry, type RevocationList } from '../session/revocation-list.js';
import { Backoff } from './kube/backoff.js';
import { describeKubeError as describe, watchNamedObject } from './kube/named-watch.js';
import { defaultNamespace, type ObjectRef, parseObjectRef } from './kube/object-ref.js';
import { RevocationWriteError, writeRevocations } from './revocations-writer.js';

export interface RevocationSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly ref: ObjectRef;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** As for the config's watch: a watch silent this long is dead; the server renews it sooner. */
  readonly idleMs?: number;
}

export interface RunningRevocations {
  readonly name: string;
  /** Resolves once the ConfigMap has been listed (found or not): only then may the replica answer. */
  readonly ready: Promise<void>;
  readonly current: RevocationList;
  record(entries: readonly RevocationEntry[]): Promise<void>;
  stop(): Promise<void>;
}

/** The replica's own entries not yet seen in the ConfigMap: at most this many are kept. */
const MAX_LOCAL = 10_000;

/**
 * The revocation list from a watched ConfigMap, with the config's resilient watch (resumed from the
 * last resourceVersion, relisted after 410, restarted with backoff and jitter): every change
 * becomes a new frozen list at once. The replica's own writes apply here at once, and a write the
 * apiserver did not take stays applied here (and is written again once the apiserver answers)
 * until the ConfigMap holds it or its time is over.
 */
export function startRevocationSource(options: RevocationSourceOptions): RunningRevocations {
  const { kubeConfig: kc, ref, metrics, logger, now } = options;
  const api = kc.makeApiClient(CoreV1Api);
  const name = `${ref.namespace}/${ref.name}`;
  const idleMs = options.idleMs ?? 90_000;
  let stopped = false;
  let data: Record<string, string> | undefined;
  let lastSkipped = '';
  let current: RevocationList = EMPTY_REVOCATIONS;
  /** Entries this replica recorded, by key, until the ConfigMap shows them; `unwritten` ones are retried. */
  const local = new Map<string, { entry: RevocationEntry; unwritten: boolean }>();
  let retrying: Promise<void> | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  metrics.revocationView.configMap = name;
  metrics.revocationView.live = () => liveCount(current, Math.floor(now() / 1000));
  metrics.revocationView.newestAt = () => current.newestAt;
  metrics.revocationSourceUp.set({ configmap: name }, 0);

  function rebuild(): void {
    const nowSeconds = Math.floor(now() / 1000);
    const { list: fromObject, skipped } = parseRevocations(data);
    for (const [key, l] of local) {
      const seen = fromObject.entries.get(key);
      if ((seen !== undefined && seen.at >= l.entry.at) || l.entry.until <= nowSeconds) local.delete(key);
    }
    // Parsing 10,000 lines takes tens of milliseconds: only again when this replica has its own to add.
    const next =
      local.size === 0
        ? fromObject
        : parseRevocations(
            data,
            [...local.values()].map((l) => l.entry),
          ).list;
    let added = 0;
    for (const [key, t] of next.entries) {
      const before = current.entries.get(key);
      if (t.until > nowSeconds && (before === undefined || before.at !== t.at || before.until !== t.until)) added++;
    }
    current = next;
    if (added > 0) metrics.revocationsApplied.inc(added);
    const skippedKey = skipped.join(',');
    if (skipped.length > 0 && skippedKey !== lastSkipped) {
      logger.log('warn', 'the revocation ConfigMap has lines or keys that are not revocation entries; they are ignored', { configmap: name, skipped });
    }
    lastSkipped = skippedKey;
  }

  function reconcile(): void {
    try {
      if (stopped || !watch.listed) return;
      const obj = watch.get();
      if (obj === undefined) {
        // A deleted list must not un-revoke anyone: keep the last one seen, and say so.
        if (data !== undefined) logger.log('warn', 'the revocation ConfigMap was deleted; keeping the last list seen', { configmap: name });
        else logger.log('warn', 'the revocation ConfigMap does not exist; no revocation can be written until it does', { configmap: name });
      } else {
        data = obj.data ?? {};
        rebuild();
      }
      resolveReady();
      retryUnwritten();
    } catch (err) {
      logger.log('error', 'could not apply the revocation list; keeping the last one', { configmap: name, error: describe(err) });
    }
  }

  const watch = watchNamedObject<V1ConfigMap>({
    kubeConfig: kc,
    api,
    resource: 'configmaps',
    ref,
    idleMs,
    timeoutSeconds: Math.max(1, Math.floor((idleMs * 2) / 3000)),
    makeBackoff: () => new Backoff(),
    metrics,
    logger,
    keeping: 'the last revocation list',
    setUp: (up) => {
      metrics.revocationSourceUp.set({ configmap: name }, up ? 1 : 0);
      // The apiserver answers again: what this replica could not write goes out now.
      if (up) retryUnwritten();
    },
    onChange: () => reconcile(),
  });

  /** Writes entries that did not reach the apiserver, once it answers again (one attempt at a time). */
  function retryUnwritten(): void {
    if (retrying !== undefined || stopped) return;
    const pending = [...local.values()].filter((l) => l.unwritten).map((l) => l.entry);
    if (pending.length === 0) return;
    retrying = writeRevocations(api, ref, pending, Math.floor(now() / 1000))
      .then(
        () => {
          for (const e of pending) {
            const l = local.get(e.key);
            if (l?.entry === e) l.unwritten = false;
          }
          metrics.revocationWrites.inc({ result: 'written' }, pending.length);
          logger.log('info', 'revocations kept on this replica are now written to the ConfigMap', { configmap: name, entries: pending.length });
        },
        () => undefined,
      )
      .finally(() => {
        retrying = undefined;
      });
  }

  return {
    name: `configmap ${name}`,
    ready,
    get current() {
      return current;
    },
    async record(entries) {
      const nowSeconds = Math.floor(now() / 1000);
      // Applied here first, whatever the apiserver says: the replica that was told never lets the session in again.
      for (const entry of entries) {
        if (local.size >= MAX_LOCAL) local.delete(local.keys().next().value!);
        local.set(entry.key, { entry, unwritten: true });
      }
      rebuild();
      try {
        await writeRevocations(api, ref, entries, nowSeconds);
      } catch (err) {
        metrics.revocationWrites.inc({ result: 'failed' }, entries.length);
        logger.log('error', 'a revocation could not be written to the ConfigMap; it applies on this replica only, until it can be', {
          configmap: name,
          error: describe(err),
        });
        throw err instanceof RevocationWriteError ? err : new RevocationWriteError(describe(err) ?? 'write failed', 'unreachable', { cause: err });
      }
      for (const entry of entries) {
        const l = local.get(entry.key);
        if (l?.entry === entry) l.unwritten = false;
      }
      metrics.revocationWrites.inc({ result: 'written' }, entries.length);
    },
    async stop() {
      stopped = true;
      await watch.stop();
    },
  };
}

/**
 * The kubeconfig (in a pod: the ServiceAccount's) and `[NS/]NAME` of the revocation ConfigMap;
 * throws TypeError for a malformed name. Loads @kubernetes/client-node, so it is imported only
 * when `--revocations` is given.
 */
export function resolveRevocationsTarget(text: string): { kubeConfig: KubeConfig; ref: ObjectRef } {
  const kubeConfig = new KubeConfigClass();
  kubeConfig.loadFromDefault();
  const ns = defaultNamespace(process.env, kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace);
  return { kubeConfig, ref: parseObjectRef(text, ns) };
}
