import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { type RunningShadowSource, startShadowSource } from '../../src/sources/shadow-source.js';
import { configMap, type FakeApiserver, secret, startFakeApiserver } from '../helpers/fake-apiserver.js';
import { PROTECTED, securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'airy';
const { jwtSecret: _j, systemToken: _s, ...RULES } = PROTECTED;

describeWithTools('shadow ConfigMap source (real client-node, fake apiserver)', { openssl: ensureTestCa() !== undefined }, () => {
  let api: FakeApiserver;
  let shadow: RunningShadowSource | undefined;
  const saved = { KUBECONFIG: process.env.KUBECONFIG, POD_NAMESPACE: process.env.POD_NAMESPACE };

  beforeEach(async () => {
    api = await startFakeApiserver({ allowedNames: ['airy-auth-shadow', 'airy-auth'] });
    process.env.KUBECONFIG = api.kubeconfig;
    process.env.POD_NAMESPACE = NS;
  });
  afterEach(async () => {
    await shadow?.stop();
    shadow = undefined;
    await api.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('watches the shadow ConfigMap with the live Secret, reports to the shadow metrics only, and keeps the last good shadow on a bad change', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const logger = memoryLogger();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      const v = ((m?.values ?? []) as { labels: Record<string, string>; value: number }[]).find((x) =>
        Object.entries(labels).every(([k, l]) => x.labels[k] === l),
      );
      return v?.value;
    };
    api.apply('secrets', secret(NS, 'airy-auth', { jwtSecret: TEST_JWT_SECRET, systemToken: TEST_SYSTEM_TOKEN }));
    api.apply('configmaps', configMap(NS, 'airy-auth-shadow', { 'airy.yaml': securityYaml({ ...RULES, allowedGroups: 'admins' }) }));
    shadow = await startShadowSource({ configMap: 'airy-auth-shadow', secret: 'airy-auth' }, { metrics, logger, requireAuth: true });
    expect(shadow.name).toBe('shadow configmap airy/airy-auth-shadow');
    await shadow.ready;
    const first = await waitFor(() => shadow!.store.current, 'the shadow config');
    expect([...first.groups!]).toEqual(['admins']);
    expect(await value('airy_auth_shadow_config_loaded')).toBe(1);
    expect(await value('airy_auth_shadow_config_valid')).toBe(1);
    expect(await value('airy_auth_shadow_config_generation')).toBe(1);
    await waitFor(async () => (await value('airy_auth_shadow_config_source_up')) === 1, 'the shadow watch up');
    // The live config's metrics never move for the shadow.
    expect(await value('airy_auth_config_generation')).toBe(0);
    expect(await value('airy_auth_config_reloads_total', { result: 'applied' })).toBe(0);
    expect(await value('airy_auth_config_source_up')).toBe(0);
    expect(logger.lines.some((l) => l.msg === 'shadow config applied')).toBe(true);

    api.apply('configmaps', configMap(NS, 'airy-auth-shadow', { 'airy.yaml': securityYaml({ ...RULES, allowedOrigins: 'example.com' }) }));
    await waitFor(() => api.events.length > 0, 'the Event');
    expect(api.events[0]).toMatchObject({
      type: 'Warning',
      reason: 'InvalidConfig',
      involvedObject: { kind: 'ConfigMap', name: 'airy-auth-shadow', namespace: NS },
    });
    expect(api.events[0]!.message).toMatch(/^airy-auth refused this shadow config \(answers are unaffected\); the last good shadow stays: .*example\.com/);
    expect(shadow.store.current).toBe(first);
    expect(await value('airy_auth_shadow_config_valid')).toBe(0);
    expect(await value('airy_auth_shadow_config_loaded')).toBe(1);
    expect(await value('airy_auth_shadow_config_reloads_total', { result: 'invalid' })).toBe(1);
    expect(await value('airy_auth_config_reloads_total', { result: 'invalid' })).toBe(0);
    expect(logger.lines.some((l) => l.level === 'error' && l.msg === 'shadow config rejected; keeping the last good config')).toBe(true);
  });

  it('says that nothing is compared while the shadow ConfigMap does not exist, never that answers are 503', async () => {
    const metrics = createMetrics(new Registry());
    const logger = memoryLogger();
    shadow = await startShadowSource({ configMap: `${NS}/airy-auth-shadow` }, { metrics, logger, requireAuth: true });
    await shadow.ready;
    expect(shadow.store.current).toBeUndefined();
    const line = logger.lines.find((l) => l.msg.includes('does not exist yet'));
    expect(line?.msg).toBe('shadow configmap airy/airy-auth-shadow does not exist yet; comparing nothing until it does');
    expect(logger.lines.some((l) => l.msg.includes('503'))).toBe(false);
  });
});
