import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiryWith } from '../helpers/airy-process.js';
import { type FakeApiserver, type KubeObject, startFakeApiserver } from '../helpers/fake-apiserver.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { CLI } from '../helpers/repo.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'airy-cm-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

it('refuses an invalid airy.yaml with the errors check prints', () => {
  const r = run('configmap', file('bad.yaml', 'security:\n  jwtSecret: "short"\n  systemTokn: x\n'));
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('error: security.systemTokn: unknown key "systemTokn"');
  expect(r.stderr).toContain('error: security.jwtSecret:');
});

it("never puts secret keys in a ConfigMap: refused without --secret-name; with it, the Secret beside it, in Airy Core's flat format", () => {
  const source = file(
    'good.yaml',
    `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${PROTECTED.jwtSecret}"
  allowedOrigins: "https://app.example.com"
  oidc:
    provider: github
    clientId: cid
    clientSecret: csecret
    allowedEmailPatterns: "*@example.com"
`,
  );
  const refused = run('configmap', source);
  expect(refused.status).toBe(1);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain('has systemToken, jwtSecret, clientSecret, which must not go into a ConfigMap');
  expect(refused.stderr).toContain('fix: pass --secret-name NAME');
  expect(refused.stderr).not.toContain('csecret');
  const split = yaml.loadAll(run('configmap', source, '--name', 'sec', '--namespace', 'airy', '--secret-name', 'sec-secrets').stdout) as KubeObject[];
  expect(split.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['ConfigMap/airy/sec', 'Secret/airy/sec-secrets']);
  expect(Object.keys(split[0]!.data!)).toEqual(['allowedOrigins', 'oidc.provider', 'oidc.clientId', 'oidc.allowedEmailPatterns']);
  expect(split[1]!.stringData).toEqual({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: PROTECTED.jwtSecret, 'oidc.clientSecret': 'csecret' });
});

it("puts each provider's clientSecret into the Secret as providers.NAME.clientSecret, and refuses to drop it without --secret-name", () => {
  const source = file(
    'providers.yaml',
    `security:
  jwtSecret: "${PROTECTED.jwtSecret}"
  allowedEmailPatterns: "*@example.com"
  providers:
    corp:
      issuerUri: "https://login.example.com"
      clientId: cid
      clientSecret: corp-csecret
`,
  );
  const refused = run('configmap', source);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain('has jwtSecret, providers.corp.clientSecret, which must not go into a ConfigMap');
  expect(refused.stderr).not.toContain('corp-csecret');
  const split = yaml.loadAll(run('configmap', source, '--secret-name', 'sec-secrets').stdout) as KubeObject[];
  expect(split[0]!.data).toEqual({
    'oidc.allowedEmailPatterns': '*@example.com',
    'providers.corp.issuerUri': 'https://login.example.com',
    'providers.corp.clientId': 'cid',
  });
  expect(split[1]!.stringData).toEqual({ jwtSecret: PROTECTED.jwtSecret, 'providers.corp.clientSecret': 'corp-csecret' });
});

describeWithTools('configmap output applied to a cluster, served by `serve --configmap --secret`', { openssl: ensureTestCa() !== undefined }, () => {
  let api: FakeApiserver;
  let airy: AiryProcess;
  beforeAll(async () => {
    api = await startFakeApiserver({ allowedNames: ['security', 'security-secrets'] });
    airy = await startAiryWith(['--configmap', 'security', '--secret', 'airy/security-secrets'], { KUBECONFIG: api.kubeconfig, POD_NAMESPACE: 'airy' });
  });
  afterAll(async () => {
    await airy?.stop();
    await api?.close();
  });

  it('a refused first ConfigMap (what configmap once wrote for policies) is an Event that says there is no config yet, not "kept its last good"', async () => {
    api.apply('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'security-secrets', namespace: 'airy' }, data: {} });
    api.apply('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'security', namespace: 'airy' }, data: { policies: '[object Object]' } });
    const event = await waitFor(() => api.events.find((e) => e.reason === 'InvalidConfig'), 'the InvalidConfig Event');
    expect(event.message).toMatch(
      /^airy-auth has no valid config yet, so it answers 503 and is not ready: error: configmap airy\/security key policies: must be a mapping/,
    );
    expect(event.message).not.toContain('last good');
    expect((await request(`${airy.url}/readyz`)).statusCode).toBe(503);
  });

  it('goes from "kubectl apply" of the printed objects to new decisions in under a second', async () => {
    expect((await request(`${airy.url}/readyz`)).statusCode).toBe(503);
    const out = run('configmap', file('apply.yaml', securityYaml(PROTECTED)), '--namespace', 'airy', '--secret-name', 'security-secrets').stdout;
    const started = Date.now();
    for (const doc of yaml.loadAll(out) as KubeObject[]) {
      // What the apiserver does with stringData on apply: it becomes base64 data.
      const data =
        doc.kind === 'Secret'
          ? Object.fromEntries(Object.entries(doc.stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
          : doc.data;
      api.apply(doc.kind === 'Secret' ? 'secrets' : 'configmaps', { ...doc, data, stringData: undefined } as KubeObject);
    }
    await waitFor(
      async () => {
        const res = await request(`${airy.url}/auth`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
        await res.body.dump();
        return res.statusCode === 200;
      },
      'the applied config',
      1000,
      5,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(airy.logs()).not.toContain(TEST_SYSTEM_TOKEN);
  });

  it('carries named policies through the applied ConfigMap: ?policy=hooks is known to the served config', async () => {
    const text = `${securityYaml(PROTECTED)}  policies:\n    hooks: {publicPaths: "/webhooks/**"}\n`;
    const out = run('configmap', file('policies.yaml', text), '--namespace', 'airy', '--secret-name', 'security-secrets').stdout;
    for (const doc of yaml.loadAll(out) as KubeObject[]) {
      const data =
        doc.kind === 'Secret'
          ? Object.fromEntries(Object.entries(doc.stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
          : doc.data;
      api.apply(doc.kind === 'Secret' ? 'secrets' : 'configmaps', { ...doc, data, stringData: undefined } as KubeObject);
    }
    const statusOf = async (query: string) => {
      const res = await request(`${airy.url}/auth?${query}`, { headers: { 'x-original-url': 'https://app.example.com/webhooks/x' } });
      await res.body.dump();
      return res.statusCode;
    };
    // A public path of the global rules and of the policy: no credentials needed once the policy exists.
    await waitFor(async () => (await statusOf('policy=hooks')) === 200, 'the policy from policies.hooks.publicPaths');
    expect(await statusOf('policy=nope')).toBe(403);
  });
});
