import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expiredKeys, formatTimes, liveCount, parseRevocations, type RevocationEntry, type RevocationList } from '../session/revocation-list.js';
import type { ObjectRef } from './kube/object-ref.js';

/**
 * At most this many entries in force: about 40 bytes each, so the ConfigMap stays under 1 MB
 * with room to spare (the apiserver refuses an object over 1 MiB, and every write sends the whole
 * object to every replica's watch).
 */
export const MAX_REVOCATIONS = 20_000;
/** A write that takes longer than this is reported as failed (it may still land). */
const WRITE_TIMEOUT_MS = 10_000;

export type RevocationWriteProblem = 'unreachable' | 'not_found' | 'forbidden' | 'too_many' | 'rejected';

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

/** The API client for writes: patches as JSON merge patches, which add keys without a read-modify-write race. */
export function revocationsApi(kc: KubeConfig): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}

/** The list as the apiserver holds it now (the CLI reads it before writing, to keep it small). */
export async function readRevocations(api: CoreV1Api, ref: ObjectRef): Promise<RevocationList> {
  const cm = await withTimeout(api.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace }), ref).catch((err: unknown) => {
    throw classify(err, ref);
  });
  return parseRevocations(cm.data).list;
}

/**
 * Adds the entries to the ConfigMap with one merge patch: concurrent writers (replicas receiving
 * back-channel logouts, an operator's `revoke`) each add their own keys and never overwrite each
 * other's. An `all` cut-off never moves back. Then, best effort, the entries of `known` whose
 * time is over are removed, each only if it still holds the value seen (a JSON patch `test`), so a
 * key revoked again meanwhile is kept. Rejects with RevocationWriteError.
 */
export async function writeRevocations(
  api: CoreV1Api,
  ref: ObjectRef,
  entries: readonly RevocationEntry[],
  known: RevocationList | undefined,
  nowSeconds: number,
): Promise<void> {
  const data: Record<string, string> = {};
  for (const e of entries) {
    const seen = known?.entries.get(e.key);
    if (e.kind === 'all' && seen !== undefined && seen.until > nowSeconds && seen.at >= e.at) continue;
    data[e.key] = formatTimes(e);
  }
  if (known !== undefined && liveCount(known, nowSeconds) + Object.keys(data).length > MAX_REVOCATIONS) {
    throw new RevocationWriteError(
      `the revocation list holds ${liveCount(known, nowSeconds)} entries in force, the most it keeps is ${MAX_REVOCATIONS}; revoke with --all-before instead`,
      'too_many',
    );
  }
  if (Object.keys(data).length > 0) {
    await withTimeout(
      api.patchNamespacedConfigMap(
        { name: ref.name, namespace: ref.namespace, body: { data }, fieldManager: 'airy-auth-revoke' },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      ref,
    ).catch((err: unknown) => {
      throw classify(err, ref);
    });
  }
  if (known !== undefined) await pruneExpired(api, ref, known, nowSeconds);
}

/** Removes up to 500 entries whose time is over; a failure (someone changed one meanwhile) only leaves them for the next writer. */
async function pruneExpired(api: CoreV1Api, ref: ObjectRef, known: RevocationList, nowSeconds: number): Promise<void> {
  const keys = expiredKeys(known, nowSeconds).slice(0, 500);
  if (keys.length === 0) return;
  const ops = keys.flatMap((key) => [
    { op: 'test', path: `/data/${key}`, value: formatTimes(known.entries.get(key)!) },
    { op: 'remove', path: `/data/${key}` },
  ]);
  try {
    await withTimeout(
      api.patchNamespacedConfigMap(
        { name: ref.name, namespace: ref.namespace, body: ops, fieldManager: 'airy-auth-revoke' },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
      ref,
    );
  } catch {
    /* the next writer tries again */
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
    return new RevocationWriteError(`the apiserver refused to change ${where} (${code}): this identity may not patch it`, 'forbidden', { cause: err });
  if (typeof code === 'number') return new RevocationWriteError(`the apiserver refused the change to ${where} (${code})`, 'rejected', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new RevocationWriteError(`cannot reach the apiserver to change ${where}: ${message.slice(0, 200)}`, 'unreachable', { cause: err });
}
