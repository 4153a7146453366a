import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, serveCommand } from '../../cmd/serve.js';
import { compileAiryYaml } from '../../src/config/load.js';
import { memoryLogger } from '../../src/log.js';
import { mintSession } from '../../src/session/mint.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait.js';

/** The live config: the grafana policy admits devs and admins. */
function shadowLiveYaml(grafanaGroups = 'devs,admins'): string {
  return `${securityYaml(PROTECTED)}  policies:\n    grafana: { allowedGroups: "${grafanaGroups}" }\n`;
}
const LIVE = shadowLiveYaml();
/** The candidate: the grafana policy admits admins only, so it would refuse devs. */
const SHADOW_REFUSING_DEVS = shadowLiveYaml('admins');

const key = compileAiryYaml(LIVE).policy!.sessionKey!;

interface Served {
  readonly server: RunningServer;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly url: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

async function serve(args: string[]): Promise<Served> {
  const logger = memoryLogger();
  const server = (await serveCommand([...args, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'], () => {}, logger))!;
  const metricsUrl = `http://127.0.0.1:${server.metricsPort}/metrics`;
  return {
    server,
    logger,
    url: `http://127.0.0.1:${server.port}`,
    async metric(name, labels = {}) {
      const text = await (await request(metricsUrl)).body.text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
      }
      return sum;
    },
  };
}

/** What a gateway acts on: the status and every header but the date and the request id (made per request). */
async function answer(url: string, headers: Record<string, string>, query = '?policy=grafana') {
  const res = await request(`${url}/auth${query}`, { headers: { 'x-original-url': 'https://grafana.example.com/d/home', ...headers } });
  const body = await res.body.text();
  const kept = Object.entries(res.headers).filter(([k]) => k !== 'date' && k !== 'x-request-id' && k !== 'keep-alive' && k !== 'connection');
  return { status: res.statusCode, headers: Object.fromEntries(kept), body };
}

describe('serve --shadow-config in process: answers stay the live ones, disagreements are counted and logged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-shadow-'));
  const livePath = join(dir, 'live.yaml');
  const shadowPath = join(dir, 'shadow.yaml');
  let withShadow: Served;
  let plain: Served;
  let dev: string;
  let admin: string;

  /** Writes the shadow file as kubelet and editors do: a new file renamed over the old one. */
  function writeShadow(text: string): void {
    const tmp = `${shadowPath}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, shadowPath);
  }

  beforeAll(async () => {
    writeFileSync(livePath, LIVE);
    writeShadow(SHADOW_REFUSING_DEVS);
    dev = await mintSession(key, { sub: 'dev-1', email: 'dev@example.com', groups: ['devs'] }, 3600, Date.now());
    admin = await mintSession(key, { sub: 'admin-1', email: 'admin@example.com', groups: ['admins'] }, 3600, Date.now());
    [withShadow, plain] = await Promise.all([serve(['--config', livePath, '--shadow-config', shadowPath]), serve(['--config', livePath])]);
    await waitFor(async () => (await withShadow.metric('airy_auth_shadow_config_loaded')) === 1, 'the shadow config to load');
  });
  afterAll(async () => {
    await Promise.all([withShadow?.server.close(), plain?.server.close()]);
  });

  const disagreements = (labels: Record<string, string> = {}) => withShadow.metric('airy_auth_shadow_disagreements_total', labels);
  const shadowLines = () => withShadow.logger.lines.filter((l) => l.msg === 'shadow disagrees');

  it('answers every request exactly as the same server without a shadow, while counting the devs the shadow would refuse', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ cookie: `airy_auth_token=${dev}` }, '?policy=grafana'],
      [{ cookie: `airy_auth_token=${admin}` }, '?policy=grafana'],
      [{ authorization: `Bearer ${dev}` }, '?policy=grafana'],
      [{}, '?policy=grafana'],
      [{ cookie: 'airy_auth_token=not-a-token' }, '?policy=grafana'],
      [{ cookie: `airy_auth_token=${dev}` }, ''],
      [{ cookie: `airy_auth_token=${dev}` }, '?policy=nope'],
    ];
    const before = await disagreements();
    for (const [headers, query] of cases) {
      const [a, b] = await Promise.all([answer(withShadow.url, headers, query), answer(plain.url, headers, query)]);
      expect(a, JSON.stringify({ headers: Object.keys(headers), query })).toEqual(b);
    }
    // The two dev requests under the grafana policy: live 200, shadow 403.
    await waitFor(async () => (await disagreements()) - before === 2, 'two disagreements');
    expect(await disagreements({ live: '200', shadow: '403', policy: 'grafana' })).toBe(2);
    const lines = shadowLines();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)!.fields).toMatchObject({ liveStatus: 200, shadowStatus: 403, shadowReason: 'group_not_allowed', user: 'dev-1', policy: 'grafana' });
    expect(typeof lines.at(-1)!.fields.requestId).toBe('string');
    expect(JSON.stringify(withShadow.logger.lines)).not.toContain(dev);
    // The live metrics never count the shadow.
    expect(await withShadow.metric('airy_auth_config_generation')).toBe(1);
    expect(await withShadow.metric('airy_auth_config_reloads_total', { result: 'applied' })).toBe(1);
  });

  it('keeps the last good shadow when the shadow file turns bad, without touching the live config or readiness', async () => {
    const invalidBefore = await withShadow.metric('airy_auth_shadow_config_reloads_total', { result: 'invalid' });
    writeShadow('security:\n  jwtSecret: [this is not a string\n');
    await waitFor(
      async () => (await withShadow.metric('airy_auth_shadow_config_reloads_total', { result: 'invalid' })) > invalidBefore,
      'the bad shadow to be refused',
    );
    expect(await withShadow.metric('airy_auth_shadow_config_valid')).toBe(0);
    expect(await withShadow.metric('airy_auth_shadow_config_loaded')).toBe(1);
    expect(withShadow.logger.lines.some((l) => l.level === 'error' && l.msg === 'shadow config rejected; keeping the last good config')).toBe(true);
    const ready = await request(`${withShadow.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    expect(await withShadow.metric('airy_auth_config_reloads_total', { result: 'invalid' })).toBe(0);
    // The last good shadow still compares: a dev is still a disagreement, and still allowed.
    const before = await disagreements();
    expect((await answer(withShadow.url, { cookie: `airy_auth_token=${dev}` })).status).toBe(200);
    await waitFor(async () => (await disagreements()) === before + 1, 'a disagreement under the last good shadow');
  });

  it('hot-reloads the shadow: once it admits devs too, nothing disagrees', async () => {
    const generation = await withShadow.metric('airy_auth_shadow_config_generation');
    writeShadow(shadowLiveYaml('devs,admins,ops'));
    await waitFor(async () => (await withShadow.metric('airy_auth_shadow_config_generation')) > generation, 'the new shadow to apply');
    expect(await withShadow.metric('airy_auth_shadow_config_valid')).toBe(1);
    const before = await disagreements();
    const compared = await withShadow.metric('airy_auth_shadow_comparisons_total');
    for (let i = 0; i < 5; i++) expect((await answer(withShadow.url, { cookie: `airy_auth_token=${dev}` })).status).toBe(200);
    await waitFor(async () => (await withShadow.metric('airy_auth_shadow_comparisons_total')) >= compared + 5, 'five comparisons');
    expect(await disagreements()).toBe(before);
    expect(await withShadow.metric('airy_auth_config_generation')).toBe(1);
  });
});

describe('serve without a shadow', () => {
  it('registers the shadow metrics at zero and compares nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-noshadow-'));
    writeFileSync(join(dir, 'live.yaml'), LIVE);
    const s = await serve(['--config', join(dir, 'live.yaml')]);
    try {
      const dev = await mintSession(key, { sub: 'dev-1', groups: ['devs'] }, 3600, Date.now());
      expect((await answer(s.url, { cookie: `airy_auth_token=${dev}` })).status).toBe(200);
      expect(await s.metric('airy_auth_shadow_comparisons_total')).toBe(0);
      expect(await s.metric('airy_auth_shadow_config_loaded')).toBe(0);
    } finally {
      await s.server.close();
    }
  });
});
