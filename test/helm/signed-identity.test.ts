import { createPrivateKey } from 'node:crypto';
import { expect, it } from 'vitest';
import { compileConfigMapData } from '../../src/config/load.js';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, renderNotes, TEST_IMAGE, type Untyped } from '../helpers/helm.js';
import { TEST_SIGNING_KEY } from '../helpers/signing-keys.js';
import { describeWithTools } from '../helpers/tools.js';

const one = (objs: K8sObject[], kind: string) => objs.find((o) => o.kind === kind) as Untyped;
const ON = ['--set', 'security.signedIdentity=true', '--set', 'security.publicUrl=https://auth.example.com'];

/** The render's ConfigMap and Secret as airy-auth reads them. */
function served(objs: K8sObject[]) {
  const secret = Object.fromEntries(
    Object.entries(one(objs, 'Secret').data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  return { configMap: (one(objs, 'ConfigMap').data ?? {}) as Record<string, string>, secret };
}

describeWithTools('chart: the signing key of X-Auth-Request-Jwt', { helm: ensureHelm() !== undefined }, () => {
  it('generates an EC P-256 signingKey (SEC1 PEM, as genPrivateKey "ecdsa" writes) into the Secret, which airy-auth signs with', () => {
    const objs = renderChart(ON);
    const { configMap, secret } = served(objs);
    expect(secret.signingKey).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(createPrivateKey(secret.signingKey!).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(JSON.stringify(configMap)).not.toContain('PRIVATE KEY');
    expect(configMap.signedIdentity).toBe('true');
    const compiled = compileConfigMapData(configMap, secret, { configMap: 'airy/airy-auth', secret: 'airy/airy-auth' });
    expect(compiled.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(compiled.policy!.signedIdentity!.signer.issuer).toBe('https://auth.example.com');
    // Generated even with signedIdentity off, so turning it on later needs no new Secret.
    expect(served(renderChart()).secret.signingKey).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  it('a new key per render (helm template cannot look the Secret up; in a cluster lookup keeps it, test/kube/apply.test.ts); a given one is used as is', () => {
    expect(served(renderChart()).secret.signingKey).not.toBe(served(renderChart()).secret.signingKey);
    const given = served(renderChart([...ON, '--set-string', `security.signingKey=${TEST_SIGNING_KEY.pkcs8.replace(/[\\,=[\]{}.]/g, (c) => `\\${c}`)}`]));
    expect(given.secret.signingKey).toBe(TEST_SIGNING_KEY.pkcs8);
    expect(Object.keys(given.secret).sort()).toEqual(['jwtSecret', 'signingKey', 'systemToken']);
  });

  it('refuses to render signedIdentity without a key when it may not generate one', () => {
    const r = helm([
      'template',
      'x',
      CHART,
      ...TEST_IMAGE,
      ...ON,
      '--set',
      'secret.generate=false',
      '--set',
      'security.jwtSecret=j',
      '--set',
      'security.systemToken=t',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('signedIdentity is on, but secret.generate=false and no signingKey');
  });

  it('the schema takes signedIdentity (global and per policy) and refuses a value that is no boolean', () => {
    const policy = renderChart(['--set', 'security.policies.grafana.allowedGroups=sre', '--set', 'security.policies.grafana.signedIdentity=true']);
    expect(one(policy, 'ConfigMap').data['policies.grafana.signedIdentity']).toBe('true');
    const bad = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', 'security.signedIdentity=yes']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('signedIdentity');
  });

  it('with existingSecret renders no key, and NOTES say the Secret must hold signingKey; NOTES show how an app verifies the header', () => {
    const args = [...ON, '--set', 'secret.existingSecret=mine'];
    expect(renderChart(args).filter((o) => o.kind === 'Secret')).toEqual([]);
    const notes = renderNotes(args);
    expect(notes).toContain('Your Secret mine must hold signingKey');
    expect(notes).toContain("createRemoteJWKSet(new URL('http://airy-auth.airy.svc.cluster.local:8080/.well-known/jwks.json'))");
    expect(notes).toContain("issuer: 'https://auth.example.com'");
    expect(notes).toContain('X-Auth-Request-Groups,X-Auth-Request-Jwt"');
    expect(renderNotes(['--set', 'security.policies.a.signedIdentity=true', '--set', 'security.policies.a.allowedGroups=x'])).toContain('Signed identity');
    expect(renderNotes()).not.toContain('Signed identity');
    // Behind the chart's NetworkPolicy only the gateway reaches the Service: apps fetch the keys through the login host.
    const fenced = renderNotes([...ON, '--set', 'networkPolicy.enabled=true']);
    expect(fenced).toContain("createRemoteJWKSet(new URL('https://auth.example.com/.well-known/jwks.json'))");
  });

  it('routes /.well-known/jwks.json of the login host to airy-auth: Ingress, Gateway API login route, and left open under Istio', () => {
    const ingress = one(renderChart(['--set', 'ingress.enabled=true']), 'Ingress');
    expect(ingress.spec.rules[0].http.paths).toContainEqual(
      expect.objectContaining({
        path: '/.well-known/jwks.json',
        pathType: 'ImplementationSpecific',
        backend: { service: { name: 'airy-auth', port: { name: 'http' } } },
      }),
    );
    const routes = renderChart(['--api-versions', 'gateway.networking.k8s.io/v1/HTTPRoute', '--set', 'gateways.gatewayApi.enabled=true']).filter(
      (o) => o.kind === 'HTTPRoute',
    ) as Untyped[];
    const login = routes.find((r) => r.metadata.name === 'airy-auth-login');
    expect(login.spec.rules[0].matches).toContainEqual({ path: { type: 'Exact', value: '/.well-known/jwks.json' } });
  });
});
