import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/config/compile.js';
import { compileAiryYaml } from '../../src/config/load.js';
import { readConfigInput } from '../../src/config/read-manifests.js';
import { ensureHelm, helm, TEST_IMAGE } from '../helpers/helm.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { policyView } from '../helpers/policy-view.js';
import { CLI, REPO_ROOT } from '../helpers/repo.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * docs/login.md's configuration snippets, checked as a reader would use them: each fenced block
 * after a `<!-- checked: KIND -->` line is saved and given to `airy-auth check` (a ConfigMap with
 * its Secret, and the chart's values through `helm template`, as they are about to be applied).
 * The page leaves out the keys every setup already has ("systemToken, jwtSecret ... as before"):
 * the test adds those two, as the reader's own file has them. All forms must compile to the same
 * policy as the airy.yaml, so the three cannot drift apart.
 */
const PAGE = readFileSync(join(REPO_ROOT, 'docs', 'login.md'), 'utf8');
const blocks = new Map([...PAGE.matchAll(/<!-- checked: ([\w.-]+) -->\n```\w*\n([\s\S]*?)\n```/g)].map((m) => [m[1]!, m[2]!]));
const dir = mkdtempSync(join(tmpdir(), 'airy-login-doc-'));
const save = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const check = (path: string) => spawnSync(process.execPath, [CLI, 'check', path], { encoding: 'utf8' });
const SECRETS = { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET };

/** The airy.yaml of the page, with the reader's systemToken and jwtSecret added. */
function airyYaml(): string {
  const doc = yaml.load(blocks.get('airy.yaml')!) as { security: Record<string, unknown> };
  return yaml.dump({ security: { ...SECRETS, ...doc.security } });
}

describe('docs/login.md: several providers at once', () => {
  it('marks the airy.yaml, the ConfigMap with its Secret and the chart values as checked snippets', () => {
    expect([...blocks.keys()].sort()).toEqual(['airy.yaml', 'configmap', 'values']);
  });

  it('the airy.yaml passes `airy-auth check`', () => {
    const r = check(save('airy.yaml', airyYaml()));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('OK. Authentication is ON');
  });

  it('the ConfigMap and Secret pass `airy-auth check` and configure what the airy.yaml does', () => {
    const [configMap, secret] = yaml.loadAll(blocks.get('configmap')!) as [{ kind: string }, { kind: string; stringData: Record<string, string> }];
    expect([configMap.kind, secret.kind]).toEqual(['ConfigMap', 'Secret']);
    expect(Object.keys(secret.stringData).every((k) => k.endsWith('clientSecret'))).toBe(true);
    const text = [configMap, { ...secret, stringData: { ...SECRETS, ...secret.stringData } }].map((d) => yaml.dump(d)).join('---\n');
    const r = check(save('configmap.yaml', text));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const read = readConfigInput(text, 'configmap.yaml');
    expect(policyView(compilePolicy(read.settings, read.issues).policy!)).toEqual(policyView(compileAiryYaml(airyYaml()).policy!));
  });

  it("`airy-auth configmap` as the page runs it writes objects that configure what the page's ConfigMap and Secret do", () => {
    const command = /`airy-auth (configmap airy\.yaml [^`]*)`/.exec(PAGE);
    expect(command, 'the configmap command on the page').not.toBeNull();
    save('airy.yaml', airyYaml());
    const args = command![1]!.split(' ').map((a) => (a === 'airy.yaml' ? join(dir, 'airy.yaml') : a));
    const printed = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    expect(printed.status, printed.stderr).toBe(0);
    const read = readConfigInput(printed.stdout, 'printed.yaml');
    expect(policyView(compilePolicy(read.settings, read.issues).policy!)).toEqual(policyView(compileAiryYaml(airyYaml()).policy!));
    const [configMap] = yaml.loadAll(printed.stdout) as { data: Record<string, string> }[];
    expect(JSON.stringify(configMap)).not.toContain('client-secret');
  });

  describeWithTools('the chart values', { helm: ensureHelm() !== undefined }, () => {
    it('render through `helm template` into objects that pass `airy-auth check`, configuring what the airy.yaml does, with no secret in the ConfigMap', () => {
      const values = save('values.yaml', blocks.get('values')!);
      const secrets = Object.entries(SECRETS).flatMap(([k, v]) => ['--set-string', `security.${k}=${v}`]);
      const r = helm([
        'template',
        'airy-auth',
        join(REPO_ROOT, 'helm', 'airy-auth'),
        '--namespace',
        'airy-auth',
        ...TEST_IMAGE,
        '--values',
        values,
        ...secrets,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const checked = check(save('rendered.yaml', r.stdout));
      expect(checked.status, checked.stdout + checked.stderr).toBe(0);
      const read = readConfigInput(r.stdout, 'rendered.yaml');
      // The chart also generates a signingKey (for signedIdentity, off here), which the airy.yaml has no need of.
      expect(read.settings.has('signingKey')).toBe(true);
      const settings = new Map(read.settings);
      settings.delete('signingKey');
      expect(policyView(compilePolicy(settings, read.issues).policy!)).toEqual(policyView(compileAiryYaml(airyYaml()).policy!));
      const configMaps = (yaml.loadAll(r.stdout) as ({ kind?: string; data?: Record<string, string> } | null)[]).filter((o) => o?.kind === 'ConfigMap');
      const everything = JSON.stringify(configMaps);
      expect(everything).not.toContain('corp-client-secret');
      expect(everything).not.toContain('github-client-secret');
    });
  });
});
