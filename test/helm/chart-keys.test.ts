import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { expect, it } from 'vitest';
import { CHART_ONLY_SECURITY_VALUES, chartConfigKeysTemplate, syncValuesSchema } from '../../src/config/chart-values.js';
import { compilePolicy } from '../../src/config/compile.js';
import { ALL_KEYS, isOidcKey, isSecretKey, type SettingKey } from '../../src/config/keys.js';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import { readConfigInput } from '../../src/config/read-manifests.js';
import { CHART, ensureHelm, helm, type K8sObject, renderChart, renderNotes, TEST_IMAGE } from '../helpers/helm.js';
import { baseConfig, configYaml, KEY_EXAMPLES, type KeyConfig, setKey } from '../helpers/key-examples.js';
import { policyView } from '../helpers/policy-view.js';
import { CLI, REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools } from '../helpers/tools.js';

it('values.schema.json (security) and templates/_config-keys.tpl are what `npm run chart:sync` writes from keys.ts', () => {
  const schemaText = readFileSync(join(CHART, 'values.schema.json'), 'utf8');
  expect(schemaText, 'run `npm run chart:sync` (or `npm run docs`)').toBe(syncValuesSchema(schemaText));
  expect(readFileSync(join(CHART, 'templates', '_config-keys.tpl'), 'utf8'), 'run `npm run chart:sync` (or `npm run docs`)').toBe(chartConfigKeysTemplate());
});

/** `--set`/`--set-string` arguments that give `path` this value (lists as {a,b}, mappings key by key). */
function setArgs(path: string, value: unknown): string[] {
  const quoted = (s: string) => s.replace(/[\\,=[\]{}.]/g, (c) => `\\${c}`);
  if (typeof value === 'boolean') return ['--set', `${path}=${value}`];
  if (Array.isArray(value)) return ['--set-string', `${path}={${value.map((v) => quoted(String(v))).join(',')}}`];
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return ['--set-json', `${path}={}`];
    return entries.flatMap(([k, v]) => setArgs(`${path}.${k}`, v));
  }
  return ['--set-string', `${path}=${quoted(String(value))}`];
}

function valuesArgs(config: KeyConfig): string[] {
  return [...config].flatMap(([key, { value, at }]) => setArgs(at === 'oidc' ? `security.oidc.${key}` : `security.${key}`, value));
}

/** The ConfigMap and Secret data of a render, as airy-auth reads them (the Secret's data decoded). */
function servedData(objs: K8sObject[]): { configMap: Record<string, string>; secret: Record<string, string> } {
  const cm = objs.find((o) => o.kind === 'ConfigMap') as { data?: Record<string, string> } | undefined;
  const sec = objs.find((o) => o.kind === 'Secret') as { data?: Record<string, string> } | undefined;
  return {
    configMap: cm?.data ?? {},
    secret: Object.fromEntries(Object.entries(sec?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
  };
}

describeWithTools('every key of keys.ts through the chart (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  it('helm template --set security.KEY=… for every key and example: rendered ConfigMap and Secret, and check of it, compile as the airy.yaml', () => {
    const cases: { key: SettingKey; config: KeyConfig; label: string }[] = [];
    for (const key of ALL_KEYS) {
      KEY_EXAMPLES[key].forEach((value, i) => {
        const config = baseConfig();
        // OIDC keys alternate between security.KEY and security.oidc.KEY.
        const at = isOidcKey(key) && i % 2 === 1 ? 'oidc' : isOidcKey(key) && i === 0 && KEY_EXAMPLES[key].length === 1 ? 'oidc' : 'security';
        setKey(config, key, value, at);
        cases.push({ key, config, label: `security.${at === 'oidc' ? 'oidc.' : ''}${key}=${JSON.stringify(value)}` });
      });
    }
    const covered = new Set<SettingKey>();
    for (const { key, config, label } of cases) {
      const args = valuesArgs(config);
      const r = helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...args]);
      expect(r.status, `${label}: ${r.stderr}`).toBe(0);
      const expected = policyView(compileAiryYaml(configYaml(config)).policy!);
      const objs = (yaml.loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
      const { configMap, secret } = servedData(objs);
      const served = compileConfigMapData(configMap, secret, { configMap: 'airy/airy-auth', secret: 'airy/airy-auth' });
      expect(
        served.issues.filter((i) => i.severity === 'error'),
        label,
      ).toEqual([]);
      expect(policyView(served.policy!), label).toEqual(expected);
      if (isSecretKey(key)) expect(JSON.stringify(configMap), label).not.toContain(String(config.get(key)!.value));
      const checked = readConfigInput(r.stdout, 'rendered.yaml');
      const compiled = compilePolicy(checked.settings, checked.issues);
      expect(
        compiled.issues.filter((i) => i.severity === 'error'),
        label,
      ).toEqual([]);
      expect(policyView(compiled.policy!), `check: ${label}`).toEqual(expected);
      covered.add(key);
    }
    expect([...covered].sort()).toEqual([...ALL_KEYS].sort());
    // About 80 renders: a ceiling for a loaded machine, not a timing assertion.
  }, 180_000);

  it('`helm template … | airy-auth check --strict -` passes for a render with a login, policies and list values', () => {
    const config = baseConfig();
    config.set('policies', { value: KEY_EXAMPLES.policies[1], at: 'security' });
    config.set('allowedOrigins', { value: ['https://a.example.com', 'https://*.example.org'], at: 'security' });
    const rendered = helm(['template', 'airy-auth', CHART, '--namespace', 'airy', ...TEST_IMAGE, ...valuesArgs(config)]);
    const r = spawnSync(process.execPath, [CLI, 'check', '--strict', '-'], { input: rendered.stdout, encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain('-: OK. Authentication is ON');
  });

  it.each([
    ['security.policies.Grafana.allowedGroups=sre', /policies/],
    ['security.policies.grafana.allowedGroup=sre', /allowedGroup/],
    ['security.skipPreflight=maybe', /skipPreflight/],
    ['security.oidc.systemToken=x', /systemToken/],
    ['security.oidc.clientAuthenticationMethod=header', /clientAuthenticationMethod/],
  ])('values.schema.json still refuses --set-string %s', (set, message) => {
    const r = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', set]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses an OIDC key set both under security: and security.oidc: (one of them would be lost)', () => {
    const r = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', 'security.sessionTtl=1h', '--set-string', 'security.oidc.sessionTtl=2h']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('security.sessionTtl and security.oidc.sessionTtl are both set; keep one');
  });

  it('`npm run helm -- …` runs the helm binary the tests use', () => {
    const r = spawnSync('npm', ['run', '--silent', 'helm', '--', 'version', '--template', '{{.Version}}'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(helm(['version', '--template', '{{.Version}}']).stdout);
    expect(r.stdout).toMatch(/^v3\./);
  });

  it(`accepts the chart-only ${Object.keys(CHART_ONLY_SECURITY_VALUES).join(', ')} under security: and keeps it out of the ConfigMap`, () => {
    const objs = renderChart(['--set', 'security.allowUnauthenticated=true', '--set-string', 'security.allowedOrigins=https://a.example.com']);
    expect(servedData(objs).configMap).toEqual({ allowedOrigins: 'https://a.example.com' });
    expect(helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', 'security.allowUnauthenticated=yes']).status).not.toBe(0);
  });
});

/** `--set-file airyYaml=…`: --set-string would split the text on its commas. */
function airyYamlArgs(text: string): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'airy-values-')), 'airy.yaml');
  writeFileSync(file, text);
  return ['--set-file', `airyYaml=${file}`];
}

describeWithTools('airyYaml (real helm 3)', { helm: ensureHelm() !== undefined }, () => {
  const withSecrets = baseConfig();
  withSecrets.set('publicUrl', { value: 'https://auth.example.com', at: 'security' });
  withSecrets.set('policies', { value: KEY_EXAMPLES.policies[1], at: 'security' });
  const text = configYaml(withSecrets);

  it('keeps systemToken, jwtSecret and clientSecret out of the ConfigMap (the `view` role reads it): into the Secret; both compile as the airy.yaml', () => {
    const objs = renderChart(airyYamlArgs(text));
    const { configMap, secret } = servedData(objs);
    for (const key of ['systemToken', 'jwtSecret', 'clientSecret'] as const) {
      const value = String(withSecrets.get(key)!.value);
      expect(configMap['airy.yaml'], key).not.toContain(value);
      expect(Object.values(secret), key).toContain(value);
    }
    const served = compileConfigMapData(configMap, secret, { configMap: 'airy/airy-auth', secret: 'airy/airy-auth' });
    expect(policyView(served.policy!)).toEqual(policyView(compileAiryYaml(text).policy!));
  });

  it("keeps each provider's clientSecret out of the ConfigMap, from values and from airyYaml: into the Secret as providers.NAME.clientSecret", () => {
    const config = baseConfig();
    setKey(config, 'providers', KEY_EXAMPLES.providers[0], 'security');
    const secrets = ['corp-secret-1', 'gh-secret-1'];
    for (const args of [valuesArgs(config), airyYamlArgs(configYaml(config))]) {
      const { configMap, secret } = servedData(renderChart(args));
      for (const value of secrets) expect(JSON.stringify(configMap)).not.toContain(value);
      expect(secret).toMatchObject({ 'providers.corp.clientSecret': 'corp-secret-1', 'providers.github.clientSecret': 'gh-secret-1' });
      const served = compileConfigMapData(configMap, secret, { configMap: 'airy/airy-auth', secret: 'airy/airy-auth' });
      expect(policyView(served.policy!)).toEqual(policyView(compileAiryYaml(configYaml(config)).policy!));
    }
  });

  it('keeps an airyYaml without secrets as written, and refuses one that is not YAML or that sets a secret twice', () => {
    const plain = '# our config\nsecurity:\n  allowedOrigins: "https://app.example.com"  # the app\n';
    expect(servedData(renderChart(airyYamlArgs(plain))).configMap).toEqual({ 'airy.yaml': plain });
    const broken = helm(['template', 'x', CHART, ...TEST_IMAGE, ...airyYamlArgs('security: [oops')]);
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toContain('airyYaml is not valid YAML');
    const twice = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set-string', 'security.systemToken=one-token-0123456789', ...airyYamlArgs(text)]);
    expect(twice.status).not.toBe(0);
    expect(twice.stderr).toContain('systemToken is set both in security and in airyYaml; keep one');
    expect(twice.stderr).not.toContain(String(withSecrets.get('systemToken')!.value));
  });

  it('refuses airyYaml secrets when the chart renders no Secret to hold them, instead of dropping them (auth could end up off)', () => {
    const withExisting = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set', 'secret.existingSecret=mine', ...airyYamlArgs(text)]);
    expect(withExisting.status).not.toBe(0);
    expect(withExisting.stderr).toContain('airyYaml holds secret keys (systemToken, jwtSecret or clientSecret), which the chart keeps out of the ConfigMap');
    // secret.create=false without existingSecret: the Secret template's check refuses it, for values and airyYaml alike.
    const withoutSecret = helm(['template', 'x', CHART, ...TEST_IMAGE, '--set', 'secret.create=false', ...airyYamlArgs(text)]);
    expect(withoutSecret.status).not.toBe(0);
    expect(withoutSecret.stderr).toMatch(/would be dropped|keeps out of the ConfigMap/);
    expect(withoutSecret.stderr).not.toContain(String(withSecrets.get('systemToken')!.value));
  });

  it('install notes print the auth-signin of publicUrl, and the one-login-host advice of cookieDomain, from values or from airyYaml', () => {
    const signin = (notes: string) => /auth-signin: "([^"]*)"/.exec(notes)?.[1];
    expect(signin(renderNotes(airyYamlArgs(text)))).toBe('https://auth.example.com/login');
    const oneHost = renderNotes(airyYamlArgs('security:\n  publicUrl: "https://login.example.com/"\n  cookieDomain: ".example.com"\n'));
    expect(signin(oneHost)).toBe('https://login.example.com/login');
    expect(oneHost).toContain('One login for every host under .example.com (cookieDomain)');
    const fromValues = renderNotes(['--set-string', 'security.publicUrl=https://auth.example.com', '--set-string', 'security.cookieDomain=.example.com']);
    expect(signin(fromValues)).toBe('https://auth.example.com/login');
    expect(fromValues).toContain('One login for every host under .example.com');
    const cookieOnly = renderNotes(['--set-string', 'security.cookieDomain=.example.com']);
    expect(signin(cookieOnly)).toBe('https://$host/login');
    expect(cookieOnly).toContain('set publicUrl to one login host');
    // airyYaml replaces security: for the ConfigMap, so its publicUrl is the one that counts.
    expect(signin(renderNotes(['--set-string', 'security.publicUrl=https://values.example.com', ...airyYamlArgs('security: {}\n')]))).toBe(
      'https://$host/login',
    );
  });
});
