import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/config/compile.js';
import { formatIssue } from '../../src/config/issues.js';
import { compileAiryYaml } from '../../src/config/load.js';
import { readConfigInput, readSecretInput } from '../../src/config/read-manifests.js';
import { overlaySettings } from '../../src/config/settings.js';
import { baseConfig, configYaml, KEY_EXAMPLES } from '../helpers/key-examples.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { policyView } from '../helpers/policy-view.js';
import { CLI } from '../helpers/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'airy-check-manifests-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const errorsOf = (text: string) =>
  readConfigInput(text, 'in.yaml')
    .issues.filter((i) => i.severity === 'error')
    .map(formatIssue);

const config = baseConfig();
config.set('policies', { value: KEY_EXAMPLES.policies[1], at: 'security' });
config.set('skipPreflight', { value: true, at: 'security' });
const AIRY_YAML = configYaml(config);
const airyFile = file('airy.yaml', AIRY_YAML);
const printed = run('configmap', airyFile, '--namespace', 'airy', '--name', 'security', '--secret-name', 'security-secrets').stdout;
const [configMapDoc, secretDoc] = printed.split(/^---\n/m);

describe('check validates what is about to be applied', () => {
  it('the output of `airy-auth configmap` (ConfigMap and Secret in one stream) checks OK, compiling to the airy.yaml (was: "2 YAML documents")', () => {
    const r = run('check', '--strict', file('printed.yaml', printed));
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain('OK. Authentication is ON');
    const read = readConfigInput(printed, 'printed.yaml');
    expect(policyView(compilePolicy(read.settings, read.issues).policy!)).toEqual(policyView(compileAiryYaml(AIRY_YAML).policy!));
  });

  it('a ConfigMap manifest alone, with its Secret manifest through --secret-file (also a file holding both)', () => {
    const cm = file('cm.yaml', configMapDoc!);
    expect(run('check', '--strict', cm).status).toBe(1); // the secrets are in the Secret: without it, auth is off
    for (const secretFile of [file('secret.yaml', secretDoc!), file('both.yaml', printed)]) {
      const r = run('check', '--strict', cm, '--secret-file', secretFile);
      expect(r.status, r.stdout).toBe(0);
      const read = readConfigInput(configMapDoc!, 'cm.yaml');
      const secret = readSecretInput(readFileSync(secretFile, 'utf8'), secretFile);
      const policy = compilePolicy(overlaySettings(read.settings, secret.settings), [...read.issues, ...secret.issues]).policy!;
      expect(policyView(policy)).toEqual(policyView(compileAiryYaml(AIRY_YAML).policy!));
    }
  });

  it('reads Secret data as the apiserver does: base64 data, stringData winning; refuses data that is not base64', () => {
    const secret = (body: string) =>
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {allowedOrigins: "https://a.example.com"}\n---\n' +
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n${body}`;
    const read = readConfigInput(
      secret(
        `data:\n  systemToken: ${Buffer.from('overridden').toString('base64')}\n  jwtSecret: ${Buffer.from(TEST_JWT_SECRET).toString('base64')}\n` +
          `stringData:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n`,
      ),
      'in.yaml',
    );
    expect(read.issues).toEqual([]);
    expect(read.settings.get('systemToken')?.value).toBe(TEST_SYSTEM_TOKEN);
    expect(read.settings.get('jwtSecret')?.value).toBe(TEST_JWT_SECRET);
    expect(errorsOf(secret('data:\n  systemToken: "not base64!"\n'))).toEqual([
      'error: secret s key systemToken: is not base64 (the apiserver refuses it); use stringData for plain text',
    ]);
  });

  it('names the ConfigMap key of a mistake, and refuses what kubectl would refuse', () => {
    expect(errorsOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: security, namespace: airy}\ndata:\n  systemTokn: x\n')[0]).toMatch(
      /^error: configmap airy\/security key systemTokn: unknown key "systemTokn"/,
    );
    expect(errorsOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: security}\ndata:\n  skipPreflight: true\n')).toEqual([
      expect.stringMatching(/^error: configmap security key skipPreflight: is not a string, and the apiserver refuses ConfigMap data that is not/),
    ]);
  });

  it('in a stream of several objects, reads the ConfigMap and Secret that the Deployment serves from, and says when they are not there', () => {
    const deployment = (args: string[]) =>
      yaml.dump({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'airy-auth' },
        spec: { template: { spec: { containers: [{ name: 'airy-auth', image: 'x', args }] } } },
      });
    const other = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: airy}\ndata: {unrelated: "1"}\n';
    const stream = [other, deployment(['serve', '--configmap', 'airy/security', '--secret', 'airy/security-secrets']), printed].join('---\n');
    const read = readConfigInput(stream, 'rendered.yaml');
    expect(read.issues).toEqual([]);
    expect(policyView(compilePolicy(read.settings).policy!)).toEqual(policyView(compileAiryYaml(AIRY_YAML).policy!));
    expect(errorsOf([other, deployment(['serve', '--configmap', 'airy/mine']), printed].join('---\n'))).toEqual([
      expect.stringContaining('airy-auth is served from ConfigMap airy/mine, which is not in this file'),
    ]);
    const noSecret = readConfigInput([deployment(['serve', '--configmap', 'airy/security', '--secret', 'airy/managed']), configMapDoc].join('---\n'), 'r.yaml');
    expect(noSecret.issues.map(formatIssue)).toContainEqual(expect.stringContaining('airy-auth also reads Secret airy/managed, which is not in this file'));
    expect(errorsOf([other, printed].join('---\n'))).toEqual([
      expect.stringContaining('holds 2 ConfigMaps (airy/other, airy/security), and no airy-auth Deployment says which one it reads'),
    ]);
  });

  it('reads stdin for FILE -', () => {
    const r = spawnSync(process.execPath, [CLI, 'check', '-'], { input: printed, encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain('-: OK.');
  });
});
