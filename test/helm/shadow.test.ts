import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { compileConfigMapData } from '../../src/config/load.js';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, TEST_IMAGE, type Untyped } from '../helpers/helm.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';

const args = (o: K8sObject[]) => (o.find((x) => x.kind === 'Deployment') as Untyped).spec.template.spec.containers[0].args as string[];
const named = (o: K8sObject[], kind: string, name: string) => o.find((x) => x.kind === kind && x.metadata.name === name) as Untyped;
const decoded = (secret: Untyped) =>
  Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

const CANDIDATE = 'security:\n  allowedGroups: "admins"\n  policies:\n    grafana: { allowedGroups: "sre" }\n';
const WITH_SECRET = 'security:\n  allowedGroups: "admins"\n  oidc:\n    provider: google\n    clientId: airy\n    clientSecret: "shadow-client-secret-1234"\n';

/** `helm template` output as text, for byte comparisons. */
function renderText(chart: string, more: string[] = []): string {
  const r = helm(['template', 'airy-auth', chart, '--namespace', 'airy', ...TEST_IMAGE, '--set', 'secret.generate=false', ...more]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}

/** A copy of the chart with everything the shadow added taken out: the chart as it was before it. */
function chartWithoutShadow(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airy-chart-noshadow-'));
  const copy = join(dir, 'airy-auth');
  cpSync(CHART, copy, { recursive: true });
  rmSync(join(copy, 'templates', 'shadow.yaml'));
  rmSync(join(copy, 'templates', '_shadow.tpl'));
  const helpers = join(copy, 'templates', '_helpers.tpl');
  const hook = '  {{- with (include "airy-auth.shadowArgs" .) }}\n  {{- . | nindent 2 }}\n  {{- end }}\n';
  const text = readFileSync(helpers, 'utf8');
  expect(text).toContain(hook);
  writeFileSync(helpers, text.replace(hook, ''));
  const values = join(copy, 'values.yaml');
  const valuesText = readFileSync(values, 'utf8');
  const block = /\nshadow:\n(?: {2}.*\n)+\n/.exec(valuesText);
  expect(block).not.toBeNull();
  writeFileSync(values, valuesText.replace(block![0], '\n'));
  const schema = join(copy, 'values.schema.json');
  const parsed = JSON.parse(readFileSync(schema, 'utf8')) as { properties: Record<string, unknown> };
  delete parsed.properties.shadow;
  writeFileSync(schema, JSON.stringify(parsed));
  return copy;
}

describeWithTools('chart: shadow configuration', { helm: ensureHelm() !== undefined }, () => {
  it('while off renders byte for byte what the chart rendered without the shadow, whatever shadow.airyYaml holds', () => {
    const before = chartWithoutShadow();
    const secrets = ['--set', 'security.jwtSecret=live-jwt-secret-0123456789abcdef', '--set', 'security.systemToken=live-system-token-0123456789'];
    for (const more of [[], ['--set', 'revocations.enabled=true'], ['--set', 'sidecar.enabled=true'], ['--set', 'ingress.enabled=true']]) {
      const now = renderText(CHART, [...secrets, ...more]);
      expect(now).toBe(renderText(before, [...secrets, ...more]));
      expect(renderText(CHART, [...secrets, ...more, '--set-string', `shadow.airyYaml=${CANDIDATE}`])).toBe(now);
      expect(now).not.toMatch(/shadow/i);
    }
  });

  it('on: a ConfigMap with the candidate, the flags, and a Role that reads only that ConfigMap; the shadow reads the live Secret', () => {
    const objects = renderChart(['--set', 'shadow.enabled=true', '--set-string', `shadow.airyYaml=${CANDIDATE}`]);
    const cm = named(objects, 'ConfigMap', 'airy-auth-shadow');
    expect(cm.data).toEqual({ 'airy.yaml': CANDIDATE });
    const a = args(objects);
    expect(a.slice(a.indexOf('--shadow-configmap'), a.indexOf('--shadow-configmap') + 4)).toEqual([
      '--shadow-configmap',
      'airy/airy-auth-shadow',
      '--shadow-secret',
      'airy/airy-auth',
    ]);
    expect(objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'airy-auth-shadow')).toBe(false);
    expect(named(objects, 'Role', 'airy-auth-shadow').rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['airy-auth-shadow'], verbs: ['get', 'list', 'watch'] },
    ]);
    const binding = named(objects, 'RoleBinding', 'airy-auth-shadow');
    expect(binding.roleRef.name).toBe('airy-auth-shadow');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'airy-auth', namespace: 'airy' }]);
    // What airy-auth reads from it: the candidate's rules over the live Secret's keys.
    const compiled = compileConfigMapData(
      cm.data,
      { jwtSecret: TEST_JWT_SECRET, systemToken: TEST_SYSTEM_TOKEN },
      {
        configMap: 'airy/airy-auth-shadow',
      },
    );
    expect(compiled.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const policy = compiled.policy!;
    expect([...policy.groups!]).toEqual(['admins']);
    expect(policy.routeRules.resolve('policy=grafana')).not.toHaveProperty('problem');
  });

  it("keeps the candidate's secrets out of its ConfigMap: they go into a Secret of the shadow's own, over the live secrets given in values", () => {
    const objects = renderChart([
      '--set',
      'shadow.enabled=true',
      '--set-string',
      `shadow.airyYaml=${WITH_SECRET}`,
      '--set',
      'secret.generate=false',
      '--set',
      'security.jwtSecret=live-jwt-secret-0123456789abcdef',
      '--set',
      'security.systemToken=live-system-token-0123456789',
    ]);
    const cm = named(objects, 'ConfigMap', 'airy-auth-shadow');
    expect(JSON.stringify(cm)).not.toContain('shadow-client-secret-1234');
    expect(cm.data['airy.yaml']).toContain('allowedGroups: admins');
    expect(decoded(named(objects, 'Secret', 'airy-auth-shadow'))).toEqual({
      'oidc.clientSecret': 'shadow-client-secret-1234',
      jwtSecret: 'live-jwt-secret-0123456789abcdef',
      systemToken: 'live-system-token-0123456789',
    });
    const a = args(objects);
    expect(a[a.indexOf('--shadow-secret') + 1]).toBe('airy/airy-auth-shadow');
    expect(named(objects, 'Role', 'airy-auth-shadow').rules).toContainEqual({
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['airy-auth-shadow'],
      verbs: ['get', 'list', 'watch'],
    });
    // The live Role is unchanged: it reads the live ConfigMap and Secret only.
    for (const rule of named(objects, 'Role', 'airy-auth').rules as { resourceNames?: string[] }[])
      expect(rule.resourceNames ?? []).not.toContain('airy-auth-shadow');
  });

  it('refuses shadow.enabled without a candidate, a candidate without a security section, and unknown shadow keys', () => {
    const fail = (more: string[]) => helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...more]);
    expect(fail(['--set', 'shadow.enabled=true']).stderr).toContain('shadow.enabled=true needs shadow.airyYaml');
    expect(fail(['--set', 'shadow.enabled=true', '--set-string', 'shadow.airyYaml=other: 1']).stderr).toContain('shadow.airyYaml has no security: section');
    const unknown = fail(['--set', 'shadow.configMap=x']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('configMap');
  });
});
