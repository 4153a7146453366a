import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiryWith } from '../helpers/airy-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';
import { waitFor } from '../helpers/wait.js';
import { applyObjects, authStatus, chartObjects, logLines, metricValue } from './chart-objects.js';

/**
 * airy-auth against a real kube-apiserver, as the chart deploys it: its own ServiceAccount, with a
 * token from `kubectl create token`, bound by the chart's Role (get/list/watch on its ConfigMap
 * and Secret by resourceNames, create Events) and nothing else. Production timings throughout
 * (watch renewal 60 s, idle limit 90 s, backoff capped at 2 s). The tests run in order on one
 * apiserver and one airy-auth process; each prints the figure it measures.
 */
const NS = 'airy';
const NAME = 'airy-auth'; // the chart's fullname for release "airy-auth": ConfigMap, Secret, SA, Role
const OTHER = 'other-system-token-0123456789';
const APP = { host: 'app.example.com' };
const bearer = (token: string) => ({ ...APP, authorization: `Bearer ${token}` });

describeWithApiserver('airy-auth watching its ConfigMap and Secret on a real kube-apiserver', () => {
  let api: RealApiserver;
  let airy: AiryProcess | undefined;
  const figures: string[] = [];

  const metric = (name: string, labels: Record<string, string> = {}) => metricValue(airy!.metricsUrl, name, labels);
  const reasons = () => logLines(airy!.logs()).map((l) => l.reason);
  /** A failed wait says what airy-auth and the apiserver printed. */
  const explain = async <T>(wait: Promise<T>): Promise<T> => {
    try {
      return await wait;
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- airy-auth ---\n${airy?.logs().slice(-6000)}\n--- apiserver.log (tail) ---\n${api.log().slice(-3000)}`);
    }
  };
  const decides = (token: string, status: number, what: string, everyMs = 5) =>
    explain(waitFor(async () => (await authStatus(airy!.url, bearer(token))) === status, what, 60_000, everyMs));
  const patch = (resource: 'configmaps' | 'secrets', body: unknown) => api.request('PATCH', `/api/v1/namespaces/${NS}/${resource}/${NAME}`, body);

  beforeAll(async () => {
    api = await startRealApiserver();
    await api.kubectl(['create', 'namespace', NS]);
  });
  afterAll(async () => {
    await airy?.stop();
    if (figures.length) console.log(`\nreal kube-apiserver figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    await api?.stop();
  });

  it('answers 503 while its Role is missing (403 from the apiserver), and applies the config once the chart RBAC exists', async () => {
    const objects = chartObjects(NS, [
      '--set-string',
      `security.systemToken=${TEST_SYSTEM_TOKEN}`,
      '--set-string',
      `security.jwtSecret=${TEST_JWT_SECRET}`,
      '--set-string',
      'security.publicPaths=/webhooks/**',
      '--set-string',
      'security.allowedOrigins=https://app.example.com',
    ]);
    await applyObjects(
      api,
      NS,
      ['ServiceAccount', 'ConfigMap', 'Secret'].map((k) => objects.get(k)!),
    );
    const kubeconfig = await api.kubeconfigFor(NS, NAME);
    airy = await startAiryWith(['--configmap', `${NS}/${NAME}`, '--secret', `${NS}/${NAME}`], { KUBECONFIG: kubeconfig, POD_NAMESPACE: NS });
    await explain(waitFor(() => reasons().includes('forbidden'), 'a 403 logged while the Role is missing'));
    expect(await authStatus(airy.url, bearer(TEST_SYSTEM_TOKEN))).toBe(503);
    expect(await metric('airy_auth_config_source_up')).toBe(0);

    const rbacApplied = Date.now();
    await applyObjects(api, NS, [objects.get('Role')!, objects.get('RoleBinding')!]);
    await decides(TEST_SYSTEM_TOKEN, 200, 'the config once the Role is bound', 20);
    figures.push(`RBAC applied (kubectl apply returned) to first decision: ${Date.now() - rbacApplied} ms`);
    expect(await authStatus(airy.url, bearer('wrong-token-0123456789'))).toBe(401);
    expect(await metric('airy_auth_config_source_up')).toBe(1);
  });

  it('reads only its own objects: the Role allows list/watch by the metadata.name field selector and nothing wider', async () => {
    const asPod = { ...api.env, KUBECONFIG: await api.kubeconfigFor(NS, NAME) };
    const wide = await api.kubectlResult(['-n', NS, 'get', 'configmaps'], undefined, asPod);
    expect(wide.status).not.toBe(0);
    expect(wide.stderr).toMatch(/forbidden/i);
    const own = await api.kubectl(['-n', NS, 'get', 'configmaps', '--field-selector', `metadata.name=${NAME}`, '-o', 'name'], undefined, asPod);
    expect(own.trim()).toBe(`configmap/${NAME}`);
    expect((await api.kubectlResult(['-n', NS, 'get', 'secrets', '--field-selector', `metadata.name=${NAME}`, '-o', 'name'], undefined, asPod)).status).toBe(0);
    // The watches airy-auth keeps open are exactly these two, with the selector.
    expect(reasons()).not.toContain('error');
  });

  it('applies a PATCH of the Secret and of the ConfigMap to its decisions', async () => {
    const started = Date.now();
    const res = await patch('secrets', { stringData: { systemToken: OTHER } });
    expect(res.status, res.body).toBe(200);
    await decides(OTHER, 200, 'the patched systemToken');
    const secretMs = Date.now() - started;
    expect(await authStatus(airy!.url, bearer(TEST_SYSTEM_TOKEN))).toBe(401);

    const publicPath = { ...APP, 'x-original-url': 'https://app.example.com/open/page' };
    expect(await authStatus(airy!.url, publicPath)).toBe(401);
    const cmStarted = Date.now();
    expect((await patch('configmaps', { data: { publicPaths: '/webhooks/**,/open/**' } })).status).toBe(200);
    await explain(waitFor(async () => (await authStatus(airy!.url, publicPath)) === 200, 'the patched publicPaths', 60_000, 5));
    const configMapMs = Date.now() - cmStarted;
    figures.push(`PATCH to decision: Secret ${secretMs} ms, ConfigMap ${configMapMs} ms`);
    expect(secretMs).toBeLessThan(1000);
    expect(configMapMs).toBeLessThan(1000);
  });

  it('after an apiserver SIGKILL and a start with the same data, applies a change written once /readyz is 200 within 3 s', async () => {
    const before = reasons().length;
    await api.killApiserver();
    // airy-auth keeps deciding with the last good config while the apiserver is down.
    await explain(waitFor(async () => (await metric('airy_auth_config_source_up')) === 0, 'source_up 0 with the apiserver gone'));
    expect(await authStatus(airy!.url, bearer(OTHER))).toBe(200);
    await api.startAgain(); // returns once /readyz is 200
    const written = Date.now();
    const res = await patch('secrets', { stringData: { systemToken: TEST_SYSTEM_TOKEN } });
    expect(res.status, res.body).toBe(200);
    await decides(TEST_SYSTEM_TOKEN, 200, 'the change written after the restart');
    const tookMs = Date.now() - written;
    await explain(waitFor(async () => (await metric('airy_auth_config_source_up')) === 1, 'both watches up again'));
    const seen = [...new Set(reasons().slice(before).filter(Boolean))];
    figures.push(`restart (SIGKILL, start, /readyz 200) to decision: ${tookMs} ms; reasons logged: ${seen.join(', ')}`);
    expect(tookMs).toBeLessThan(3000);
    // Every end is logged once, as a warning with its retry delay.
    const warnings = logLines(airy!.logs()).filter((l) => l.level === 'warn');
    expect(warnings.every((l) => typeof l.retryInMs === 'number')).toBe(true);
  });

  it('keeps source_up at 1 through 100 s without a write, renewing the watch rather than calling it stalled, then applies a change within 1 s', async () => {
    const renewedBefore = (await metric('airy_auth_watch_restarts_total', { reason: 'renewed' })) ?? 0;
    const warningsBefore = logLines(airy!.logs()).filter((l) => l.level === 'warn' || l.level === 'error').length;
    const started = Date.now();
    const samples: number[] = [];
    while (Date.now() - started < 100_000) {
      samples.push((await metric('airy_auth_config_source_up')) ?? -1);
      // Sampling a gauge once a second for the quiet period is the measurement, not a wait.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const renewed = ((await metric('airy_auth_watch_restarts_total', { reason: 'renewed' })) ?? 0) - renewedBefore;
    const stalled = (await metric('airy_auth_watch_restarts_total', { reason: 'stalled' })) ?? 0;
    const written = Date.now();
    expect((await patch('secrets', { stringData: { systemToken: OTHER } })).status).toBe(200);
    await decides(OTHER, 200, 'the change after the quiet period');
    const tookMs = Date.now() - written;
    const ones = samples.filter((v) => v === 1).length;
    figures.push(
      `quiet period: source_up 1 in ${ones} of ${samples.length} samples over 100 s; ${renewed} renewals, ${stalled} stalled; ` +
        `change after it applied in ${tookMs} ms`,
    );
    expect(samples.length).toBeGreaterThanOrEqual(60);
    expect(
      samples.every((v) => v === 1),
      `source_up samples: ${samples.join('')}`,
    ).toBe(true);
    expect(renewed).toBeGreaterThanOrEqual(2); // both watches renewed at least once (60 s timeout)
    expect(stalled).toBe(0);
    expect(logLines(airy!.logs()).filter((l) => l.level === 'warn' || l.level === 'error').length).toBe(warningsBefore);
    expect(tookMs).toBeLessThan(1000);
  }, 180_000);

  it('keeps its last good config on a bad one and posts one Warning Event whose message kubectl get events shows whole, on one line', async () => {
    expect((await patch('configmaps', { data: { skipPreflight: 'maybe' } })).status).toBe(200);
    const event = await explain(
      waitFor(async () => {
        const list = JSON.parse(
          await api.kubectl(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${NAME},reason=InvalidConfig`, '-o', 'json']),
        );
        return list.items[0] as { message: string; type: string; involvedObject: { kind: string } } | undefined;
      }, 'the InvalidConfig Event'),
    );
    expect(event.type).toBe('Warning');
    expect(event.involvedObject.kind).toBe('ConfigMap');
    expect(event.message).not.toMatch(/[\r\n]/);
    expect(event.message).toContain('skipPreflight');
    expect(event.message).toContain('allowed: true, false');
    const table = await api.kubectl(['-n', NS, 'get', 'events', '--field-selector', 'reason=InvalidConfig']);
    const row = table.split('\n').find((l) => l.includes('InvalidConfig'));
    expect(row, table).toContain('allowed: true, false');
    // The last good config still decides.
    expect(await authStatus(airy!.url, bearer(OTHER))).toBe(200);
    expect(await metric('airy_auth_config_source_up')).toBe(1);
  });
});
