import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Regressions of the adversarial review, through the built CLI and, where the request path goes
 * through nginx, through a real nginx in the ingress-nginx shape.
 */
const CONFIG = { ...PROTECTED, allowedOrigins: 'https://app.example.com,https://*.*.*.example.org' };
const key = compileAiryYaml(securityYaml(CONFIG)).policy!.sessionKey!;

/** An HS256 token over exactly this payload text (JSON.stringify cannot write 1e999). */
function signRaw(payloadJson: string): string {
  const head = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
  const body = Buffer.from(payloadJson).toString('base64url');
  const secret = Buffer.from(TEST_JWT_SECRET, 'base64');
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

describeWithTools('hardening regressions through the real process and nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    airy = await startAiry(securityYaml(CONFIG));
    nginx = await startNginx({
      paths: [
        {
          path: '/',
          upstream: `127.0.0.1:${upstream.port}`,
          annotations: { 'auth-url': `${airy.url}/auth`, 'auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email' },
        },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  async function viaNginx(path: string, headers: Record<string, string> = {}) {
    const res = await request(`${nginx.url}${path}`, { headers: { host: 'app.example.com', ...headers } });
    const text = await res.body.text();
    return { status: res.statusCode, echo: res.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string> }) : undefined };
  }

  it('answers a crafted 7 KB Origin against a pattern with three "*" labels at once, and /healthz stays up', async () => {
    // 7 KB: under nginx's 8 KB header line limit; a backtracking matcher takes minutes on it.
    const origin = `https://${'a.'.repeat(3500)}example.or`;
    const answer = viaNginx('/x', { origin, authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
    const health = request(`${airy.url}/healthz`).then(async (r) => {
      await r.body.dump();
      return r.statusCode;
    });
    expect((await answer).status).toBe(403);
    expect(await health).toBe(200);
    // Straight to airy-auth (no nginx header limit), 20 KB: days of backtracking for a regex.
    const direct = await request(`${airy.url}/auth`, { headers: { host: 'app.example.com', origin: `https://${'a.'.repeat(10_000)}example.or` } });
    await direct.body.dump();
    expect(direct.statusCode).toBe(403);
    // The wildcard still matches what it should.
    expect((await viaNginx('/x', { origin: 'https://a.b.c.d.example.org', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).status).toBe(200);
  });

  it.each(['/webhooks/..;/admin', '/webhooks/..%3b/admin', '/webhooks/..%3B/admin', '/webhooks/..;x=1/admin', '/webhooks/.;/../admin', '/webhooks;/../admin'])(
    'a path parameter never escapes a public prefix: %s needs credentials',
    async (path) => {
      expect((await viaNginx(path)).status).toBe(401);
    },
  );

  it('still serves the public path itself without credentials', async () => {
    expect((await viaNginx('/webhooks/github')).status).toBe(200);
  });

  it('refuses an email with two "@", even in a token signed with the shared secret', async () => {
    const token = await mintSession(key, { sub: 'eve', email: 'eve@evil.com@example.com' }, 3600, Date.now());
    expect((await viaNginx('/x', { authorization: `Bearer ${token}` })).status).toBe(403);
    const fine = await mintSession(key, { sub: 'ann', email: 'ann@example.com' }, 3600, Date.now());
    expect((await viaNginx('/x', { authorization: `Bearer ${fine}` })).status).toBe(200);
  });

  it('refuses non-finite and absurd time claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const payload of [
      `{"sub":"inf","exp":1e999}`,
      `{"sub":"far","exp":${now + 400 * 365 * 86400}}`,
      `{"sub":"neg","exp":${now + 60},"nbf":-1e999}`,
      `{"sub":"iat","exp":${now + 60},"iat":1e999}`,
    ]) {
      expect((await viaNginx('/x', { authorization: `Bearer ${signRaw(payload)}` })).status, payload).toBe(401);
    }
    expect((await viaNginx('/x', { authorization: `Bearer ${signRaw(`{"sub":"ok","exp":${now + 60}}`)}` })).status).toBe(200);
  });

  it('keeps identities apart upstream: no session passes for the system token, and encoded names stay distinct', async () => {
    const impostor = await mintSession(key, { sub: 'system-token' }, 3600, Date.now());
    expect((await viaNginx('/x', { authorization: `Bearer ${impostor}` })).status).toBe(401);
    const users: string[] = [];
    for (const sub of ['ü', '%C3%BC', 'plain']) {
      const token = await mintSession(key, { sub }, 3600, Date.now());
      const r = await viaNginx('/x', { authorization: `Bearer ${token}` });
      expect(r.status).toBe(200);
      users.push(r.echo!.headers['x-auth-request-user']!);
    }
    expect(users).toEqual(['%C3%BC', '%25C3%25BC', 'plain']);
    expect(new Set(users.map(decodeURIComponent))).toEqual(new Set(['ü', '%C3%BC', 'plain']));
    const system = await viaNginx('/x', { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
    expect(system.echo!.headers['x-auth-request-user']).toBe('system-token');
  });

  it('reads Path/Method only on /gateway-api itself: on /gateway-api/<path> a client-sent Path is ignored', async () => {
    const prefixed = await request(`${airy.url}/gateway-api/admin`, { headers: { host: 'app.example.com', path: '/webhooks/x' } });
    await prefixed.body.dump();
    expect(prefixed.statusCode).toBe(401);
    const fabric = await request(`${airy.url}/gateway-api`, { headers: { host: 'app.example.com', path: '/webhooks/x', method: 'POST' } });
    await fabric.body.dump();
    expect(fabric.statusCode).toBe(200);
  });

  it('keeps the last good config when a reload brings extra YAML documents, a publicPaths "/**" or garbage; the process lives', async () => {
    const bearer = { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` };
    const reloadsInvalid = async () =>
      Number(/airy_auth_config_reloads_total\{result="invalid"\} (\d+)/.exec(await (await request(airy.metricsUrl)).body.text())?.[1] ?? 0);
    for (const text of [
      `${securityYaml(CONFIG)}---\nsecurity:\n  systemToken: other-token-0123456789\n`,
      `${securityYaml({ ...CONFIG, publicPaths: '/**' })}`,
      `${securityYaml({ ...CONFIG, publicPaths: '/webhooks/**,/**/**' })}`,
      '\t: [unclosed\n',
      '--- !!binary |\n  AAAA\n---\n',
    ]) {
      const before = await reloadsInvalid();
      writeFileSync(airy.configPath, text);
      await waitFor(async () => (await reloadsInvalid()) > before, `the reload of ${JSON.stringify(text.slice(0, 40))} to be refused`);
      expect((await viaNginx('/x')).status).toBe(401);
      expect((await viaNginx('/x', bearer)).status).toBe(200);
      expect(airy.child.exitCode).toBeNull();
    }
    expect(airy.logs()).toMatch(/would turn authentication OFF \(publicPaths \\"\/\*\*\\" makes every path public\)/);
    // A trailing "---" line alone, as editors and Helm write, is one document: accepted.
    writeFileSync(airy.configPath, `${securityYaml({ ...CONFIG, allowedOrigins: 'https://app.example.com' })}---\n`);
    await waitFor(async () => (await viaNginx('/x', { origin: 'https://a.b.c.d.example.org', ...bearer })).status === 403, 'the valid reload');
  });
});
