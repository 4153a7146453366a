import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

/**
 * Every step of the decision, through a real Debian nginx configured the way ingress-nginx
 * renders `auth-url` + `auth-signin` + `auth-response-headers`, a real upstream and the built CLI.
 */
describeWithTools('decision steps through real nginx (ingress-nginx shape)', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let broken: AiryProcess;
  let off: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const key = compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!;
  const responseHeaders = 'X-Auth-Request-User,X-Auth-Request-Email';

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    [airy, broken, off] = await Promise.all([
      startAiry(securityYaml(PROTECTED)),
      startAiry('security:\n  systemToken: "x"\n  jwtSecret: "too-short"\n'),
      startAiry(securityYaml({ systemToken: TEST_SYSTEM_TOKEN })),
    ]);
    const up = `127.0.0.1:${upstream.port}`;
    const annotations = (a: AiryProcess, signin = true) => ({
      'auth-url': `${a.url}/auth`,
      ...(signin ? { 'auth-signin': 'https://auth.example.com/login' } : {}),
      'auth-response-headers': responseHeaders,
    });
    nginx = await startNginx({
      paths: [
        { path: '/api/', upstream: up, annotations: annotations(airy, false) },
        { path: '/noconfig/', upstream: up, annotations: annotations(broken) },
        { path: '/open/', upstream: up, annotations: annotations(off) },
        { path: '/', upstream: up, annotations: annotations(airy) },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([airy?.stop(), broken?.stop(), off?.stop()]);
    await upstream?.close();
  });

  async function get(path: string, headers: Record<string, string> = {}) {
    const res = await request(`${nginx.url}${path}`, { headers: { host: 'app.example.com', ...headers } });
    const text = await res.body.text();
    const echo = res.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string>; url: string }) : undefined;
    return { status: res.statusCode, headers: res.headers, echo, text };
  }

  it('1. no valid config: the auth answer is 503, which nginx turns into 500, never into an allow', async () => {
    const r = await get('/noconfig/x', { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
    expect(r.status).toBe(500);
    expect((await request(`${broken.url}/readyz`)).statusCode).toBe(503);
  });

  it('2. auth off (systemToken without jwtSecret): everything passes, and the log says so loudly', async () => {
    expect((await get('/open/anything')).status).toBe(200);
    expect(off.logs()).toContain('AUTHENTICATION IS OFF');
    expect(off.logs()).not.toContain(TEST_SYSTEM_TOKEN);
    const metrics = await (await request(off.metricsUrl)).body.text();
    expect(metrics).toMatch(/^airy_auth_enabled 0$/m);
  });

  it('3. a disallowed Origin gets 403 even with a valid token; an allowed one passes', async () => {
    expect((await get('/api/x', { origin: 'https://evil.example.net', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).status).toBe(403);
    expect((await get('/api/x', { origin: 'https://app.example.com', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).status).toBe(200);
    expect((await get('/api/x', { origin: 'https://deep.sub.example.org', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).status).toBe(200);
  });

  it('4. public paths pass without credentials, and a traversal out of them does not', async () => {
    const r = await get('/webhooks/github?x=1', { 'x-auth-request-user': 'admin' });
    expect(r.status).toBe(200);
    // The client's forged identity header is replaced by the (empty) auth answer: nginx drops it.
    expect(r.echo!.headers['x-auth-request-user']).toBeUndefined();
    expect((await get('/webhooks/%2e%2e/admin')).status).toBe(302);
    expect((await get('/admin?/webhooks/x')).status).toBe(302);
  });

  it('4b. client-sent X-Original-URL or X-Forwarded-Uri cannot make a path public', async () => {
    expect((await get('/admin', { 'x-original-url': 'http://app.example.com/webhooks/x' })).status).toBe(302);
    // X-Forwarded-Uri naming another request than X-Original-URL is a forgery: refused outright.
    expect((await get('/api/admin', { 'x-forwarded-uri': '/webhooks/x', 'x-forwarded-host': 'app.example.com' })).status).toBe(403);
  });

  it('5. the systemToken as Bearer or raw passes, and the upstream sees user "system-token"', async () => {
    for (const authorization of [`Bearer ${TEST_SYSTEM_TOKEN}`, TEST_SYSTEM_TOKEN]) {
      const r = await get('/api/conversations.list', { authorization, 'x-auth-request-user': 'forged' });
      expect(r.status).toBe(200);
      expect(r.echo!.headers['x-auth-request-user']).toBe('system-token');
      expect(r.echo!.headers['x-auth-request-email']).toBeUndefined();
    }
  });

  it('5b. a wrong token: 401 with WWW-Authenticate on the API path, 302 to sign-in on the browser path', async () => {
    const api = await get('/api/x', { authorization: 'Bearer wrong' });
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toBe('Bearer realm="airy-auth", error="invalid_token"');
    const page = await get('/dashboard', { authorization: 'Bearer wrong' });
    expect(page.status).toBe(302);
  });

  it('5c. a session JWT in the Authorization header passes with its identity', async () => {
    const token = await mintSession(key, { sub: 'u-42', email: 'ann@example.com' }, 600, Date.now());
    const r = await get('/api/x', { authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    expect(r.echo!.headers).toMatchObject({ 'x-auth-request-user': 'u-42', 'x-auth-request-email': 'ann@example.com' });
  });

  it('6. a valid airy_auth_token cookie passes; an expired one is sent to sign-in', async () => {
    const token = await mintSession(key, { sub: 'u-7', email: 'bob@example.com' }, 600, Date.now());
    const r = await get('/dashboard', { cookie: `theme=dark; airy_auth_token=${token}` });
    expect(r.status).toBe(200);
    expect(r.echo!.headers).toMatchObject({ 'x-auth-request-user': 'u-7', 'x-auth-request-email': 'bob@example.com' });
    const expired = await mintSession(key, { sub: 'u-7' }, 60, Date.now() - 120_000);
    expect((await get('/dashboard', { cookie: `airy_auth_token=${expired}` })).status).toBe(302);
  });

  it('7. no credentials: 302 to auth-signin with rd= the escaped original URL; 401 on the API path', async () => {
    const r = await get('/inbox/c1?tab=open&x=a b'.replace(' ', '%20'));
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('https://auth.example.com/login?rd=http://app.example.com%2Finbox%2Fc1%3Ftab%3Dopen%26x%3Da%2520b');
    const api = await get('/api/x');
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toBe('Bearer realm="airy-auth"');
  });

  it('8. a session whose email no longer matches allowedEmailPatterns gets 403', async () => {
    const token = await mintSession(key, { sub: 'u-9', email: 'mallory@elsewhere.io' }, 600, Date.now());
    expect((await get('/dashboard', { cookie: `airy_auth_token=${token}` })).status).toBe(403);
  });

  it('counts every decision in airy_auth_decisions_total and never logs a token', async () => {
    const metrics = await (await request(airy.metricsUrl)).body.text();
    for (const reason of [
      'origin_not_allowed',
      'public_path',
      'system_token',
      'session_token',
      'session_cookie',
      'invalid_token',
      'invalid_cookie',
      'no_credentials',
      'email_not_allowed',
    ]) {
      expect(metrics).toMatch(new RegExp(`^airy_auth_decisions_total\\{status="\\d+",reason="${reason}"\\} [1-9]`, 'm'));
    }
    expect(airy.logs()).not.toContain(TEST_SYSTEM_TOKEN);
    expect(airy.logs()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const code = await off.stop('SIGTERM');
    expect(code).toBe(0);
    expect(off.logs()).toContain('"msg":"stopped"');
  });
});
