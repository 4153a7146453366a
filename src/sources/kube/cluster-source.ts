import { KubeConfig } from '@kubernetes/client-node';
import type { RunningSource, SourceDeps } from '../file-source.js';
import { startKubeSource } from './kube-source.js';
import { defaultNamespace, type ObjectRef, parseObjectRef } from './object-ref.js';

/** The objects named on the command line, resolved against the kubeconfig's (or the pod's) namespace. */
export interface ClusterTarget {
  readonly kubeConfig: KubeConfig;
  readonly configMap: ObjectRef;
  readonly secret: ObjectRef | undefined;
}

/**
 * Resolves `[NS/]NAME` for the ConfigMap and Secret; throws with a message for the user when a
 * name is malformed. This module loads @kubernetes/client-node, so it is imported only when
 * `--configmap` is used: loading it costs seconds on a busy machine.
 */
export function resolveClusterTarget(configMap: string, secret: string | undefined): ClusterTarget {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const ns = defaultNamespace(process.env, kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace);
  return { kubeConfig, configMap: parseObjectRef(configMap, ns), secret: secret ? parseObjectRef(secret, ns) : undefined };
}

/** Live config from a watched ConfigMap and optional Secret. */
export function startClusterSource(target: ClusterTarget, deps: SourceDeps): RunningSource {
  const source = startKubeSource({ ...target, ...deps });
  const name = `configmap ${target.configMap.namespace}/${target.configMap.name}`;
  return { name, ready: source.ready, stop: source.stop };
}
