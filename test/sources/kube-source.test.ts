import { afterEach, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { NS, startKubeHarness } from '../helpers/kube-harness.js';
import { PROTECTED, securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

type Harness = Awaited<ReturnType<typeof startKubeHarness>>;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const OTHER_TOKEN = 'other-system-token-9c1d7e55';

describeWithTools('ConfigMap and Secret source (real client-node, fake apiserver)', { openssl: ensureTestCa() !== undefined }, () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('answers 503 until the ConfigMap exists, then applies it (airy.yaml key) without a restart', async () => {
    h = await startKubeHarness();
    await h.source.ready;
    expect(await h.status(bearer(TEST_SYSTEM_TOKEN))).toBe(503);
    expect(await h.status({}, '/readyz')).toBe(503);
    h.setConfigMap({ 'airy.yaml': securityYaml(PROTECTED) });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the new config');
    expect(await h.status({}, '/readyz')).toBe(200);
    expect(await h.srv.metric('airy_auth_config_source_up')).toBe(1);
  });

  it('lists and watches only the named object, by field selector, resuming from the last resourceVersion', async () => {
    h = await startKubeHarness();
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    // The list answers first; the watch request follows it: wait for the request, not for a time.
    const configMapCalls = () => h!.api.log.filter((c) => c.path === `/api/v1/namespaces/${NS}/configmaps`);
    const watchCall = await waitFor(() => configMapCalls().find((c) => c.query.watch === 'true'), 'the watch request');
    const calls = configMapCalls();
    expect(calls.some((c) => c.query.watch !== 'true')).toBe(true);
    for (const c of calls) expect(c.query.fieldSelector).toBe('metadata.name=security');
    expect(Number(watchCall.query.resourceVersion)).toBeGreaterThan(0);
    expect(watchCall.query.allowWatchBookmarks).toBe('true');
  });

  it("reads Airy Core's flat keys, and a Secret overlay overrides them; a Secret-only change applies and invalidates old sessions", async () => {
    h = await startKubeHarness({ secret: true });
    h.setConfigMap({ systemToken: 'configmap-token-is-overridden', allowedOrigins: 'https://app.example.com' });
    h.setSecret({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the overlay');
    expect(await h.status(bearer('configmap-token-is-overridden'))).toBe(401);
    const session = await mintSession(compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!, { sub: 'u1' }, 600, Date.now());
    expect(await h.status({ cookie: `airy_auth_token=${session}` })).toBe(200);
    const generation = h.srv.store.generation;
    h.setSecret({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: Buffer.alloc(48, 3).toString('base64') });
    await waitFor(() => h!.srv.store.generation > generation, 'the Secret change');
    expect(await h.status({ cookie: `airy_auth_token=${session}` })).toBe(401);
    expect(h.srv.logger.lines.find((l) => l.msg === 'config applied' && (l.fields.changedKeys as string[]).join() === 'jwtSecret')).toBeDefined();
    expect(JSON.stringify(h.srv.logger.lines)).not.toContain(TEST_JWT_SECRET);
  });

  it('keeps the last good config on a broken one, stays ready, counts it and posts a Warning Event', async () => {
    h = await startKubeHarness();
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: 'c2hvcnQ=', allowedOrigins: 'example.com' });
    await waitFor(() => h!.api.events.length > 0, 'the Event');
    const ev = h.api.events[0]!;
    expect(ev).toMatchObject({ type: 'Warning', reason: 'InvalidConfig', involvedObject: { kind: 'ConfigMap', name: 'security', namespace: NS } });
    expect(ev.message).toMatch(/jwtSecret: decodes to 5 bytes.*allowedOrigins: "example.com" is not an origin/s);
    expect(await h.status(bearer(TEST_SYSTEM_TOKEN))).toBe(200);
    expect(await h.status({}, '/readyz')).toBe(200);
    expect(await h.srv.metric('airy_auth_config_reloads_total', { result: 'invalid' })).toBe(1);
    expect(h.srv.logger.lines.find((l) => l.msg.startsWith('config rejected'))?.fields.errors).toHaveLength(2);
  });

  it('keeps the last good config when the ConfigMap or the Secret is deleted, and applies it again when it returns', async () => {
    h = await startKubeHarness({ secret: true });
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN });
    h.setSecret({ jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    h.api.remove('secrets', NS, 'security-secrets');
    await waitFor(async () => (await h!.srv.metric('airy_auth_config_reloads_total', { result: 'deleted' })) === 1, 'the deletion');
    // Without the Secret, jwtSecret would be unset and auth off: it must stay on.
    expect(await h.status()).toBe(401);
    expect(await h.status(bearer(TEST_SYSTEM_TOKEN))).toBe(200);
    h.api.remove('configmaps', NS, 'security');
    await waitFor(async () => (await h!.srv.metric('airy_auth_config_reloads_total', { result: 'deleted' })) === 2, 'the second deletion');
    expect(await h.status(bearer(TEST_SYSTEM_TOKEN))).toBe(200);
    h.setConfigMap({ systemToken: OTHER_TOKEN });
    h.setSecret({ jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(OTHER_TOKEN))) === 200, 'the objects to return');
    expect(h.srv.logger.lines.some((l) => l.level === 'warn' && l.msg.includes('deleted; keeping the last good config'))).toBe(true);
  });

  it('refuses a reload that would turn authentication off', async () => {
    h = await startKubeHarness();
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN });
    await waitFor(() => h!.api.events.length > 0, 'the Event');
    expect(h.api.events[0]!.message).toContain('would turn authentication OFF');
    expect(await h.status()).toBe(401);
    expect(await h.srv.metric('airy_auth_enabled')).toBe(1);
  });

  it('relists after 410 Gone and resumes after dropped connections', async () => {
    h = await startKubeHarness();
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    await waitFor(() => h!.api.watchCount === 1, 'the watch');
    // Dropped connection: the watch resumes from its resourceVersion and misses nothing.
    h.api.dropWatches();
    h.setConfigMap({ systemToken: OTHER_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(OTHER_TOKEN))) === 200, 'the change made while disconnected');
    // Compacted history: resuming gets 410 Gone, so the source lists again.
    await waitFor(() => h!.api.watchCount === 1, 'the watch');
    const listsBefore = h.api.log.filter((c) => c.path.endsWith('/configmaps') && c.query.watch !== 'true').length;
    h.api.compact();
    h.api.dropWatches();
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    h.api.compact();
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the change after 410');
    expect(h.api.log.filter((c) => c.path.endsWith('/configmaps') && c.query.watch !== 'true').length).toBeGreaterThan(listsBefore);
    expect(await h.srv.metric('airy_auth_watch_restarts_total', { reason: 'gone' })).toBeGreaterThanOrEqual(1);
  });

  it('notices a stalled watch (no bookmark for idleMs) and reconnects', async () => {
    h = await startKubeHarness({ idleMs: 600 });
    h.setConfigMap({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.status(bearer(TEST_SYSTEM_TOKEN))) === 200, 'the config');
    h.api.stall(true);
    h.setConfigMap({ systemToken: OTHER_TOKEN, jwtSecret: TEST_JWT_SECRET });
    await waitFor(async () => (await h!.srv.metric('airy_auth_watch_restarts_total', { reason: 'stalled' })) >= 1, 'the stall to be noticed');
    h.api.stall(false);
    await waitFor(async () => (await h!.status(bearer(OTHER_TOKEN))) === 200, 'the change after the stall');
  });

  it('keeps retrying with backoff when the apiserver refuses (403), and reports the source down', async () => {
    h = await startKubeHarness({ allowedNames: ['something-else'] });
    await waitFor(async () => (await h!.srv.metric('airy_auth_config_source_up')) === 0 && h!.api.log.length >= 3, 'retries');
    const refusals = h.srv.logger.lines.filter((l) => l.fields.reason === 'forbidden');
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals[0]!.msg).toMatch(/^the apiserver refused access \(403 Forbidden/);
    expect(refusals[0]!.level).toBe('warn');
    expect(await h.status(bearer(TEST_SYSTEM_TOKEN))).toBe(503);
  });
});
