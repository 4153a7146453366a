import { expect, it } from 'vitest';
import { ensureHelm, type K8sObject, renderChart, type Untyped } from '../helpers/helm.js';
import { describeWithTools } from '../helpers/tools.js';

const args = (o: K8sObject[]) => (o.find((x) => x.kind === 'Deployment') as Untyped).spec.template.spec.containers[0].args as string[];

describeWithTools('chart: revocations', { helm: ensureHelm() !== undefined }, () => {
  it('renders nothing for revocations, and no flag, while the feature is off', () => {
    const objects = renderChart();
    expect(objects.filter((o) => o.metadata.name.includes('revocations'))).toEqual([]);
    expect(args(objects)).not.toContain('--revocations');
    for (const role of objects.filter((o) => o.kind === 'Role') as Untyped[]) {
      for (const rule of role.rules) expect(rule.verbs).not.toContain('update');
    }
  });

  it('with revocations.enabled: a ConfigMap without data, the flag, and a Role that may update only that ConfigMap', () => {
    const objects = renderChart(['--set', 'revocations.enabled=true']);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'airy-auth-revocations') as Untyped;
    expect(cm).toBeDefined();
    // No data: an upgrade or a re-apply leaves the entries written since alone.
    expect(cm.data).toBeUndefined();
    expect(cm.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    const a = args(objects);
    expect(a[a.indexOf('--revocations') + 1]).toBe('airy/airy-auth-revocations');
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'airy-auth-revocations') as Untyped;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['airy-auth-revocations'], verbs: ['get', 'list', 'watch', 'update'] },
    ]);
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'airy-auth-revocations') as Untyped;
    expect(binding.roleRef.name).toBe('airy-auth-revocations');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'airy-auth', namespace: 'airy' }]);
    // Every other Role still may not write anything.
    for (const other of objects.filter((o) => o.kind === 'Role' && o !== role) as Untyped[]) {
      for (const rule of other.rules) expect(rule.verbs).not.toContain('update');
    }
  });

  it('takes another name for the list', () => {
    const objects = renderChart(['--set', 'revocations.enabled=true', '--set', 'revocations.name=cut-off']);
    expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cut-off')).toBe(true);
    expect(args(objects)).toContain('airy/cut-off');
  });
});

describeWithTools('chart: the back-channel logout route', { helm: ensureHelm() !== undefined }, () => {
  const ingressPaths = (o: K8sObject[]) => ((o.find((x) => x.kind === 'Ingress') as Untyped).spec.rules[0].http.paths as { path: string }[]).map((p) => p.path);
  it('the login Ingress routes /backchannel-logout to airy-auth only while the revocation list is on', () => {
    expect(ingressPaths(renderChart(['--set', 'ingress.enabled=true']))).toEqual(['/login', '/oauth2', '/logout', '/.well-known/jwks.json']);
    expect(ingressPaths(renderChart(['--set', 'ingress.enabled=true', '--set', 'revocations.enabled=true']))).toEqual([
      '/login',
      '/oauth2',
      '/logout',
      '/backchannel-logout',
      '/.well-known/jwks.json',
    ]);
  });
});
