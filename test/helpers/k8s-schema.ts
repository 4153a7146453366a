import type { K8sObject } from './helm.js';

/**
 * Validates an object against the Kubernetes OpenAPI schemas packaged by kubernetes-models (and
 * @kubernetes-models/prometheus-operator for ServiceMonitor): the model for its apiVersion and
 * kind is loaded and its validate() throws on any schema violation.
 */
export async function validateObject(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const path = group === 'monitoring.coreos.com'
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${obj.kind}`
    : group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  const mod = (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no schema model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}
