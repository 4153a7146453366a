import { readFileSync } from 'node:fs';

/** A namespaced object named on the command line as `[NAMESPACE/]NAME`. */
export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The namespace, when not given: POD_NAMESPACE (the downward API), then the service account's
 * namespace file (in a pod), then the kubeconfig context's namespace, then "default".
 */
export function defaultNamespace(
  env: NodeJS.ProcessEnv,
  contextNamespace: string | undefined,
  readFile: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    const ns = readFile(IN_CLUSTER_NAMESPACE).trim();
    if (ns) return ns;
  } catch {
    /* not in a pod */
  }
  return contextNamespace || 'default';
}

/** Parses `[NS/]NAME`; TypeError for a malformed name (a command-line mistake, not untrusted input). */
export function parseObjectRef(text: string, fallbackNamespace: string): ObjectRef {
  const parts = text.split('/');
  const [namespace, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [fallbackNamespace, parts[0]!];
  if (parts.length > 2 || !DNS_NAME.test(name) || !DNS_NAME.test(namespace)) {
    throw new TypeError(`"${text}" is not [NAMESPACE/]NAME with lower-case DNS names`);
  }
  return { namespace, name };
}
