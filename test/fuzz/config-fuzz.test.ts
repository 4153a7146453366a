import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import type { Policy } from '../../src/config/policy.js';
import { decide } from '../../src/core/decide.js';
import { memoryLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { startFileSource } from '../../src/sources/file-source.js';
import { PolicyStore } from '../../src/sources/policy-store.js';
import { evaluate } from '../helpers/evaluator.js';
import { type KubeHarness, NS, startKubeHarness } from '../helpers/kube-harness.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait.js';
import { mutate, prng } from './config-mutations.js';

/**
 * At least 10,000 mutated configs through each live source. After every one: the process is
 * alive (this one; no unhandled rejection), and either the mutation was a valid config and was
 * applied, or the last good config is still the one deciding.
 */
/** The full suite mutates 10,000 configs; the fast lane (vitest.unit.config.ts) a tenth, to stay quick. */
const CASES = Number(process.env.AIRY_CONFIG_FUZZ_CASES ?? 10_000);
const BASE = securityYaml({ ...PROTECTED, publicPaths: '/webhooks/**' });

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});

/** The last good policy still lets the system token in and keeps others out. */
function stillDeciding(policy: Policy | undefined): boolean {
  const facts = { method: 'GET', scheme: 'https' as const, host: 'app.example.com', path: '/x', origin: undefined, sessionCookies: [] };
  const withToken = decide({ ...facts, authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }, evaluate(policy), Date.now());
  const without = decide({ ...facts, authorization: undefined }, evaluate(policy), Date.now());
  return !(withToken instanceof Promise) && withToken.status === 200 && !(without instanceof Promise) && without.status === 401;
}

/**
 * Written and dated a minute back: a completed write. The file source waits for a file that was
 * modified a moment ago (and longer for one that does not compile), in case its writer is still
 * at it; here every write is whole, and waiting out each of them would take hours.
 */
function writeSettled(path: string, text: string): void {
  writeFileSync(path, text);
  const past = new Date(Date.now() - 60_000);
  utimesSync(path, past, past);
}

it(`survives ${CASES} mutated configs through the file source, keeping the last good one each time`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-fuzz-'));
  const path = join(dir, 'airy.yaml');
  writeSettled(path, BASE);
  const store = new PolicyStore(memoryLogger(), createMetrics(new Registry()));
  const source = startFileSource(path, { store, metrics: createMetrics(new Registry()), logger: memoryLogger() });
  await source.ready;
  let good = store.current;
  expect(stillDeciding(good)).toBe(true);
  const r = prng(1);
  let kept = 0;
  let applied = 0;
  for (let i = 0; i < CASES; i++) {
    const text = mutate(BASE, r, i);
    writeSettled(path, text);
    await source.refresh();
    const valid = compileAiryYaml(text).policy;
    if (store.current === good) kept++;
    else {
      // Only a valid config that keeps authentication on may replace the good one.
      expect(valid?.enabled, `case ${i}: ${JSON.stringify(text.slice(0, 200))}`).toBe(true);
      applied++;
      writeSettled(path, BASE);
      await source.refresh();
      good = store.current;
      expect(stillDeciding(good), `case ${i}: the good config back`).toBe(true);
    }
    if (!valid) expect(store.current, `case ${i}`).not.toBeUndefined();
  }
  source.stop();
  expect(rejections).toEqual([]);
  expect(kept + applied).toBe(CASES);
  expect(kept).toBeGreaterThan(CASES / 2);
  expect(stillDeciding(store.current)).toBe(true);
  console.log(`config fuzz, file source: ${CASES} mutations, ${kept} kept the last good config, ${applied} valid and applied, 0 unhandled rejections`);
}, 600_000);

it(`survives ${CASES} mutated configs through the ConfigMap source (airy.yaml key and flat keys)`, async () => {
  const h: KubeHarness = await startKubeHarness();
  try {
    h.setConfigMap({ 'airy.yaml': BASE });
    await waitFor(() => h.srv.store.current !== undefined, 'the first config');
    let good = h.srv.store.current;
    const applies = async () => {
      const m = (await h.srv.registry.getSingleMetric('airy_auth_config_reloads_total')?.get())?.values ?? [];
      return m.reduce((sum, v) => sum + v.value, 0);
    };
    const r = prng(2);
    let kept = 0;
    let applied = 0;
    for (let i = 0; i < CASES; i++) {
      const text = mutate(BASE, r, i);
      const data =
        i % 4 === 3
          ? { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: PROTECTED.jwtSecret, [['oidc.provider', 'oidc.clientId', 'providers.corp.scope'][i % 3]!]: text }
          : { 'airy.yaml': text };
      const before = await applies();
      h.setConfigMap(data);
      await waitFor(async () => (await applies()) > before, `case ${i} to be read`, 60_000, 1);
      const valid = compileConfigMapData(data, undefined, { configMap: `${NS}/security` }).policy;
      if (h.srv.store.current === good) kept++;
      else {
        expect(valid?.enabled, `case ${i}`).toBe(true);
        applied++;
        const again = await applies();
        h.setConfigMap({ 'airy.yaml': BASE });
        await waitFor(async () => (await applies()) > again, `case ${i}: the good config back`, 60_000, 1);
        good = h.srv.store.current;
        expect(stillDeciding(good), `case ${i}: the good config back`).toBe(true);
      }
    }
    expect(rejections).toEqual([]);
    expect(kept + applied).toBe(CASES);
    expect(stillDeciding(h.srv.store.current)).toBe(true);
    console.log(`config fuzz, ConfigMap source: ${CASES} mutations, ${kept} kept the last good config, ${applied} valid and applied, 0 unhandled rejections`);
  } finally {
    await h.close();
  }
}, 900_000);
