import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type AiryProcess, CLI, startAiry, startAiryWith } from '../helpers/airy-process.js';
import { configMap, type FakeApiserver, secret, startFakeApiserver } from '../helpers/fake-apiserver.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const AUTH_OFF = securityYaml({ allowedOrigins: 'https://app.example.com' });
const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await request(url, { headers });
  return { status: res.statusCode, body: await res.body.text() };
};
const invalidLoads = async (airy: AiryProcess) =>
  Number(/airy_auth_config_reloads_total\{result="invalid"\} (\d+)/.exec((await get(airy.metricsUrl)).body)?.[1] ?? 0);

const running: AiryProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});
const start = async (p: Promise<AiryProcess>) => {
  const airy = await p;
  running.push(airy);
  return airy;
};

describe('serve --require-auth', () => {
  it('without it, a config without secrets allows every request (the seed rule); with it, that config is invalid: 503, not ready, log, metric', async () => {
    const open = await start(startAiry(AUTH_OFF));
    await waitFor(async () => (await get(`${open.url}/readyz`)).status === 200, 'the auth-off config to load');
    expect((await get(`${open.url}/auth`)).status).toBe(200);

    const strict = await start(startAiry(AUTH_OFF, ['--require-auth']));
    await waitFor(() => strict.logs().includes('config rejected'), 'the refusal log line');
    expect((await get(`${strict.url}/auth`)).status).toBe(503);
    expect((await get(`${strict.url}/readyz`)).status).toBe(503);
    expect(strict.logs()).toMatch(
      /would turn authentication OFF \(neither systemToken and jwtSecret nor an OIDC provider is configured\), and airy-auth runs with --require-auth/,
    );
    expect(strict.logs()).toContain('security.allowUnauthenticated=true');
    expect(await invalidLoads(strict)).toBeGreaterThanOrEqual(1);
    expect((await get(strict.metricsUrl)).body).toMatch(/^airy_auth_enabled 0$/m);

    // The fix reaches it live: the secrets arrive and it becomes ready.
    writeFileSync(strict.configPath, securityYaml(PROTECTED));
    await waitFor(async () => (await get(`${strict.url}/readyz`)).status === 200, 'the protected config to load');
    expect((await get(`${strict.url}/auth`)).status).toBe(401);
    expect((await get(`${strict.url}/auth`, { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).status).toBe(200);
  });

  it('is read from AIRY_AUTH_REQUIRE_AUTH (as the chart could pass it); a value other than true or false is a usage error', async () => {
    const strict = await start(startAiry(AUTH_OFF, [], { AIRY_AUTH_REQUIRE_AUTH: 'true' }));
    await waitFor(() => strict.logs().includes('config rejected'), 'the refusal log line');
    expect((await get(`${strict.url}/readyz`)).status).toBe(503);
    expect(strict.logs()).toContain('"requireAuth":true');

    const bad = spawnSync(process.execPath, [CLI, 'serve', '--config', strict.configPath], {
      encoding: 'utf8',
      env: { ...process.env, AIRY_AUTH_REQUIRE_AUTH: 'yes' },
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--require-auth (or its environment variable) must be true or false, got "yes"');
  });
});

describeWithTools('serve --require-auth with an existingSecret whose key is misspelt', { openssl: ensureTestCa() !== undefined }, () => {
  let api: FakeApiserver | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  // The Secret carries a whole airy.yaml whose `security:` is misspelt: nothing in it is read, and
  // the seed's rule turns authentication off without an error.
  const misspelt = {
    'airy.yaml': `securty:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n  jwtSecret: "${PROTECTED.jwtSecret}"\n`,
  };

  it.each([
    [false, 200],
    [true, 503],
  ])('--require-auth %s: an anonymous request gets %i', async (requireAuth, expected) => {
    api = await startFakeApiserver({ allowedNames: ['security', 'security-secrets'] });
    api.apply('configmaps', configMap('airy', 'security', { allowedOrigins: 'https://app.example.com' }));
    api.apply('secrets', secret('airy', 'security-secrets', misspelt));
    const airy = await start(
      startAiryWith(['--configmap', 'security', '--secret', 'airy/security-secrets', ...(requireAuth ? ['--require-auth'] : [])], {
        KUBECONFIG: api.kubeconfig,
        POD_NAMESPACE: 'airy',
      }),
    );
    await waitFor(() => /config (applied|rejected)/.test(airy.logs()), 'the first config');
    expect((await get(`${airy.url}/auth`)).status).toBe(expected);
    expect((await get(`${airy.url}/readyz`)).status).toBe(requireAuth ? 503 : 200);
    if (requireAuth) {
      // What `kubectl describe configmap` shows the operator: one Warning Event, naming the flag.
      const event = await waitFor(() => api!.events.find((e) => e.reason === 'InvalidConfig'), 'the Warning Event');
      expect(String(event.message)).toContain('runs with --require-auth');
    }
  });
});
