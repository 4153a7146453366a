import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { chartReadme, documentedValues } from '../../scripts/chart-readme.mjs';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, renderNotes, type Untyped } from '../helpers/helm.js';
import { validateObject } from '../helpers/k8s-schema.js';
import { describeWithTools } from '../helpers/tools.js';

const one = (objs: K8sObject[], kind: string) => {
  const found = objs.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]! as K8sObject & Record<string, Untyped>;
};

/** The values real installs need, each set, through --set-json so lists and maps keep their shape. */
const OPERATOR_VALUES: Record<string, unknown> = {
  podLabels: { team: 'platform' },
  podAnnotations: { 'example.com/owner': 'platform' },
  priorityClassName: 'system-cluster-critical',
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
  extraArgs: ['--log-requests', 'all'],
  extraEnv: [{ name: 'HTTPS_PROXY', value: 'http://proxy.example.com:3128' }],
  envFrom: [{ secretRef: { name: 'proxy-settings' } }],
  extraVolumes: [{ name: 'ca', configMap: { name: 'corporate-ca' } }],
  extraVolumeMounts: [{ name: 'ca', mountPath: '/etc/corporate-ca', readOnly: true }],
  securityContext: { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  podSecurityContext: { runAsNonRoot: true, fsGroup: 10001 },
  livenessProbe: { periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 5 },
  readinessProbe: { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2, initialDelaySeconds: 1 },
  service: { type: 'ClusterIP', annotations: { 'service.example.com/internal': 'true' } },
  ingress: {
    enabled: true,
    className: 'traefik',
    host: 'app.example.com',
    extraHosts: ['admin.example.com'],
    tls: [{ hosts: ['app.example.com', 'admin.example.com'], secretName: 'wildcard-tls' }],
    annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
  },
  serviceMonitor: {
    enabled: true,
    scheme: 'https',
    tlsConfig: { insecureSkipVerify: false, serverName: 'airy-auth' },
    relabelings: [{ targetLabel: 'team', replacement: 'platform' }],
    metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'nodejs_.*', action: 'drop' }],
  },
  logging: { requests: 'all', level: 'debug', requestIdHeader: 'X-Correlation-ID' },
  security: { sessionTtl: '12h', skipPreflight: 'true', allowedEmailPatterns: '*@example.com', allowedOrigins: 'https://app.example.com' },
  extraObjects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '{{ .Release.Name }}-extra' }, data: { a: 'b' } }],
};

const setJson = Object.entries(OPERATOR_VALUES).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);

describeWithTools('chart values for real clusters (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  it('renders every operator value where it belongs, and every object is schema-valid', async () => {
    const objs = renderChart(['--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor', ...setJson]);
    for (const o of objs) await validateObject(o);
    const dep = one(objs, 'Deployment');
    const pod = dep.spec.template;
    expect(pod.metadata.labels.team).toBe('platform');
    expect(pod.metadata.annotations['example.com/owner']).toBe('platform');
    expect(pod.spec.priorityClassName).toBe('system-cluster-critical');
    expect(pod.spec.topologySpreadConstraints).toEqual(OPERATOR_VALUES.topologySpreadConstraints);
    expect(pod.spec.volumes).toEqual(OPERATOR_VALUES.extraVolumes);
    expect(pod.spec.securityContext).toMatchObject(OPERATOR_VALUES.podSecurityContext as object);
    const c = pod.spec.containers[0];
    expect(c.args.slice(-2)).toEqual(['--log-requests', 'all']);
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'AIRY_AUTH_LOG_REQUESTS', value: 'all' },
        { name: 'AIRY_AUTH_LOG_LEVEL', value: 'debug' },
        { name: 'AIRY_AUTH_REQUEST_ID_HEADER', value: 'X-Correlation-ID' },
        { name: 'HTTPS_PROXY', value: 'http://proxy.example.com:3128' },
      ]),
    );
    expect(c.envFrom).toEqual(OPERATOR_VALUES.envFrom);
    expect(c.volumeMounts).toEqual(OPERATOR_VALUES.extraVolumeMounts);
    expect(c.securityContext).toMatchObject(OPERATOR_VALUES.securityContext as object);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' }, periodSeconds: 20, failureThreshold: 5 });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' }, periodSeconds: 5, initialDelaySeconds: 1 });
    expect(one(objs, 'Service').metadata.annotations).toEqual({ 'service.example.com/internal': 'true' });
    const ing = one(objs, 'Ingress');
    expect(ing.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(ing.spec.ingressClassName).toBe('traefik');
    expect(ing.spec.rules.map((r: { host: string }) => r.host)).toEqual(['app.example.com', 'admin.example.com']);
    expect(ing.spec.tls).toEqual(OPERATOR_VALUES.ingress && (OPERATOR_VALUES.ingress as { tls: unknown }).tls);
    const sm = one(objs, 'ServiceMonitor').spec.endpoints[0];
    expect(sm).toMatchObject({
      scheme: 'https',
      tlsConfig: { serverName: 'airy-auth' },
      relabelings: [{ targetLabel: 'team' }],
      metricRelabelings: [{ action: 'drop' }],
    });
    const cms = objs.filter((o) => o.kind === 'ConfigMap');
    expect(cms.map((o) => o.metadata.name).sort()).toEqual(['airy-auth', 'airy-auth-extra']);
    // The flat keys the docs list, where they work: sessionTtl is an OIDC key, written as oidc.sessionTtl.
    expect(cms.find((o) => o.metadata.name === 'airy-auth')!.data).toEqual({
      allowedOrigins: 'https://app.example.com',
      skipPreflight: 'true',
      'oidc.sessionTtl': '12h',
      'oidc.allowedEmailPatterns': '*@example.com',
    });
  });

  it('fails to render without image.repository, naming the value and how to build the image', () => {
    const r = helm(['template', 'airy-auth', CHART]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('image.repository is not set. No airy-auth image is published yet');
    expect(r.stderr).toContain('docker build');
  });

  it('with config.existingConfigMap, watches that ConfigMap, grants RBAC on it, and renders none of its own; NOTES say where live edits go', () => {
    const objs = renderChart(['--set', 'config.existingConfigMap=team-security']);
    expect(objs.filter((o) => o.kind === 'ConfigMap')).toHaveLength(0);
    const c = one(objs, 'Deployment').spec.template.spec.containers[0];
    expect(c.args).toEqual(expect.arrayContaining(['--configmap', 'airy/team-security']));
    expect(one(objs, 'Role').rules[0].resourceNames).toEqual(['team-security']);
    expect(renderNotes(['--set', 'config.existingConfigMap=team-security'])).toContain('kubectl -n airy edit configmap team-security');
    expect(renderNotes()).toContain('helm upgrade');
  });

  it('rejects mistyped and wrongly typed operator values', () => {
    for (const set of ['podLabelz.a=b', 'ingress.tls=notalist', 'logging.requests=some', 'livenessProbe.periodSecond=3', 'serviceMonitor.scheme=ftp']) {
      const r = helm(['template', 'x', CHART, '--set', 'image.repository=r/a', '--set', set]);
      expect(r.status, set).not.toBe(0);
    }
  });
});

it('the chart README is generated from the "# --" comments of values.yaml and is current (npm run docs)', () => {
  const chartYaml = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
  const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  expect(readFileSync(join(CHART, 'README.md'), 'utf8')).toBe(chartReadme(chartYaml, values));
  const keys = documentedValues(values).map((r) => r.key);
  for (const key of ['podLabels', 'extraObjects', 'ingress.tls', 'serviceMonitor.metricRelabelings', 'config.existingConfigMap', 'logging.requests']) {
    expect(keys).toContain(key);
  }
});
