import { hostname } from 'node:os';
import type { CoreV1Api, V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';

/**
 * Posts a Warning Event on the object that holds a bad config, so `kubectl describe configmap`
 * and `kubectl get events` show why airy-auth did not apply it. Failing to post is logged, never
 * fatal.
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
        message: oneLine(message),
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
 * The message on one line, at most 1000 characters: `kubectl get events` prints an Event per row
 * and cuts a message at its first newline, so the `allowed:`/`fix:` lines of a config issue
 * would be lost there.
 */
export function oneLine(message: string): string {
  // Split and trim, never one regex around the newline: a long run of spaces in a user's value
  // would make `\s*\n\s*` backtrack quadratically.
  const line = message
    .split(/[\r\n]/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
  return line.length > 1000 ? `${line.slice(0, 997)}...` : line;
}

/** The object without its undefined fields: the API types' optional fields may be absent, never undefined. */
function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
