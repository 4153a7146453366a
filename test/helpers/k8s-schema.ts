import type { K8sObject } from './helm.js';

/**
 * Validates an object against the Kubernetes OpenAPI schemas packaged by kubernetes-models (and
 * the @kubernetes-models packages for custom resources): the model for its apiVersion and
 * kind is loaded and its validate() throws on any schema violation.
 */
/** Packages with the schemas of custom resources, by API group. */
const CRD_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  'traefik.io': '@kubernetes-models/traefik',
  'gateway.envoyproxy.io': '@kubernetes-models/envoy-gateway',
  'security.istio.io': '@kubernetes-models/istio',
};

export async function validateObject(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const crdPackage = CRD_PACKAGES[group!];
  const path = crdPackage
    ? `${crdPackage}/${group}/${version}/${obj.kind}`
    : group
      ? `kubernetes-models/${group}/${version}/${obj.kind}`
      : `kubernetes-models/${version}/${obj.kind}`;
  const mod = (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no schema model for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    if (obj.kind === 'HTTPRoute') return validateExperimentalRoute(obj, err as Error);
    throw err;
  }
}

/**
 * @kubernetes-models/gateway-api follows the standard channel, where `ExternalAuth` is not yet a
 * filter type (GEP-1494 is experimental; NGINX Gateway Fabric needs the experimental CRDs for it).
 * So an HTTPRoute may fail only on that enum, for filters whose type is ExternalAuth, and each such
 * filter's `externalAuth` must validate against the HTTPExternalAuthFilter schema.
 */
async function validateExperimentalRoute(route: K8sObject, err: Error): Promise<void> {
  const rules = (route as unknown as { spec: { rules?: { filters?: { type: string; externalAuth?: unknown }[] }[] } }).spec.rules ?? [];
  const problems = err.message.split(/,\s*(?=data\/)/).filter((p) => {
    const m = /^data\/spec\/rules\/(\d+)\/filters\/(\d+)\/type must be equal to one of the allowed values$/.exec(p.trim());
    return !(m && rules[Number(m[1])]?.filters?.[Number(m[2])]?.type === 'ExternalAuth');
  });
  if (problems.length > 0) throw new Error(problems.join(', '));
  const { HTTPExternalAuthFilter } = await import('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPExternalAuthFilter');
  for (const rule of rules) for (const f of rule.filters ?? []) if (f.type === 'ExternalAuth') new HTTPExternalAuthFilter(f.externalAuth as never).validate();
}
