import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { AUTH_ANNOTATIONS } from '../../src/migrate/auth-annotations.js';
import { migrate } from '../../src/migrate/migrate.js';
import type { K8sObject, Untyped } from '../helpers/helm.js';
import { validateObject } from '../helpers/k8s-schema.js';
import { CLI } from '../helpers/repo.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'ingresses.yaml');
const fixture = readFileSync(FIXTURE, 'utf8');
const CORS_FIXTURE = join(import.meta.dirname, 'fixtures', 'cors.yaml');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'migrate', ...args], { encoding: 'utf8' });
const docs = (text: string) => (yaml.loadAll(text) as K8sObject[]).filter(Boolean);

describe('airy-auth migrate', () => {
  it('has fixtures for every auth annotation ingress-nginx documents', () => {
    const both = fixture + readFileSync(CORS_FIXTURE, 'utf8');
    for (const name of Object.keys(AUTH_ANNOTATIONS)) expect(both, name).toContain(`nginx.ingress.kubernetes.io/${name}:`);
  });

  it.each(['traefik', 'gateway-api'] as const)('reports every annotation of every Ingress for %s; none is dropped silently', (target) => {
    const { report } = migrate(fixture, { target, gateway: 'public' });
    const annotated = [...fixture.matchAll(/^\s+(nginx\.ingress\.kubernetes\.io\/[a-z-]+):/gm)].map((m) => m[1]);
    expect(
      report
        .filter((l) => l.annotation !== '-')
        .map((l) => l.annotation)
        .sort(),
    ).toEqual(annotated.sort());
    expect(report.find((l) => l.annotation === '-')?.ingress).toBe('ConfigMap auth-headers');
    expect(report.find((l) => l.annotation.endsWith('proxy-body-size'))?.outcome).toBe('not-auth');
  });

  it('refuses by default when something cannot be translated, naming each annotation and what to do', () => {
    const r = run(FIXTURE, '--to', 'traefik');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    for (const name of ['auth-snippet', 'auth-proxy-set-headers', 'auth-type', 'auth-secret', 'auth-tls-secret', 'auth-tls-verify-client']) {
      expect(r.stderr).toMatch(new RegExp(`NOT TRANSLATED \\(action needed\\): shop/[a-z-]+: nginx.ingress.kubernetes.io/${name}: .{20,}`));
    }
    expect(r.stderr).toContain('pass --allow-partial');
  });

  it("translates to Traefik: a ForwardAuth Middleware to airy-auth's /forward-auth, and the Ingress attached to it; all schema-valid", async () => {
    const r = run(FIXTURE, '--to', 'traefik', '--allow-partial');
    expect(r.status).toBe(0);
    const objs = docs(r.stdout);
    for (const o of objs) await validateObject(o);
    const mw = objs.find((o) => o.kind === 'Middleware' && o.metadata.name === 'inbox-airy-auth') as K8sObject & {
      spec: { forwardAuth: Record<string, unknown> };
    };
    expect(mw.spec.forwardAuth).toEqual({
      address: 'http://airy-auth.airy-auth.svc.cluster.local:8080/forward-auth',
      trustForwardHeader: false,
      authResponseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Jwt'],
      addAuthCookiesToResponse: ['airy_auth_token'],
    });
    const ing = objs.find((o) => o.kind === 'Ingress' && o.metadata.name === 'inbox') as K8sObject & { spec: { ingressClassName: string } };
    expect(ing.metadata.annotations).toEqual({ 'traefik.ingress.kubernetes.io/router.middlewares': 'shop-inbox-airy-auth@kubernetescrd' });
    expect(ing.spec.ingressClassName).toBe('traefik');
    // Ingresses without auth-url (basic auth, mTLS) get no output: their annotations are reported instead.
    expect(objs.map((o) => o.metadata.name)).not.toContain('legacy-basic');
  });

  it('translates to Gateway API: HTTPRoutes with the ExternalAuth filter, and a ReferenceGrant for the other namespace; all schema-valid', async () => {
    const r = run(FIXTURE, '--to', 'gateway-api', '--gateway', 'public', '--gateway-namespace', 'gateways', '--allow-partial');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/NOT TRANSLATED \(action needed\): shop\/inbox: nginx.ingress.kubernetes.io\/auth-signin: the ExternalAuth filter/);
    const objs = docs(r.stdout);
    for (const o of objs) await validateObject(o);
    const routes = objs.filter((o) => o.kind === 'HTTPRoute') as (K8sObject & { spec: Untyped })[];
    expect(routes.map((o) => o.metadata.name).sort()).toEqual(['inbox-0', 'inbox-1', 'inbox-api', 'tuned']);
    const admin = routes.find((o) => o.spec.hostnames?.[0] === 'admin.example.com')!;
    expect(admin.spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateways' }]);
    expect(admin.spec.rules[0].matches).toEqual([{ path: { type: 'Exact', value: '/settings' } }]);
    expect(admin.spec.rules[0].backendRefs).toEqual([{ name: 'settings', port: 8080 }]);
    expect(admin.spec.rules[0].filters[0]).toEqual({
      type: 'ExternalAuth',
      externalAuth: {
        protocol: 'HTTP',
        backendRef: { name: 'airy-auth', namespace: 'airy-auth', port: 8080 },
        http: {
          path: '/gateway-api',
          allowedHeaders: ['Cookie', 'Origin', 'X-Forwarded-Proto', 'Accept', 'Sec-Fetch-Mode', 'X-Requested-With', 'Access-Control-Request-Method'],
          allowedResponseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Jwt'],
        },
      },
    });
    expect(objs.find((o) => o.kind === 'ReferenceGrant')).toMatchObject({
      metadata: { namespace: 'airy-auth' },
      spec: { from: [{ kind: 'HTTPRoute', namespace: 'shop' }], to: [{ kind: 'Service', name: 'airy-auth' }] },
    });
  });

  it('exits 0 without --allow-partial when everything translates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-migrate-'));
    const api = fixture.split('---\n')[1]!;
    writeFileSync(join(dir, 'api.yaml'), api);
    const r = run(join(dir, 'api.yaml'), '--to', 'gateway-api');
    expect(r.status).toBe(0);
    expect(docs(r.stdout).map((o) => o.kind)).toEqual(['HTTPRoute', 'ReferenceGrant']);
  });

  it.each(['traefik', 'gateway-api'])('warns about what it does not carry over to %s: CORS preflights need skipPreflight', (target) => {
    const r = run(CORS_FIXTURE, '--to', target, '--allow-partial');
    expect(r.stderr).toMatch(/WARNING, behaviour not carried over: shop\/api: nginx.ingress.kubernetes.io\/enable-cors: .*set `skipPreflight: true`/);
    for (const n of ['cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-allow-credentials', 'cors-expose-headers', 'cors-max-age']) {
      expect(r.stderr).toContain(`WARNING, behaviour not carried over: shop/api: nginx.ingress.kubernetes.io/${n}:`);
    }
  });

  it("carries oauth2-proxy's allowed_* rules over to Traefik on the ForwardAuth address", async () => {
    const r = run(CORS_FIXTURE, '--to', 'traefik');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/translated: shop\/api: nginx.ingress.kubernetes.io\/auth-url: .*with the rules allowed_groups=sre kept on the address/);
    const mw = docs(r.stdout).find((o) => o.kind === 'Middleware') as K8sObject & { spec: Untyped };
    expect(mw.spec.forwardAuth.address).toBe('http://airy-auth.airy-auth.svc.cluster.local:8080/forward-auth?allowed_groups=sre');
    await validateObject(mw);
  });

  it('to Gateway API, carries a named policy as the filter path, and refuses other rules with the fix', async () => {
    const refused = run(CORS_FIXTURE, '--to', 'gateway-api');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/api: nginx.ingress.kubernetes.io\/auth-url: .*define them as a policy/);
    const dir = mkdtempSync(join(tmpdir(), 'airy-migrate-'));
    const withPolicy = join(dir, 'policy.yaml');
    writeFileSync(withPolicy, readFileSync(CORS_FIXTURE, 'utf8').replace('/auth?allowed_groups=sre', '/auth?policy=sre'));
    const r = run(withPolicy, '--to', 'gateway-api', '--gateway', 'public');
    expect(r.status, r.stderr).toBe(0);
    const route = docs(r.stdout).find((o) => o.kind === 'HTTPRoute') as K8sObject & { spec: Untyped };
    expect(route.spec.rules[0].filters[0].externalAuth.http.path).toBe('/gateway-api-policy/sre');
  });

  it('exits non-zero with a message for a file without any Ingress', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-migrate-'));
    const empty = join(dir, 'cms.yaml');
    writeFileSync(empty, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const r = run(empty, '--to', 'traefik');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no Ingress found (expected the output of kubectl get ingress -A -o yaml)');
  });
});
