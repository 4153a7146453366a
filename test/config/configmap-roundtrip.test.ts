import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/config/compile.js';
import { ALL_KEYS, isOidcKey, isSecretKey, keySpec, keyType, type SettingKey } from '../../src/config/keys.js';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import { readAiryYaml } from '../../src/config/read-airy-yaml.js';
import { readConfigInput } from '../../src/config/read-manifests.js';
import { configMapManifests, writeFlatData } from '../../src/config/write-flat.js';
import { prng } from '../fuzz/config-mutations.js';
import { baseConfig, type KeyConfig as Config, configYaml, KEY_EXAMPLES, setKey } from '../helpers/key-examples.js';
import { policyView } from '../helpers/policy-view.js';
import { CLI, REPO_ROOT } from '../helpers/repo.js';

/**
 * The property: what `configmap` writes, read back through the ConfigMap source, compiles to the
 * same policy as the file; a refused file is refused by both; no secret reaches the ConfigMap.
 */
function expectRoundTrip(text: string, label: string): boolean {
  const direct = compileAiryYaml(text, 'airy.yaml');
  if (!direct.policy) return false;
  const flat = writeFlatData(readAiryYaml(text, 'airy.yaml').settings);
  const viaConfigMap = compileConfigMapData(flat.configMap, flat.secret, { configMap: 'airy/security', secret: 'airy/security-secrets' });
  expect(
    viaConfigMap.issues.filter((i) => i.severity === 'error'),
    label,
  ).toEqual([]);
  expect(policyView(viaConfigMap.policy!), label).toEqual(policyView(direct.policy));
  // `check` of the printed manifests (what is about to be applied) reads the same policy.
  const printed = configMapManifests(flat, { name: 'security', namespace: 'airy', secretName: 'security-secrets' });
  const checked = readConfigInput(printed, 'printed.yaml');
  expect(policyView(compilePolicy(checked.settings, checked.issues).policy!), `check: ${label}`).toEqual(policyView(direct.policy));
  for (const name of Object.keys(flat.configMap)) {
    const key = name.replace(/^oidc\./, '').split('.')[0] as SettingKey;
    expect(isSecretKey(key), `${label}: ${name} in the ConfigMap`).toBe(false);
  }
  for (const secret of Object.values(flat.secret)) {
    if (secret.length >= 8) expect(JSON.stringify(flat.configMap), label).not.toContain(secret);
  }
  return true;
}

it('has example values for every key of the catalogue (add them in test/helpers/key-examples.ts for a new key)', () => {
  expect(ALL_KEYS.filter((k) => (KEY_EXAMPLES[k]?.length ?? 0) === 0)).toEqual([]);
});

it('the catalogue types agree with the compiler: list keys take YAML lists, string keys refuse them, boolean keys take booleans', () => {
  for (const key of ALL_KEYS) {
    const type = keyType(keySpec(key));
    if (type === 'named') continue;
    const sample = KEY_EXAMPLES[key].find((v) => typeof v === 'string') ?? String(KEY_EXAMPLES[key][0]);
    const config = baseConfig();
    config.delete(key);
    config.set(key, { value: type === 'boolean' ? true : [sample], at: 'security' });
    const errors = compileAiryYaml(configYaml(config))
      .issues.filter((i) => i.severity === 'error')
      .map((i) => `${i.path}: ${i.problem}`);
    if (type === 'string') expect(errors, `${key} is typed string`).toContainEqual(expect.stringMatching(/must be a string/));
    else expect(errors, `${key} is typed ${type}`).toEqual([]);
  }
});

describe('configmap output read back through the ConfigMap source (and through check) compiles to the same policy as the file', () => {
  it('for every example of every key, under security: and (OIDC keys) under security.oidc:', () => {
    for (const key of ALL_KEYS) {
      for (const value of KEY_EXAMPLES[key]) {
        for (const at of isOidcKey(key) ? (['security', 'oidc'] as const) : (['security'] as const)) {
          const config = baseConfig();
          setKey(config, key, value, at);
          const text = configYaml(config);
          expect(expectRoundTrip(text, `${key}=${JSON.stringify(value)} under ${at}`), `${key}=${JSON.stringify(value)}: ${text}`).toBe(true);
        }
      }
    }
  });

  it('for examples/*.yaml and every airy.yaml snippet of the docs', () => {
    const texts: [string, string][] = readdirSync(join(REPO_ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [`examples/${f}`, readFileSync(join(REPO_ROOT, 'examples', f), 'utf8')]);
    for (const page of readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md'))) {
      const md = readFileSync(join(REPO_ROOT, 'docs', page), 'utf8');
      for (const m of md.matchAll(/^( *)```ya?ml\n([\s\S]*?)^\1```/gm)) {
        const body = m[2]!.replace(new RegExp(`^${m[1]}`, 'gm'), '');
        if (/^security:/m.test(body)) texts.push([`docs/${page}`, body]);
      }
    }
    expect(texts.length).toBeGreaterThanOrEqual(3);
    const valid = texts.filter(([label, text]) => expectRoundTrip(text, label));
    expect(valid.length).toBeGreaterThanOrEqual(2);
  });

  it('for a fuzz of 400 generated configs (seeded), most of them valid', () => {
    const random = prng(20261202);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    let valid = 0;
    for (let n = 0; n < 400; n++) {
      const config: Config = random() < 0.8 ? baseConfig() : new Map();
      for (const key of ALL_KEYS) {
        if (random() > 0.35) continue;
        setKey(config, key, pick(KEY_EXAMPLES[key]), isOidcKey(key) && random() < 0.5 ? 'oidc' : 'security');
      }
      if (random() < 0.3) config.set('policies', { value: randomPolicies(random), at: 'security' });
      const text = configYaml(config);
      if (expectRoundTrip(text, `config ${n}:\n${text}`)) valid++;
    }
    expect(valid).toBeGreaterThan(200);
  });
});

it('the configmap command writes policies as policies.NAME.KEY (it wrote "[object Object]"), and serving that ConfigMap applies them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-cm-policies-'));
  const file = join(dir, 'airy.yaml');
  const config = baseConfig();
  config.set('policies', { value: KEY_EXAMPLES.policies[1], at: 'security' });
  const text = configYaml(config);
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [CLI, 'configmap', file, '--secret-name', 'security-secrets'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const [cm, secret] = yaml.loadAll(r.stdout) as { data?: Record<string, string>; stringData?: Record<string, string> }[];
  expect(cm!.data).toMatchObject({
    'policies.inbox.allowedGroups': 'support',
    'policies.inbox.allowedOrigins': 'https://inbox.example.com',
    'policies.admin.allowedEmailPatterns': 'boss@example.com,cto@example.com',
    'policies.admin.publicPaths': '/public/**',
  });
  expect(Object.values(cm!.data!)).not.toContain('[object Object]');
  const served = compileConfigMapData(cm!.data, secret!.stringData, { configMap: 'airy/security', secret: 'airy/security-secrets' });
  expect(served.policy?.routeRules.names).toEqual(['inbox', 'admin']);
  expect(policyView(served.policy!)).toEqual(policyView(compileAiryYaml(text).policy!));
});

function randomPolicies(random: () => number): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const fields = ['allowedEmailPatterns', 'allowedGroups', 'allowedOrigins', 'publicPaths'] as const;
  const values: Record<(typeof fields)[number], unknown[]> = {
    allowedEmailPatterns: ['*@example.com', ['a@example.com', 'b@example.com']],
    allowedGroups: ['sre', 'a,b', ['x', 'y, z']],
    allowedOrigins: ['https://x.example.com', ['https://*.example.org']],
    publicPaths: ['/p/**', ['/q', '/r/*']],
  };
  // At least one: an empty `policies: {}` compiles to the same rules, but its fingerprint (which only
  // names changed keys in the reload log) counts it as set, and the flat form cannot write it.
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const body: Record<string, unknown> = {};
    for (const f of fields) if (random() < 0.4) body[f] = values[f][Math.floor(random() * values[f].length)];
    out[`p${i}${random() < 0.5 ? '-x' : '_y'}`] = body;
  }
  return out;
}
