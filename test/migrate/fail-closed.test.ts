import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/migrate/migrate.js';
import type { K8sObject, Untyped } from '../helpers/helm.js';
import { CLI } from '../helpers/repo.js';

const run = (file: string, ...args: string[]) => spawnSync(process.execPath, [CLI, 'migrate', file, ...args], { encoding: 'utf8' });
const docs = (text: string) => (yaml.loadAll(text) as K8sObject[]).filter(Boolean);
const write = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'airy-migrate-')), 'in.yaml');
  writeFileSync(file, text);
  return file;
};

/** An Ingress protected by airy-auth, with the auth-url and backend port given. */
const ingress = (name: string, authUrl: string, port = '{number: 80}', extra = '') => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/auth-url: "${authUrl}"
spec:
${extra}  rules:
    - host: ${name}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: ${name}, port: ${port}}
`;
const AIRY = 'http://airy-auth.airy-auth.svc.cluster.local:8080/auth';
const GOOD = ingress('good', AIRY);

describe('airy-auth migrate fails closed', () => {
  it.each([
    ['a rule parameter it does not read (a typo of allowed_groups)', `${AIRY}?allowed_group=sre`, 'allowed_group'],
    ['an empty rule', `${AIRY}?allowed_emails=`, 'allowed_emails= is empty'],
    ['a policy name that is not one', `${AIRY}?policy=a/b`, 'is not a policy name'],
  ])('to Gateway API: %s refuses that Ingress (exit 1, none of its objects, even with --allow-partial); the others are printed', (_, authUrl, said) => {
    const file = write(`${GOOD}---\n${ingress('ruled', authUrl)}`);
    for (const partial of [[], ['--allow-partial']]) {
      const r = run(file, '--to', 'gateway-api', ...partial);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/ruled: nginx.ingress.kubernetes.io\/auth-url: /);
      expect(r.stderr).toContain(said);
      const names = docs(r.stdout).map((o) => o.metadata.name);
      expect(names).not.toContain('ruled');
      expect(names).toEqual(partial.length ? ['good', 'airy-auth-from-shop'] : []);
    }
  });

  it('to Traefik: a rule parameter airy-auth does not read refuses the Ingress too', () => {
    const r = run(write(ingress('ruled', `${AIRY}?allowed_group=sre`)), '--to', 'traefik', '--allow-partial');
    expect(r.status).toBe(1);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/ruled: .*allowed_group/);
  });

  it('to Gateway API: the rules of another auth service, which the filter cannot carry, refuse the Ingress', () => {
    const r = run(write(ingress('other', 'http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth?allowed_groups=sre')), '--to', 'gateway-api');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/other: .*would be lost/);
  });

  it('to Gateway API: a named Service port is resolved through a Service in the input, and refused when it cannot be', () => {
    const named = ingress('web', AIRY, '{name: http}');
    const unresolved = run(write(named), '--to', 'gateway-api', '--allow-partial');
    expect(unresolved.status).toBe(1);
    expect(unresolved.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/web: .*the port "http" of Service shop\/web cannot be resolved/);
    expect(docs(unresolved.stdout)).toEqual([]);

    const service = 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{name: http, port: 8081, targetPort: 3000}]\n';
    const resolved = run(write(`${named}---\n${service}`), '--to', 'gateway-api');
    expect(resolved.status, resolved.stderr).toBe(0);
    const route = docs(resolved.stdout).find((o) => o.kind === 'HTTPRoute') as K8sObject & { spec: Untyped };
    expect(route.spec.rules[0].backendRefs).toEqual([{ name: 'web', port: 8081 }]);
  });

  it('reports spec.tls that an HTTPRoute does not carry, and every Ingress without auth-url that it leaves out', () => {
    const tls = ingress('secure', AIRY, '{number: 80}', '  tls:\n    - hosts: [secure.example.com]\n      secretName: secure-tls\n');
    const plain = 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: open, namespace: shop}\nspec:\n  rules: [{host: open.example.com}]\n';
    for (const target of ['traefik', 'gateway-api'] as const) {
      const { report } = migrate(`${tls}---\n${plain}`, { target, gateway: 'public' });
      expect(report.find((l) => l.ingress === 'shop/open')).toMatchObject({ outcome: 'not-auth', detail: expect.stringContaining('has no auth-url') });
      const tlsLine = report.find((l) => l.ingress === 'shop/secure' && l.detail.startsWith('spec.tls'));
      if (target === 'gateway-api') expect(tlsLine).toMatchObject({ outcome: 'changed', detail: expect.stringContaining('secure.example.com') });
      else expect(tlsLine).toBeUndefined(); // the Ingress is kept, with its tls, for Traefik
    }
  });

  it('names a hostile item and refuses it, and still translates the others', () => {
    const hostile = [
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: null\n',
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: numeric\n  annotations:\n    nginx.ingress.kubernetes.io/auth-url: 42\n',
      'apiVersion: v1\nkind: List\nitems:\n  - null\n' +
        '  - {kind: Ingress, metadata: {name: badrules, namespace: shop}, spec: {rules: [{host: x, http: {paths: [{path: /}]}}]}}\n',
    ];
    const r = run(write([GOOD, ...hostile].join('---\n')), '--to', 'traefik', '--allow-partial');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: Ingress #2: cannot be read as an Ingress: metadata is not a mapping/);
    expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: default\/numeric: .*annotation nginx.ingress.kubernetes.io\/auth-url is not a string/);
    expect(r.stderr).toMatch(/ERROR, nothing emitted for this Ingress: shop\/badrules: .*spec.rules\[0\].http.paths\[0\] is not a path with a backend/);
    expect(docs(r.stdout).map((o) => o.metadata.name)).toEqual(['good-airy-auth', 'good']);
  });
});
