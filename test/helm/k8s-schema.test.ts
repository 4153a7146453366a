import { beforeAll, expect, it } from 'vitest';
import { ensureHelm, type K8sObject, renderChart, type Untyped } from '../helpers/helm.js';
import { KUBERNETES_VERSIONS, validateObject } from '../helpers/k8s-schema.js';
import { describeWithTools } from '../helpers/tools.js';

/** Every optional object of the chart, custom resources included. */
const EVERYTHING = [
  ...[
    'monitoring.coreos.com/v1/ServiceMonitor',
    'monitoring.coreos.com/v1/PrometheusRule',
    'traefik.io/v1alpha1/Middleware',
    'gateway.envoyproxy.io/v1alpha1/SecurityPolicy',
    'security.istio.io/v1/AuthorizationPolicy',
    'gateway.networking.k8s.io/v1/HTTPRoute',
  ].flatMap((v) => ['--api-versions', v]),
  ...[
    'serviceMonitor.enabled=true',
    'prometheusRule.enabled=true',
    'autoscaling.enabled=true',
    'networkPolicy.enabled=true',
    'ingress.enabled=true',
    'ingress.host=app.example.com',
    'gateways.traefik.enabled=true',
    'gateways.envoyGateway.enabled=true',
    'gateways.envoyGateway.targetRoutes={app,api}',
    'gateways.istio.enabled=true',
    'gateways.istio.selector.app=inbox',
    'gateways.gatewayApi.enabled=true',
    'gateways.gatewayApi.parentRef.namespace=gateways',
  ].flatMap((v) => ['--set', v]),
];

const copy = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

describeWithTools('the Kubernetes schema validator (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  let objs: K8sObject[] = [];
  beforeAll(() => {
    objs = renderChart(EVERYTHING);
  });
  const one = (kind: string) => copy(objs.find((o) => o.kind === kind)) as K8sObject & { spec: Untyped; data: Untyped };
  const refused = async (obj: K8sObject, why: RegExp) => {
    await expect(validateObject(obj)).rejects.toThrow(why);
  };

  it('accepts every object the chart renders, custom resources included', async () => {
    expect(new Set(objs.map((o) => o.kind))).toEqual(
      new Set([
        ...['ServiceAccount', 'Secret', 'ConfigMap', 'Role', 'RoleBinding', 'Service', 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler'],
        ...['Ingress', 'NetworkPolicy', 'ServiceMonitor', 'PrometheusRule', 'Middleware', 'SecurityPolicy', 'AuthorizationPolicy', 'HTTPRoute'],
      ]),
    );
    for (const obj of objs) await validateObject(obj);
  });

  it('refuses unknown fields in built-in kinds, at any depth, as strict field validation does', async () => {
    const dep = one('Deployment');
    dep.spec.replica = 2;
    await refused(dep, /\/spec must NOT have additional properties: replica\b/);
    const nested = one('Deployment');
    nested.spec.template.spec.containers[0].securityContext.runAsNonroot = true;
    await refused(nested, /securityContext must NOT have additional properties: runAsNonroot/);
    const top = one('ConfigMap') as Untyped;
    top.spec = {};
    await refused(top, /\/ must NOT have additional properties: spec/);
  });

  it('refuses wrong types and values outside an enum or pattern', async () => {
    const dep = one('Deployment');
    dep.spec.replicas = 'two';
    await refused(dep, /\/spec\/replicas must be integer/);
    // The OpenAPI of releases after 1.24 names enums in descriptions only; the 1.24 apiserver's has them.
    const policy = one('Deployment');
    policy.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    await expect(validateObject(policy, { kubernetes: '1.24' })).rejects.toThrow(
      /imagePullPolicy must be equal to one of the allowed values: \["Always","IfNotPresent","Never"\]/,
    );
    const route = one('HTTPRoute');
    route.spec.rules[0].matches[0].path.type = 'Regex';
    await refused(route, /path\/type must be equal to one of the allowed values: \["Exact","PathPrefix","RegularExpression"\]/);
    const secret = one('Secret');
    secret.data = { token: 'not base64!' };
    await refused(secret, /\/data\/token must match format "byte"/);
  });

  it('refuses a missing required field, a missing name, and a wrong apiVersion or kind', async () => {
    const dep = one('Deployment');
    delete dep.spec.template.spec.containers[0].name;
    await refused(dep, /containers\/0 must have required property 'name'/);
    const unnamed = one('Service');
    delete (unnamed.metadata as Untyped).name;
    await refused(unnamed, /\/metadata must have required property 'name'/);
    await refused({ ...one('Deployment'), apiVersion: 'apps/v1beta1' }, /no schema kept for apps\/v1beta1 Deployment/);
    await refused({ ...one('Role'), kind: 'ClusterRole' }, /no schema kept for rbac.authorization.k8s.io\/v1 ClusterRole/);
  });

  it('reads int-or-string, quantities and list-map keys as the apiserver does', async () => {
    const pdb = one('PodDisruptionBudget');
    delete pdb.spec.minAvailable;
    for (const ok of [1, '50%']) await validateObject({ ...pdb, spec: { ...pdb.spec, maxUnavailable: ok } });
    await refused({ ...pdb, spec: { ...pdb.spec, maxUnavailable: true } }, /maxUnavailable must be integer,string/);
    const dep = one('Deployment');
    const resources = dep.spec.template.spec.containers[0].resources;
    resources.limits = { cpu: 1, memory: '64Mi' };
    await validateObject(dep);
    resources.limits.memory = 'lots';
    await refused(dep, /resources\/limits\/memory must match pattern/);
    const twins = one('Deployment');
    const containers = twins.spec.template.spec.containers;
    containers.push(copy(containers[0]));
    await refused(twins, /containers has two entries with the same name/);
  });

  it('refuses an HTTPRoute whose ExternalAuth filter is broken, and a custom resource with an unknown field', async () => {
    const route = one('HTTPRoute');
    const filter = route.spec.rules[0].filters[0];
    expect(filter.type).toBe('ExternalAuth');
    await validateObject(route);
    filter.externalAuth.protocol = 'FTP';
    await refused(route, /externalAuth\/protocol must be equal to one of the allowed values: \["HTTP","GRPC"\]/);
    delete filter.externalAuth.backendRef;
    await refused(route, /externalAuth must have required property 'backendRef'/);
    const typo = one('HTTPRoute');
    typo.spec.rules[0].filters[0].externalAuth.http.allowedHeader = ['Cookie'];
    await refused(typo, /http must NOT have additional properties: allowedHeader\b/);
    const mw = one('Middleware');
    mw.spec.forwardAuth.trustForwardHeaders = true;
    await refused(mw, /forwardAuth must NOT have additional properties: trustForwardHeaders/);
    const monitor = one('ServiceMonitor');
    monitor.spec.endpoints[0].scheme = 'gopher';
    await refused(monitor, /scheme must be equal to one of the allowed values/);
  });

  it("checks a render for the chart's oldest Kubernetes against that release's schemas", async () => {
    expect(KUBERNETES_VERSIONS[0]).toBe('1.24');
    // The PodDisruptionBudget's unhealthyPodEvictionPolicy came with 1.27: the chart sets it only there.
    const newest = one('PodDisruptionBudget');
    expect(newest.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    await validateObject(newest);
    await expect(validateObject(newest, { kubernetes: '1.24' })).rejects.toThrow(/\/spec must NOT have additional properties: unhealthyPodEvictionPolicy/);
    for (const obj of renderChart(['--kube-version', '1.24.0', ...EVERYTHING])) await validateObject(obj, { kubernetes: '1.24' });
  });
});
