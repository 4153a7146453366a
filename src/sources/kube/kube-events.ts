import { hostname } from 'node:os';
import type { CoreV1Api, V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';

/**
 * Posts a Warning Event on the object that holds a bad config, so `kubectl describe configmap`
 * shows why airy-auth did not apply it. Failing to post is logged, never fatal.
 */
export async function postWarning(
  api: CoreV1Api,
  logger: Logger,
  kind: 'ConfigMap' | 'Secret',
  meta: V1ObjectMeta,
  reason: string,
  message: string,
): Promise<void> {
  const now = new Date();
  const host = hostname();
  try {
    await api.createNamespacedEvent({
      namespace: meta.namespace!,
      body: {
        metadata: { generateName: `${meta.name}.`, namespace: meta.namespace! },
        involvedObject: definedOnly({
          apiVersion: 'v1',
          kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        }),
        reason,
        message: message.length > 1000 ? `${message.slice(0, 997)}...` : message,
        type: 'Warning',
        source: { component: 'airy-auth', host },
        reportingComponent: 'airy-auth',
        reportingInstance: host,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch (err) {
    logger.log('warn', 'could not post a Kubernetes Event', { reason, error: err instanceof Error ? err.message.slice(0, 200) : String(err) });
  }
}

/**
 * The InvalidConfig Event's text: what airy-auth does about the refused config, then its errors.
 * Before any config was valid there is no last good one to keep: it answers 503 and is not ready.
 */
export function invalidConfigMessage(hasLastGood: boolean, errors: string): string {
  return hasLastGood ? `airy-auth kept its last good config: ${errors}` : `airy-auth has no valid config yet, so it answers 503 and is not ready: ${errors}`;
}

/** The object without its undefined fields: the API types' optional fields may be absent, never undefined. */
function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
