import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Policy } from '../../src/config/policy.js';
import { secretDigest } from '../../src/config/secret-digest.js';
import { startKubeHarness } from '../helpers/kube-harness.js';
import { TEST_JWT_SECRET } from '../helpers/policies.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const TA = 'token-of-policy-a-7f3e9d';
const TB = 'token-of-policy-b-2c8a41';
const digestA = secretDigest(TA).digest;
type Which = 'A' | 'B';
interface Sample {
  start: number;
  end: number;
  token: Which;
  status: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Writes a measured figure where the closing note can quote it from. */
function report(name: string, data: unknown): void {
  const dir = join(REPO_ROOT, 'test-output');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  console.log(`${name}: ${JSON.stringify(data)}`);
}

describeWithTools('hot reload under load from a ConfigMap (real client-node, fake apiserver)', { openssl: ensureTestCa() !== undefined }, () => {
  let h: Awaited<ReturnType<typeof startKubeHarness>>;
  const switches: { t: number; which: Which }[] = [];
  const agent = new Agent({ connections: 8 });

  beforeAll(async () => {
    h = await startKubeHarness();
    const store = h.srv.store;
    const apply = store.apply.bind(store);
    store.apply = (result, source) => {
      const before = store.current;
      const outcome = apply(result, source);
      if (store.current !== before) switches.push({ t: performance.now(), which: whichOf(store.current!) });
      return outcome;
    };
    h.setConfigMap({ systemToken: TA, jwtSecret: TEST_JWT_SECRET });
    await waitFor(() => switches.length === 1, 'policy A');
  });
  afterAll(async () => {
    await h?.close();
    await agent.close();
  });

  const whichOf = (p: Policy): Which => (p.systemToken!.digest.equals(digestA) ? 'A' : 'B');

  /** Bounded concurrent /auth traffic until `stop()`; every sample is kept. */
  function traffic(workers: number, pauseMs = 0) {
    const samples: Sample[] = [];
    const errors: string[] = [];
    let running = true;
    const loops = Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; running && i < 1_000_000; i++) {
        const token: Which = (i + w) % 2 ? 'A' : 'B';
        const start = performance.now();
        try {
          const res = await request(`${h.srv.url}/auth`, { headers: { authorization: `Bearer ${token === 'A' ? TA : TB}` }, dispatcher: agent });
          await res.body.dump();
          samples.push({ start, end: performance.now(), token, status: res.statusCode });
          if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        } catch (err) {
          errors.push(String(err));
        }
      }
    });
    return {
      samples,
      errors,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  /** The policies that were current at some moment of [start, end]. */
  function currentDuring(start: number, end: number): Set<Which> {
    const out = new Set<Which>();
    let atStart: Which | undefined;
    for (const s of switches) {
      if (s.t <= start) atStart = s.which;
      else if (s.t <= end) out.add(s.which);
    }
    if (atStart) out.add(atStart);
    return out;
  }

  it('flips between two policies 50 times under concurrent traffic: every answer is right for a policy current during its request, none fails', async () => {
    const load = traffic(4);
    const propagation: number[] = [];
    for (let flip = 0; flip < 50; flip++) {
      const next: Which = flip % 2 === 0 ? 'B' : 'A';
      const seen = switches.length;
      const t0 = performance.now();
      h.setConfigMap({ systemToken: next === 'A' ? TA : TB, jwtSecret: TEST_JWT_SECRET });
      await waitFor(() => switches.length > seen, `flip ${flip}`, 5000, 1);
      const tSwitch = switches.at(-1)!.t;
      // The first decision under the new policy: the first request that started after the switch.
      const first = await waitFor(() => load.samples.find((s) => s.start >= tSwitch), `a decision after flip ${flip}`, 5000, 1);
      propagation.push(first.end - t0);
      await new Promise((r) => setTimeout(r, 15));
    }
    await load.stop();
    const wrong = load.samples.filter((s) => {
      const policies = currentDuring(s.start, s.end);
      if (s.status === 200) return !policies.has(s.token);
      if (s.status === 401) return !policies.has(s.token === 'A' ? 'B' : 'A');
      return true;
    });
    report('kube-reload-under-load', {
      flips: 50,
      requests: load.samples.length,
      allowed: load.samples.filter((s) => s.status === 200).length,
      refused: load.samples.filter((s) => s.status === 401).length,
      wrong: wrong.length,
      failed: load.errors.length,
      propagationMs: { median: Number(median(propagation).toFixed(2)), max: Number(Math.max(...propagation).toFixed(2)) },
    });
    expect(load.errors).toEqual([]);
    expect(wrong).toEqual([]);
    expect(load.samples.length).toBeGreaterThan(500);
    expect(Math.max(...propagation)).toBeLessThan(1000);
  });

  it('keeps deciding through a 30 s apiserver outage, then resyncs a change made meanwhile', async () => {
    // Settle on A.
    if (switches.at(-1)!.which !== 'A') {
      const n = switches.length;
      h.setConfigMap({ systemToken: TA, jwtSecret: TEST_JWT_SECRET });
      await waitFor(() => switches.length > n, 'policy A');
    }
    // Paced, so 30 s of traffic does not starve the test files running beside this one.
    const load = traffic(2, 2);
    const outageStart = performance.now();
    await h.api.goAway();
    await waitFor(async () => (await h.srv.metric('airy_auth_config_source_up')) === 0, 'the source to be reported down');
    h.api.compact();
    h.setConfigMap({ systemToken: TB, jwtSecret: TEST_JWT_SECRET }); // stored while unreachable
    h.api.compact();
    await new Promise((r) => setTimeout(r, 30_000 - (performance.now() - outageStart)));
    const duringOutage = load.samples.filter((s) => s.end <= performance.now());
    const switchesDuringOutage = switches.filter((s) => s.t > outageStart).length;
    await h.api.comeBack();
    const back = performance.now();
    await waitFor(() => switches.at(-1)!.which === 'B', 'the resync after the outage');
    const resyncMs = performance.now() - back;
    await load.stop();
    const outageSamples = duringOutage.filter((s) => s.start >= outageStart);
    const wrong = outageSamples.filter((s) => (s.token === 'A' ? s.status !== 200 : s.status !== 401));
    report('kube-apiserver-outage', {
      outageSeconds: Number(((back - outageStart) / 1000).toFixed(1)),
      requestsDuringOutage: outageSamples.length,
      wrongDuringOutage: wrong.length,
      failed: load.errors.length,
      resyncAfterReturnMs: Number(resyncMs.toFixed(0)),
      watchRestarts: {
        error: await h.srv.metric('airy_auth_watch_restarts_total', { reason: 'error' }),
        gone: await h.srv.metric('airy_auth_watch_restarts_total', { reason: 'gone' }),
      },
    });
    expect(switchesDuringOutage).toBe(0);
    expect(load.errors).toEqual([]);
    expect(wrong).toEqual([]);
    expect(outageSamples.length).toBeGreaterThan(100);
    expect(await h.srv.metric('airy_auth_config_source_up')).toBe(1);
  }, 90_000);
});
