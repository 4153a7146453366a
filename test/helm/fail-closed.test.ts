import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { expect, it } from 'vitest';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, renderNotes, TEST_IMAGE, type Untyped } from '../helpers/helm.js';
import { validateObject } from '../helpers/k8s-schema.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools } from '../helpers/tools.js';

type Obj = K8sObject & Record<string, Untyped>;
const kinds = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind) as Obj[];
const container = (objs: K8sObject[]) => kinds(objs, 'Deployment')[0]!.spec.template.spec.containers[0];
/** helm template's error text, or '' when it rendered. */
const refusal = (args: string[]) => {
  const r = helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...args]);
  return r.status === 0 ? '' : r.stderr;
};

describeWithTools('the chart never starts airy-auth with authentication off by accident (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  it('passes --require-auth to serve, and keeps security.allowUnauthenticated out of the ConfigMap', () => {
    const objs = renderChart(['--set', 'security.allowedOrigins=https://a.example.com']);
    expect(container(objs).args).toContain('--require-auth');
    expect(kinds(objs, 'ConfigMap')[0]!.data).toEqual({ allowedOrigins: 'https://a.example.com' });
    const off = renderChart(['--set', 'security.allowUnauthenticated=true', '--set', 'security.allowedOrigins=https://a.example.com']);
    expect(container(off).args).not.toContain('--require-auth');
    expect(kinds(off, 'ConfigMap')[0]!.data).toEqual({ allowedOrigins: 'https://a.example.com' });
    // The sidecar snippet is the same container.
    expect(renderNotes(['--set', 'sidecar.enabled=true'])).toContain('- --require-auth');
  });

  it('refuses secret.generate=false without secrets (it rendered an empty Secret), naming what to set', () => {
    const msg = refusal(['--set', 'secret.generate=false']);
    expect(msg).toContain('secret.generate=false and no jwtSecret in values or in the Secret airy-auth');
    expect(msg).toContain('would start with authentication OFF');
    expect(msg).toMatch(/Set security.jwtSecret and security.systemToken, or secret.generate=true, or secret.existingSecret=NAME/);
    expect(msg).toContain('security.allowUnauthenticated=true');
    expect(refusal(['--set', 'secret.generate=false', '--set', 'security.jwtSecret=abc'])).toContain('no systemToken');
    // With OIDC, the jwtSecret alone turns authentication on.
    expect(refusal(['--set', 'secret.generate=false', '--set', 'security.jwtSecret=abc', '--set', 'security.oidc.provider=github'])).toBe('');
    expect(refusal(['--set', 'secret.generate=false', '--set', 'security.jwtSecret=abc', '--set', 'security.systemToken=def'])).toBe('');
    const meant = renderChart(['--set', 'secret.generate=false', '--set', 'security.allowUnauthenticated=true']);
    expect(kinds(meant, 'Secret')[0]!.data).toBeNull();
  });

  it('refuses secret.create=false without existingSecret: the secrets given in values would be dropped silently', () => {
    const msg = refusal(['--set', 'secret.create=false', '--set', 'security.systemToken=abcdefabcdefabcdef', '--set', 'security.jwtSecret=xyz']);
    expect(msg).toContain(
      'secret.create=false without secret.existingSecret: the systemToken, jwtSecret and oidc.clientSecret given in security.* would be dropped',
    );
    expect(msg).toContain('set secret.existingSecret=NAME, or set secret.create=true');
    expect(refusal(['--set', 'secret.create=false'])).toMatch(/no Secret gives airy-auth a jwtSecret.*kubectl -n airy create secret generic NAME/);
    // A ConfigMap of one's own may hold anything: --require-auth judges it at runtime.
    expect(refusal(['--set', 'secret.create=false', '--set', 'config.existingConfigMap=mine'])).toBe('');
  });

  it('GitOps: with existingSecret the rendered chart carries no secret at all, and NOTES say how to create it', () => {
    const values = ['--set', 'secret.existingSecret=airy-secrets', '--set', 'security.oidc.provider=github', '--set', 'security.oidc.clientId=gh'];
    const text = helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...values]).stdout;
    const objs = (yaml.loadAll(text) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
    expect(kinds(objs, 'Secret')).toEqual([]);
    // No secret value anywhere: no generated string, no base64 data, no secret key in the ConfigMap.
    expect(text).not.toMatch(/^\s*(data|stringData):\s*\n\s+(jwtSecret|systemToken|oidc\.clientSecret):/m);
    expect(Object.keys(kinds(objs, 'ConfigMap')[0]!.data)).toEqual(['oidc.clientId', 'oidc.provider']);
    expect(container(objs).args).toEqual(expect.arrayContaining(['--secret', 'airy/airy-secrets', '--require-auth']));
    // Two renders are the same: nothing random, so a GitOps sync changes nothing.
    expect(helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...values]).stdout).toBe(text);
    const notes = renderNotes(values);
    expect(notes).toContain('the chart renders no Secret; airy-auth reads airy-secrets, which you manage');
    expect(notes).toContain('kubectl -n airy create secret generic airy-secrets');
    // The generated-secret install warns that helm template regenerates them.
    expect(renderNotes()).toMatch(/`helm template` \(and Argo CD, which renders with it\) cannot look it up and makes\nnew ones on every render/);
  });

  it('never falls back to the default ServiceAccount', () => {
    expect(refusal(['--set', 'serviceAccount.create=false'])).toContain(
      "serviceAccount.create=false needs serviceAccount.name: the pods would run as the namespace's `default` ServiceAccount",
    );
    const named = renderChart(['--set', 'serviceAccount.create=false', '--set', 'serviceAccount.name=airy']);
    expect(kinds(named, 'Deployment')[0]!.spec.template.spec.serviceAccountName).toBe('airy');
    expect(kinds(named, 'RoleBinding')[0]!.subjects[0].name).toBe('airy');
  });

  it('pulls by image.digest when set', async () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(container(renderChart(['--set', `image.digest=${digest}`, '--set', 'image.tag=moved'])).image).toBe(`registry.example.com/airy-auth@${digest}`);
    expect(refusal(['--set', 'image.digest=latest'])).toMatch(/image.digest: does not match pattern/i);
  });

  it('has a PodDisruptionBudget that lets a node drain even at one replica', async () => {
    const scaled = renderChart(['--set', 'autoscaling.enabled=true', '--set', 'autoscaling.minReplicas=1']);
    const pdb = kinds(scaled, 'PodDisruptionBudget')[0]!;
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    await validateObject(pdb);
    // minAvailable at or above the replicas would block every drain: refused.
    expect(refusal(['--set', 'autoscaling.enabled=true', '--set', 'autoscaling.minReplicas=1', '--set', 'podDisruptionBudget.minAvailable=1'])).toContain(
      'would block every node drain',
    );
    expect(refusal(['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=2'])).toBe('');
    // Pods stalled by --require-auth are not ready: they never hold a drain up where the field exists.
    expect(kinds(renderChart(['--kube-version', '1.29.0']), 'PodDisruptionBudget')[0]!.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    expect(kinds(renderChart(['--kube-version', '1.24.0']), 'PodDisruptionBudget')[0]!.spec.unhealthyPodEvictionPolicy).toBeUndefined();
  });

  it("labels the manifests' namespace for the restricted Pod Security Standard, which the pod meets", () => {
    const ns = yaml.load(readFileSync(join(REPO_ROOT, 'manifests', 'namespace.yaml'), 'utf8')) as Obj;
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' });
    const manifests = (yaml.loadAll(readFileSync(join(REPO_ROOT, 'manifests', 'airy-auth.yaml'), 'utf8')) as Obj[]).filter(Boolean);
    const pod = manifests.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    // What "restricted" asks of every container and the pod (kubernetes.io/docs/concepts/security/pod-security-standards).
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
    }
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.volumes ?? []).toEqual([]);
  });
});
