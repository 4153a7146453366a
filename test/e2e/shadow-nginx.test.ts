import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const withGrafana = (groups: string) => `${securityYaml(PROTECTED)}  policies:\n    grafana: { allowedGroups: "${groups}" }\n`;
/** Live: the grafana policy admits devs and admins. Shadow: admins only, so it would refuse every dev. */
const LIVE = withGrafana('devs,admins');
const SHADOW = withGrafana('admins');
const REQUESTS = 400;
const CONCURRENCY = 100;
/** The comparison's default log limit (src/http/shadow.ts). */
const LINES_PER_SECOND = 10;

interface LogLine {
  time: string;
  msg: string;
  [k: string]: unknown;
}

/**
 * The shadow under load, end to end: the built `airy-auth serve --shadow-config` behind a real
 * nginx configured as ingress-nginx renders `auth-url`, a real upstream, and hundreds of
 * concurrent requests of a session the shadow would refuse.
 */
describeWithTools('shadow configuration under load through real nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const key = compileAiryYaml(LIVE).policy!.sessionKey!;

  async function metric(name: string, labels = ''): Promise<number | undefined> {
    const text = await (await request(airy.metricsUrl)).body.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  }

  /** Waits on the event; a wait that fails says what airy-auth printed meanwhile. */
  async function waitPrinting(check: () => Promise<boolean>, what: string): Promise<void> {
    try {
      await waitFor(check, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; airy-auth printed:\n${airy.logs().slice(-4000)}`);
    }
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-shadow-e2e-'));
    const shadowPath = join(dir, 'shadow.yaml');
    writeFileSync(shadowPath, SHADOW);
    upstream = await startEchoUpstream();
    airy = await startAiry(LIVE, ['--shadow-config', shadowPath]);
    nginx = await startNginx({
      paths: [
        {
          path: '/',
          upstream: `127.0.0.1:${upstream.port}`,
          annotations: { 'auth-url': `${airy.url}/auth?policy=grafana`, 'auth-response-headers': 'X-Auth-Request-User' },
        },
      ],
    });
    await waitPrinting(async () => (await metric('airy_auth_shadow_config_loaded')) === 1, 'the shadow to load');
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  it('answers every request from the live config while the counter has one disagreement per request and the log is rate-limited', async () => {
    const dev = await mintSession(key, { sub: 'dev-1', email: 'dev@example.com', groups: ['devs'] }, 3600, Date.now());
    const label = '{live="200",shadow="403",policy="grafana"}';
    const before = (await metric('airy_auth_shadow_disagreements_total', label)) ?? 0;
    const agent = new Agent({ connections: CONCURRENCY });
    try {
      const answers = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const res = await request(`${nginx.url}/d/${i}`, {
            dispatcher: agent,
            headers: { host: 'grafana.example.com', cookie: `airy_auth_token=${dev}` },
          });
          const text = await res.body.text();
          return {
            status: res.statusCode,
            user: res.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string> }).headers['x-auth-request-user'] : text,
          };
        }),
      );
      // The live answer, every time: nginx passed each request to the upstream with the identity.
      expect(answers.filter((a) => a.status !== 200 || a.user !== 'dev-1')).toEqual([]);
    } finally {
      await agent.close();
    }
    await waitPrinting(async () => (await metric('airy_auth_shadow_disagreements_total', label)) === before + REQUESTS, `${REQUESTS} disagreements`);
    expect(await metric('airy_auth_shadow_errors_total')).toBe(0);
    expect(await metric('airy_auth_decisions_total', '{status="200",reason="session_cookie"}')).toBeGreaterThanOrEqual(REQUESTS);
    expect(await metric('airy_auth_decisions_total', '{status="403",reason="group_not_allowed"}')).toBeUndefined();

    const lines = airy
      .logs()
      .split('\n')
      .filter((l) => l.includes('"msg":"shadow disagrees"'))
      .map((l) => JSON.parse(l) as LogLine);
    expect(lines.length).toBeGreaterThan(0);
    // Rate-limited: the windows of one second start at least a second apart, each with at most the limit.
    const first = Date.parse(lines[0]!.time);
    const last = Date.parse(lines.at(-1)!.time);
    expect(lines.length).toBeLessThanOrEqual(LINES_PER_SECOND * (Math.floor((last - first) / 1000) + 1));
    expect(lines.length).toBeLessThan(REQUESTS);
    // Each line has the request id nginx sent, both reasons, and whom; the others are counted as suppressed.
    for (const line of lines) {
      expect(line).toMatchObject({ liveStatus: 200, liveReason: 'session_cookie', shadowStatus: 403, shadowReason: 'group_not_allowed', policy: 'grafana' });
      expect(line).toMatchObject({ user: 'dev-1', email: 'dev@example.com', host: 'grafana.example.com' });
      expect(line.requestId).toMatch(/^[0-9a-f]{32}$/);
    }
    const suppressed = lines.reduce((n, l) => n + (l.suppressed as number), 0);
    expect(lines.length + suppressed).toBeLessThanOrEqual(REQUESTS);
    expect(airy.logs()).not.toContain(dev);
  });
});
