import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { CLI } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';

const dir = mkdtempSync(join(tmpdir(), 'airy-check-'));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `f${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8' });
const problemsOf = (fields: Record<string, string>) =>
  compileAiryYaml(securityYaml({ ...PROTECTED, ...fields }))
    .issues.filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.problem}`);

describe('check refuses a cookieDomain that cannot work', () => {
  it.each([
    ['co.uk', 'is a public suffix'],
    ['.github.io', 'is a public suffix'],
    ['com', 'is not a domain'],
    ['10.0.0.1', 'is an IP address'],
  ])('%s: %s', (cookieDomain, said) => {
    const r = run(file(securityYaml({ ...PROTECTED, cookieDomain })));
    expect(r.status, r.stdout).toBe(1);
    expect(r.stdout).toContain(`error: security.cookieDomain: "${cookieDomain}" ${said}`);
  });

  it('one that does not cover the publicUrl host, which the server refuses too (the config compiler)', () => {
    expect(problemsOf({ cookieDomain: '.example.com', publicUrl: 'https://auth.example.net' })).toEqual([
      'security.cookieDomain: ".example.com" does not cover the publicUrl host auth.example.net: ' +
        'the login there would set a cookie its browser never sends back',
    ]);
    expect(problemsOf({ cookieDomain: '.example.com', publicUrl: 'https://notexample.com' })).toHaveLength(1);
    expect(problemsOf({ cookieDomain: '.example.com', publicUrl: 'https://auth.example.com' })).toEqual([]);
    expect(problemsOf({ cookieDomain: 'example.co.uk', publicUrl: 'https://example.co.uk' })).toEqual([]);
  });
});

describe('check --strict flags settings unfit for production', () => {
  const github = { provider: 'github', clientId: 'gh', clientSecret: 'gh-secret' };
  const withGithub = (fields: Record<string, string>) =>
    `${securityYaml({ ...PROTECTED, ...fields })}  oidc:\n${Object.entries(github)
      .map(([k, v]) => `    ${k}: ${v}\n`)
      .join('')}`;

  it.each([
    ['allowedEmailPatterns "*" with GitHub', withGithub({ allowedEmailPatterns: '*' }), 'security.allowedEmailPatterns: "*" with GitHub login'],
    ['allowedOrigins "*"', securityYaml({ ...PROTECTED, allowedOrigins: '*' }), 'security.allowedOrigins: "*" lets every web site'],
    ['an http publicUrl', securityYaml({ ...PROTECTED, publicUrl: 'http://auth.example.com' }), 'security.publicUrl: http://auth.example.com is plain http'],
  ])('%s: plain check passes, --strict fails naming it', (_, text, said) => {
    const path = file(text);
    const plain = run(path);
    expect(plain.status, plain.stdout).toBe(0);
    expect(plain.stdout).not.toContain(said);
    const strict = run('--strict', path);
    expect(strict.status, strict.stdout).toBe(1);
    expect(strict.stdout).toContain(`warning: ${said}`);
    expect(strict.stdout).toContain('--strict: 1 warning; failing');
  });

  it('passes a production config', () => {
    const r = run('--strict', file(withGithub({ allowedEmailPatterns: '*@example.com', publicUrl: 'https://auth.example.com' })));
    expect(r.status, r.stdout).toBe(0);
  });
});

describe('check --ingresses with hostile items', () => {
  it('reports every Ingress: an item with metadata: null or a non-string auth-url is an error, and the others are still checked', () => {
    const config = file(`${securityYaml(PROTECTED)}  policies:\n    sre: {allowedGroups: sre}\n`);
    const base = 'http://airy-auth.airy-auth.svc.cluster.local:8080/auth';
    const ing = (name: string, authUrl: string) =>
      `- {apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: ${name}, namespace: shop, ` +
      `annotations: {nginx.ingress.kubernetes.io/auth-url: ${authUrl}}}}`;
    const items = [
      '- {apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: null}',
      ing('numeric', '7'),
      '- null',
      ing('unknown', `"${base}?policy=nope"`),
      ing('known', `"${base}?policy=sre"`),
    ];
    const r = run(config, '--ingresses', file(`apiVersion: v1\nkind: List\nitems:\n${items.join('\n')}\n`));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/error: .*: Ingress #2: cannot be read as an Ingress: metadata is not a mapping/);
    expect(r.stdout).toMatch(/error: .*: shop\/numeric: cannot be read as an Ingress: annotation nginx.ingress.kubernetes.io\/auth-url is not a string/);
    expect(r.stdout).toContain('Ingress shop/unknown: auth-url unknown policy "nope"');
    expect(r.stdout).toContain('4 Ingress(es), 2 with rules on auth-url, 1 this config does not know, 2 unreadable.');
  });
});
