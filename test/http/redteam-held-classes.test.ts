import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Red team: classes tried that HELD (these tests passed when written). Kept as
 * regression tests: each is a request a real gateway would forward, and the answer must stay
 * what it is. Gateway shapes as in test/http/trust-model.test.ts.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/webhooks/**"
  policies:
    admin: { allowedGroups: "admins" }
    ops: { allowedGroups: "admins", allowSystemToken: true }
    web: { allowedOrigins: "https://app.example.com" }
`;

describe('red team, held: path, rule query, systemToken, header and cookie variants', () => {
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  let ann = '';
  let boss = '';
  beforeAll(async () => {
    const compiled = compileAiryYaml(CONFIG);
    srv = await startInProcess(compiled, () => allRoutes());
    const key = compiled.policy!.sessionKey!;
    ann = await mintSession(key, { sub: 'ann-id', email: 'ann@example.com', groups: ['staff'] }, 600, Date.now());
    boss = await mintSession(key, { sub: 'boss-id', email: 'boss@example.com', groups: ['admins'] }, 600, Date.now());
  });
  afterAll(() => srv?.close());

  const status = async (path: string, headers: Record<string, string | string[]>) => {
    const res = await request(`${srv.url}${path}`, { headers: { accept: 'application/json', ...headers } });
    await res.body.dump();
    return res.statusCode;
  };
  const nginx = (url: string, extra: Record<string, string | string[]> = {}) => ({ host: 'airy', 'x-original-url': url, 'x-original-method': 'GET', ...extra });
  const fwd = (uri: string, extra: Record<string, string | string[]> = {}) => ({
    host: 'airy',
    'x-forwarded-method': 'GET',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'app.example.com',
    'x-forwarded-uri': uri,
    ...extra,
  });

  it('HOLDS: path tricks after a public prefix are never public on /auth, /forward-auth and /envoy', async () => {
    expect(await status('/auth', nginx('https://app.example.com/webhooks/x'))).toBe(200);
    expect(await rawRequest(srv.port, 'GET /envoy/webhooks/x HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n')).toContain(' 200 ');
    const tricks = [
      '/webhooks/..;/admin',
      '/webhooks/x/..%3B/admin',
      '/webhooks/%2e%2e/admin',
      '/webhooks/%252e%252e/admin',
      '/webhooks/..%5cadmin',
      '/webhooks/..%2fadmin',
      '/webhooks//../admin',
      '/webhooks/x%00',
      '/webhooks/%C0%AE%C0%AE/admin',
      '/webhooks/x%23/../../admin',
      '/webhooks/x%3F/../../admin',
    ];
    const allowed: string[] = [];
    for (const t of tricks) {
      if ((await status('/auth', nginx(`https://app.example.com${t}`))) === 200) allowed.push(`/auth ${t}`);
      if ((await status('/forward-auth', fwd(t))) === 200) allowed.push(`/forward-auth ${t}`);
      // Raw bytes: a URL-parsing client would resolve the dot segments before sending.
      const line = await rawRequest(srv.port, `GET /envoy${t} HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n`);
      if (line.includes(' 200 ')) allowed.push(`/envoy ${t}`);
    }
    expect(allowed).toEqual([]);
  });

  it('HOLDS: rule query variants refuse or narrow, never widen (repeats, empty values, case, NUL, ";")', async () => {
    const bearerAnn = { authorization: `Bearer ${ann}` };
    const url = 'https://app.example.com/admin';
    for (const q of [
      'allowed_groups=admins&allowed_groups=',
      'policy=admin&policy=admin',
      'policy=admin&policy=',
      'policy=',
      'ALLOWED_GROUPS=staff',
      'allowed_groups=admins%00',
      'allowed_groups=admins;staff',
      'allowed_groups=admins,',
      'allowed_emails=ann@example.com@x',
    ]) {
      expect(await status(`/auth?${q}`, nginx(url, bearerAnn)), q).toBe(403);
    }
    // Without X-Original-URL (a hand-written auth_request that forgets it) the auth URL's rule still applies.
    expect(await status('/auth?allowed_groups=admins', { host: 'app.example.com', ...bearerAnn })).toBe(403);
    expect(await status('/auth?allowed_groups=admins', { host: 'app.example.com', authorization: `Bearer ${boss}` })).toBe(200);
  });

  it('HOLDS: the systemToken (raw or Bearer) is refused by rules that name people, admitted by allowSystemToken, never read from a cookie', async () => {
    const url = 'https://app.example.com/admin';
    for (const auth of [TEST_SYSTEM_TOKEN, `Bearer ${TEST_SYSTEM_TOKEN}`, `bearer  ${TEST_SYSTEM_TOKEN} `]) {
      expect(await status('/auth', nginx(url, { authorization: auth })), auth).toBe(200);
      expect(await status('/auth?policy=admin', nginx(url, { authorization: auth }))).toBe(403);
      expect(await status('/auth?allowed_email_domains=example.com', nginx(url, { authorization: auth }))).toBe(403);
      expect(await status('/auth?policy=ops&allowed_groups=admins', nginx(url, { authorization: auth }))).toBe(403);
      expect(await status('/auth?policy=ops', nginx(url, { authorization: auth }))).toBe(200);
      expect(await status('/auth?policy=web', nginx(url, { authorization: auth }))).toBe(200);
      expect(await status('/envoy-policy/admin/admin', { host: 'app.example.com', authorization: auth })).toBe(403);
    }
    expect(await status('/auth', nginx(url, { cookie: `airy_auth_token=${TEST_SYSTEM_TOKEN}` }))).toBe(401);
    expect(await status('/auth', nginx(url, { authorization: `Basic ${Buffer.from(`x:${TEST_SYSTEM_TOKEN}`).toString('base64')}` }))).toBe(401);
  });

  it('HOLDS: header name variants and repeats never describe the request or pass a credential', async () => {
    const url = 'https://app.example.com/admin';
    expect(await status('/auth', nginx(url, { x_original_url: 'https://app.example.com/webhooks/x' }))).toBe(401);
    expect(await status('/auth', { host: 'airy', 'x-original-url': [url, 'https://app.example.com/webhooks/x'] })).not.toBe(200);
    expect(await status('/forward-auth', fwd('/admin', { 'x-forwarded-uri': ['/admin', '/webhooks/x'] }))).not.toBe(200);
    expect(await status('/auth', nginx(url, { authorization: ['Bearer x', `Bearer ${TEST_SYSTEM_TOKEN}`] }))).not.toBe(200);
    expect(await status('/envoy/admin', { host: 'app.example.com', path: '/webhooks/x', method: 'OPTIONS' })).toBe(401);
  });

  it('HOLDS: cookies: the first valid one wins, quoted values and several Cookie headers read, forged ones never pass', async () => {
    const url = 'https://app.example.com/admin';
    expect(await status('/auth', nginx(url, { cookie: `airy_auth_token=forged.x.y; airy_auth_token="${ann}"` }))).toBe(200);
    expect(await status('/auth', nginx(url, { cookie: ['a=1', `airy_auth_token=${ann}`] }))).toBe(200);
    expect(await status('/auth', nginx(url, { cookie: `AIRY_AUTH_TOKEN=${ann}; airy_auth_tokenx=${ann}` }))).toBe(401);
    expect(await status('/auth?policy=admin', nginx(url, { cookie: `airy_auth_token=${ann}; airy_auth_token=${boss}` }))).toBe(403);
  });
});
