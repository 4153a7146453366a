import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { formatRevocations, liveCount, parseRevocations, REVOCATIONS_KEY, type RevocationEntry } from '../session/revocation-list.js';
import type { ObjectRef } from './kube/object-ref.js';

/**
 * At most this many entries in force: about 40 bytes each, so the ConfigMap stays under 800 KB
 * (the apiserver refuses data over 1 MiB, and every write sends the whole object to every
 * replica's watch).
 */
export const MAX_REVOCATIONS = 20_000;
/** A write that takes longer than this is reported as failed (it may still land). */
const WRITE_TIMEOUT_MS = 10_000;
/** Concurrent writers (replicas, operators) each retry a write that lost the race this often. */
const MAX_ATTEMPTS = 8;

export type RevocationWriteProblem = 'unreachable' | 'not_found' | 'forbidden' | 'too_many' | 'conflict' | 'rejected';

/** A revocation that did not reach the ConfigMap: the caller must say so, never report success. */
export class RevocationWriteError extends Error {
  override readonly name = 'RevocationWriteError';
  constructor(
    message: string,
    readonly code: RevocationWriteProblem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function revocationsApi(kc: KubeConfig): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}

/**
 * Adds the entries to the ConfigMap: reads it, merges (the later revocation of a key wins, so an
 * `all` cut-off never moves back), leaves out the entries whose time is over, and replaces it with
 * the resourceVersion it read. A concurrent writer makes that fail with 409 Conflict, and the
 * write starts again from a fresh read, so no writer ever overwrites another's entries.
 * Rejects with RevocationWriteError.
 */
export async function writeRevocations(api: CoreV1Api, ref: ObjectRef, entries: readonly RevocationEntry[], nowSeconds: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cm = await withTimeout(api.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace }), ref).catch((err: unknown) => {
      throw classify(err, ref);
    });
    const { list } = parseRevocations(cm.data, entries);
    const live = liveCount(list, nowSeconds);
    if (live > MAX_REVOCATIONS) {
      throw new RevocationWriteError(
        `the revocation list would hold ${live} entries in force, the most it keeps is ${MAX_REVOCATIONS}; revoke with --all-before instead`,
        'too_many',
      );
    }
    const body: V1ConfigMap = { ...cm, data: { ...cm.data, [REVOCATIONS_KEY]: formatRevocations(list, nowSeconds) } };
    try {
      await withTimeout(api.replaceNamespacedConfigMap({ name: ref.name, namespace: ref.namespace, body, fieldManager: 'airy-auth-revoke' }), ref);
      return;
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 409 && attempt < MAX_ATTEMPTS) continue;
      if ((err as { code?: unknown } | null)?.code === 409) {
        throw new RevocationWriteError(`configmap ${ref.namespace}/${ref.name} kept changing under ${MAX_ATTEMPTS} writes in a row`, 'conflict', {
          cause: err,
        });
      }
      throw classify(err, ref);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ref: ObjectRef): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RevocationWriteError(`the apiserver did not answer within ${WRITE_TIMEOUT_MS / 1000} s (configmap ${ref.namespace}/${ref.name})`, 'unreachable'),
        ),
      WRITE_TIMEOUT_MS,
    );
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function classify(err: unknown, ref: ObjectRef): RevocationWriteError {
  if (err instanceof RevocationWriteError) return err;
  const where = `configmap ${ref.namespace}/${ref.name}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 404)
    return new RevocationWriteError(`${where} does not exist (the chart creates it with revocations.enabled=true)`, 'not_found', { cause: err });
  if (code === 403 || code === 401)
    return new RevocationWriteError(`the apiserver refused to change ${where} (${code}): this identity may not update it`, 'forbidden', { cause: err });
  if (typeof code === 'number') return new RevocationWriteError(`the apiserver refused the change to ${where} (${code})`, 'rejected', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new RevocationWriteError(`cannot reach the apiserver to change ${where}: ${message.slice(0, 200)}`, 'unreachable', { cause: err });
}
