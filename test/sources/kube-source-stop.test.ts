import { afterEach, expect, it } from 'vitest';
import { type KubeHarness, startKubeHarness } from '../helpers/kube-harness.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The live source's own stop (fake apiserver, production timings). What a real kube-apiserver
 * does to the watch (renewals through a quiet period, a SIGKILL and restart, RBAC 403s) is
 * tested against a real one in test/kube/config-watch.test.ts (npm run test:kube).
 */
let h: KubeHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const metric = (name: string, labels: Record<string, string> = {}) => h!.srv.metric(name, labels);

it('does not report its own stop as a failure', async () => {
  h = await startKubeHarness({ productionTimings: true, secret: true });
  h.setConfigMap({ 'airy.yaml': securityYaml(PROTECTED) });
  await waitFor(async () => (await metric('airy_auth_config_source_up')) === 1, 'the source', 20_000).catch((e) => {
    for (const l of h!.srv.logger.lines) console.log(l.level, l.msg, JSON.stringify(l.fields));
    console.log(h!.api.log);
    throw e;
  });
  const before = h.srv.logger.lines.length;
  await h.source.stop();
  await new Promise((r) => setImmediate(r));
  expect(h.srv.logger.lines.slice(before).filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
});
