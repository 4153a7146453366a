import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { expect, it } from 'vitest';
import { MANIFEST_ARGS, MANIFEST_HEADER } from '../../scripts/manifest-args.mjs';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, renderNotes, TEST_IMAGE, type Untyped } from '../helpers/helm.js';
import { validateObject } from '../helpers/k8s-schema.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools } from '../helpers/tools.js';

const VARIANTS: Record<string, string[]> = {
  default: [],
  'OIDC with GitHub': [
    '--set',
    'security.oidc.provider=github',
    '--set',
    'security.oidc.clientId=gh-client',
    '--set',
    'security.oidc.clientSecret=gh-secret',
    '--set-string',
    'security.oidc.allowedEmailPatterns=*@example.com',
    '--set',
    'security.allowedOrigins=https://app.example.com',
    '--set',
    'ingress.enabled=true',
    '--set',
    'ingress.host=app.example.com',
    '--set',
    'ingress.tlsSecretName=app-tls',
  ],
  'external Secret': ['--set', 'secret.existingSecret=my-airy-secrets'],
  sidecar: ['--set', 'sidecar.enabled=true'],
  'ServiceMonitor + HPA + NetworkPolicy': [
    '--api-versions',
    'monitoring.coreos.com/v1/ServiceMonitor',
    '--set',
    'serviceMonitor.enabled=true',
    '--set',
    'serviceMonitor.labels.release=prometheus',
    '--set',
    'autoscaling.enabled=true',
    '--set',
    'networkPolicy.enabled=true',
  ],
  'whole airy.yaml': ['--set-string', 'airyYaml=security:\n  allowedOrigins: "https://app.example.com"\n'],
  'every gateway': [
    ...['traefik.io/v1alpha1/Middleware', 'gateway.envoyproxy.io/v1alpha1/SecurityPolicy', 'security.istio.io/v1/AuthorizationPolicy'].flatMap((v) => [
      '--api-versions',
      v,
    ]),
    '--api-versions',
    'gateway.networking.k8s.io/v1/HTTPRoute',
    '--set',
    'gateways.traefik.enabled=true',
    '--set',
    'gateways.envoyGateway.enabled=true',
    '--set',
    'gateways.envoyGateway.targetRoutes={app,api}',
    '--set',
    'gateways.istio.enabled=true',
    '--set',
    'gateways.istio.selector.app=inbox',
    '--set',
    'gateways.gatewayApi.enabled=true',
    '--set',
    'gateways.gatewayApi.parentRef.namespace=gateways',
  ],
};

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: K8sObject[], kind: string) => {
  const found = byKind(objs, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]! as K8sObject & Record<string, Untyped>;
};

describeWithTools('Helm chart (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  it('passes helm lint, with default and every variant', () => {
    for (const [name, args] of Object.entries(VARIANTS)) {
      // helm lint has no --api-versions: it checks those variants with the CRD objects skipped.
      const lintArgs = args.filter((a, i) => a !== '--api-versions' && args[i - 1] !== '--api-versions');
      const r = helm(['lint', CHART, '--strict', ...TEST_IMAGE, ...lintArgs, ...(lintArgs.length < args.length ? ['--set', 'missingCrds=skip'] : [])]);
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it.each(Object.keys(VARIANTS))('renders only schema-valid Kubernetes objects: %s', async (name) => {
    const objs = renderChart(VARIANTS[name]);
    expect(objs.length).toBeGreaterThan(3);
    for (const obj of objs) await validateObject(obj);
  });

  it('runs non-root, read-only, without capabilities, probed on /healthz and /readyz, with a grace period covering the drain', () => {
    const dep = one(renderChart(), 'Deployment');
    expect(dep.spec.replicas).toBe(2);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.requests).toBeDefined();
    const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    expect(Number(pod.terminationGracePeriodSeconds)).toBeGreaterThan(Number(arg('--shutdown-delay-seconds')) + Number(arg('--drain-seconds')));
    expect(c.args.slice(0, 5)).toEqual(['serve', '--configmap', 'airy/airy-auth', '--secret', 'airy/airy-auth']);
    // The ConfigMap is hot-reloaded: no checksum annotation may restart the pods when it changes.
    expect(JSON.stringify(dep.spec.template.metadata)).not.toMatch(/checksum/i);
  });

  it('grants get/list/watch on its own ConfigMap and Secret only (by resourceNames), plus create on events', () => {
    const role = one(renderChart(), 'Role');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['airy-auth'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['airy-auth'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    const ext = one(renderChart(VARIANTS['external Secret']), 'Role');
    expect(ext.rules[1].resourceNames).toEqual(['my-airy-secrets']);
    expect(byKind(renderChart(VARIANTS['external Secret']), 'Secret')).toHaveLength(0);
  });

  it('generates a 128-character jwtSecret and a systemToken, never a placeholder, and keeps secrets out of the ConfigMap', () => {
    const objs = renderChart(VARIANTS['OIDC with GitHub']);
    const secret = one(objs, 'Secret');
    const jwt = Buffer.from(secret.data.jwtSecret, 'base64').toString();
    expect(jwt).toMatch(/^[A-Za-z0-9]{128}$/);
    expect(Buffer.from(secret.data.systemToken, 'base64').toString()).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(Buffer.from(secret.data['oidc.clientSecret'], 'base64').toString()).toBe('gh-secret');
    expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const again = one(renderChart(VARIANTS['OIDC with GitHub']), 'Secret');
    expect(again.data.jwtSecret).not.toBe(secret.data.jwtSecret); // random per render, kept by lookup in a cluster
    const cm = one(objs, 'ConfigMap');
    expect(cm.data).toEqual({
      allowedOrigins: 'https://app.example.com',
      'oidc.provider': 'github',
      'oidc.clientId': 'gh-client',
      'oidc.allowedEmailPatterns': '*@example.com',
    });
    const given = one(renderChart(['--set', 'security.jwtSecret=given-secret-value']), 'Secret');
    expect(Buffer.from(given.data.jwtSecret, 'base64').toString()).toBe('given-secret-value');
  });

  it('renders the login Ingress for /login, /oauth2, /logout and /.well-known/jwks.json when asked', () => {
    const ing = one(renderChart(VARIANTS['OIDC with GitHub']), 'Ingress');
    expect(ing.spec.rules[0].host).toBe('app.example.com');
    expect(ing.spec.rules[0].http.paths.map((p: { path: string }) => p.path)).toEqual(['/login', '/oauth2', '/logout', '/.well-known/jwks.json']);
    // ingress-nginx's strict path validation refuses a dot in an Exact or Prefix path, and with it the whole Ingress.
    for (const p of ing.spec.rules[0].http.paths as { path: string; pathType: string }[]) {
      if (p.pathType !== 'ImplementationSpecific') expect(p.path, p.pathType).toMatch(/^\/[A-Za-z0-9/_-]*$/);
    }
  });

  it('sidecar mode renders no Deployment or Service, binds RBAC to the controller, and NOTES print the container and a 127.0.0.1 auth-url', () => {
    const objs = renderChart(VARIANTS.sidecar);
    expect(byKind(objs, 'Deployment')).toHaveLength(0);
    expect(byKind(objs, 'Service')).toHaveLength(0);
    expect(one(objs, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'ingress-nginx', namespace: 'ingress-nginx' }]);
    const notes = renderNotes(VARIANTS.sidecar);
    expect(notes).toContain('nginx.ingress.kubernetes.io/auth-url: "http://127.0.0.1:8080/auth"');
    const container = yaml.load(notes.slice(notes.indexOf('      name: airy-auth'), notes.indexOf('3. The systemToken')).replace(/^ {6}/gm, '')) as {
      args: string[];
      name: string;
    };
    expect(container.name).toBe('airy-auth');
    expect(container.args).toEqual(expect.arrayContaining(['--host', '127.0.0.1', '--configmap', 'airy/airy-auth']));
  });

  it('renders HPA, ServiceMonitor and NetworkPolicy when enabled', () => {
    const objs = renderChart(VARIANTS['ServiceMonitor + HPA + NetworkPolicy']);
    expect(one(objs, 'ServiceMonitor').spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scheme: 'http' }]);
    expect(one(objs, 'ServiceMonitor').metadata.labels!.release).toBe('prometheus');
    expect(one(objs, 'HorizontalPodAutoscaler').spec.maxReplicas).toBe(10);
    expect(one(objs, 'Deployment').spec.replicas).toBeUndefined();
    expect(one(objs, 'NetworkPolicy').spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it("renders each gateway's manifest with the headers airy-auth needs and the login routes left open", () => {
    const objs = renderChart(VARIANTS['every gateway']);
    expect(one(objs, 'Middleware').spec.forwardAuth).toEqual({
      address: 'http://airy-auth.airy.svc.cluster.local:8080/forward-auth',
      trustForwardHeader: false,
      authResponseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', 'X-Auth-Request-Jwt'],
    });
    const sp = one(objs, 'SecurityPolicy').spec;
    expect(sp.targetRefs.map((t: { name: string }) => t.name)).toEqual(['app', 'api']);
    expect(sp.extAuth).toMatchObject({
      failOpen: false,
      http: { path: '/envoy', headersToBackend: ['x-auth-request-user', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-jwt'] },
    });
    expect(sp.extAuth.headersToExtAuth).toEqual(expect.arrayContaining(['authorization', 'cookie', 'origin']));
    const ap = one(objs, 'AuthorizationPolicy').spec;
    expect(ap).toMatchObject({ action: 'CUSTOM', provider: { name: 'airy-auth' }, selector: { matchLabels: { app: 'inbox' } } });
    expect(ap.rules[0].to[0].operation.notPaths).toEqual(['/login', '/login/*', '/oauth2/*', '/logout', '/.well-known/jwks.json']);
    const routes = byKind(objs, 'HTTPRoute') as (K8sObject & { spec: Untyped })[];
    expect(routes.map((r) => r.metadata.name)).toEqual(['airy-auth-app', 'airy-auth-login']);
    expect(routes[0]!.spec.rules[0].filters[0].externalAuth.http.path).toBe('/gateway-api');
    expect(routes[1]!.spec.rules[0].filters).toBeUndefined();
    const notes = renderNotes(VARIANTS['every gateway']);
    const provider = yaml.load(notes.slice(notes.indexOf('    - name: airy-auth'), notes.indexOf('Traefik: attach')).replace(/^ {4}/gm, '')) as {
      envoyExtAuthzHttp: Record<string, unknown>;
    }[];
    expect(provider[0]!.envoyExtAuthzHttp).toMatchObject({
      service: 'airy-auth.airy.svc.cluster.local',
      port: 8080,
      pathPrefix: '/envoy',
      headersToUpstreamOnAllow: ['x-auth-request-user', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-jwt'],
    });
    expect(notes).toContain('traefik.ingress.kubernetes.io/router.middlewares: airy-airy-auth@kubernetescrd');
  });

  it('renders the policy form of each gateway when a named policy is chosen', () => {
    const args = [
      ...VARIANTS['every gateway']!,
      '--set',
      'gateways.envoyGateway.policy=support',
      '--set',
      'gateways.istio.policy=sre',
      '--set',
      'gateways.gatewayApi.policy=admins',
    ];
    const objs = renderChart(args);
    expect(one(objs, 'SecurityPolicy').spec.extAuth.http.path).toBe('/envoy-policy/support');
    const routes = byKind(objs, 'HTTPRoute') as (K8sObject & { spec: Untyped })[];
    expect(routes[0]!.spec.rules[0].filters[0].externalAuth.http.path).toBe('/gateway-api-policy/admins');
    expect(renderNotes(args)).toContain('pathPrefix: /envoy-policy/sre');
    expect(helm(['template', 'x', CHART, ...TEST_IMAGE, '--set', 'gateways.istio.policy=Not A Name']).status).not.toBe(0);
  });

  it('the schema check is real: a broken ExternalAuth filter or Middleware is refused', async () => {
    const objs = renderChart(VARIANTS['every gateway']);
    const route = JSON.parse(JSON.stringify(byKind(objs, 'HTTPRoute')[0])) as K8sObject & { spec: Untyped };
    delete route.spec.rules[0].filters[0].externalAuth.backendRef;
    await expect(validateObject(route)).rejects.toThrow(/backendRef/);
    const mw = JSON.parse(JSON.stringify(one(objs, 'Middleware'))) as K8sObject & { spec: Untyped };
    mw.spec.forwardAuth.trustForwardHeader = 'no';
    await expect(validateObject(mw)).rejects.toThrow(/trustForwardHeader/);
  });

  it.each([
    ['replicaCount=two', /replicaCount/],
    ['port=http', /port/],
    ['serviceMonitor.enabled=yes-please', /serviceMonitor/],
    ['security.systemTokn=abc', /systemTokn|additional/i],
    ['security.oidc.clientAuthenticationMethod=header', /clientAuthenticationMethod/],
    ['image.pullPolicy=Sometimes', /pullPolicy/],
  ])('values.schema.json rejects --set-string %s', (set, message) => {
    const r = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', set]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('NOTES send the browser to the one login host when publicUrl names it', () => {
    expect(renderNotes()).toContain('nginx.ingress.kubernetes.io/auth-signin: "https://$host/login"');
    expect(renderNotes(['--set', 'security.publicUrl=https://auth.example.com/'])).toContain(
      'nginx.ingress.kubernetes.io/auth-signin: "https://auth.example.com/login"',
    );
  });

  it('names the missing CRD and how to install it, instead of failing in the apiserver; missingCrds=skip leaves it out and NOTES say so', () => {
    for (const [value, gvk] of [
      ['serviceMonitor.enabled', 'monitoring.coreos.com/v1/ServiceMonitor'],
      ['gateways.traefik.enabled', 'traefik.io/v1alpha1/Middleware'],
      ['gateways.envoyGateway.enabled', 'gateway.envoyproxy.io/v1alpha1/SecurityPolicy'],
      ['gateways.istio.enabled', 'security.istio.io/v1/AuthorizationPolicy'],
      ['gateways.gatewayApi.enabled', 'gateway.networking.k8s.io/v1/HTTPRoute'],
    ]) {
      const r = helm(['template', 'airy-auth', CHART, ...TEST_IMAGE, '--set', `${value}=true`]);
      expect(r.status, value).not.toBe(0);
      expect(r.stderr).toContain(`${value} is set, but this cluster has no ${gvk}`);
      expect(r.stderr).toMatch(/Install it first: .+\. Or set missingCrds=skip/);
      const skipped = renderChart(['--set', `${value}=true`, '--set', 'missingCrds=skip']);
      expect(skipped.map((o) => `${o.apiVersion}/${o.kind}`)).not.toContain(gvk);
      expect(renderNotes(['--set', `${value}=true`, '--set', 'missingCrds=skip'])).toContain(`SKIPPED: ${value} asks for a ${gvk}`);
    }
  });

  it('renders no empty data in the ConfigMap, so a second apply changes nothing', () => {
    const cm = one(renderChart(), 'ConfigMap');
    expect('data' in cm).toBe(false);
    expect(one(renderChart(['--set', 'security.allowedOrigins=https://a.example.com']), 'ConfigMap').data).toEqual({ allowedOrigins: 'https://a.example.com' });
  });

  it('has a "# --" comment on every value in values.yaml (on the value or on an enclosing key)', () => {
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    const stack: { indent: number; documented: boolean }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z][\w]*):(.*)$/.exec(line);
      if (!m) return;
      const indent = m[1]!.length;
      while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
      let j = i - 1;
      let own = false;
      while (j >= 0 && /^\s*#/.test(lines[j]!)) own ||= /^\s*# --/.test(lines[j--]!);
      const documented = own || stack.some((s) => s.documented);
      const isLeaf = m[3]!.replace(/#.*/, '').trim() !== '';
      if (isLeaf && !documented) undocumented.push(`${i + 1}: ${line.trim()}`);
      stack.push({ indent, documented });
    });
    expect(undocumented).toEqual([]);
  });

  it('manifests/ is the default render with the Secret left to the user, and has not drifted', () => {
    const rendered = helm(['template', 'airy-auth', CHART, ...MANIFEST_ARGS]).stdout;
    const committed = readFileSync(join(REPO_ROOT, 'manifests', 'airy-auth.yaml'), 'utf8');
    expect(committed).toBe(`${MANIFEST_HEADER}${rendered}`);
  });
});
