import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { caddyInstalled, startCaddy } from '../helpers/caddy.js';
import { startEnvoyLikeGateway, startGatewayApiLikeGateway } from '../helpers/envoy-ext-authz.js';
import { nginxInstalled, startNginx } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com"
  publicPaths: "/webhooks/**"
  skipPreflight: "true"
  oidc:
    provider: github
    clientId: gh-client
    clientSecret: gh-secret
    allowedEmailPatterns: "*@example.com"
`;

interface Gateway {
  readonly name: string;
  readonly url: string;
  /** Where a 401 is sent instead, if this gateway redirects it (and for which requests). */
  readonly loginRedirect: ((originalUrl: string) => string) | undefined;
  readonly redirects: (row: Row) => boolean;
  close(): Promise<void>;
}

type Expect = 200 | 401 | 403;
interface Row {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers: () => Record<string, string>;
  readonly decision: Expect;
  readonly navigation?: boolean;
  readonly user?: string;
  readonly email?: string;
}

const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
const api = { accept: 'application/json', 'sec-fetch-mode': 'cors' };

/**
 * One decision table, every gateway: the same request must get the same decision whichever
 * gateway carries it (ingress-nginx and NGINX Gateway Fabric shapes through real nginx, Caddy's
 * forward_auth, an Envoy ext_authz HTTP gateway and a Gateway API ExternalAuth gateway).
 */
describeWithTools('the shared decision table through every gateway adapter', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let airy: AiryProcess;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const key = compileAiryYaml(CONFIG).policy!.sessionKey!;
    tokens.alice = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 600, Date.now());
    tokens.expired = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 60, Date.now() - 3_600_000);
    tokens.mallory = await mintSession(key, { sub: 'mallory-id', email: 'mallory@elsewhere.io' }, 600, Date.now());
    upstream = await startEchoUpstream();
    airy = await startAiry(CONFIG);
    const up = `127.0.0.1:${upstream.port}`;
    const airyHostPort = airy.url.replace('http://', '');
    const identity = ['X-Auth-Request-User', 'X-Auth-Request-Email'];

    // As the README advises: pages with auth-signin, /api/ without it.
    const annotations = { 'auth-url': `${airy.url}/auth`, 'auth-response-headers': identity.join(',') };
    const ingress = await startNginx({
      paths: [
        { path: '/api/', upstream: up, annotations },
        { path: '/', upstream: up, annotations: { ...annotations, 'auth-signin': 'http://$http_host/login' } },
      ],
    });
    gateways.push({
      name: 'ingress-nginx (auth-url)',
      url: ingress.url,
      // ingress-nginx turns every 401 of a location with auth-signin into the redirect, navigation or not.
      redirects: (row) => !row.path.startsWith('/api/'),
      loginRedirect: (u) => `${ingress.url}/login?rd=${u.replace(/^(https?:\/\/[^/]+)(.*)$/, (_m, o: string, rest: string) => o + encodeURIComponent(rest))}`,
      close: ingress.stop,
    });

    const ngf = await startNginx({
      paths: [
        {
          path: '/',
          upstream: up,
          ngf: { authUrl: `${airy.url}/gateway-api`, allowedHeaders: ['Cookie', 'Origin', 'Access-Control-Request-Method'], allowedResponseHeaders: identity },
        },
      ],
    });
    gateways.push({
      name: 'NGINX Gateway Fabric (ExternalAuth via auth_request)',
      url: ngf.url,
      loginRedirect: undefined,
      redirects: () => false,
      close: ngf.stop,
    });

    const caddy = await startCaddy(airyHostPort, up);
    gateways.push({
      name: 'Caddy forward_auth (Traefik-style X-Forwarded-*)',
      url: caddy.url,
      loginRedirect: (u) => `${caddy.url}/login?rd=${encodeURIComponent(u)}`,
      redirects: (row) => row.navigation === true,
      close: caddy.stop,
    });

    const allowed = ['cookie', 'origin', 'accept', 'sec-fetch-mode', 'x-requested-with', 'access-control-request-method'];
    const envoy = await startEnvoyLikeGateway({
      authHost: '127.0.0.1',
      authPort: airy.port,
      pathPrefix: '/envoy',
      allowedHeaders: allowed,
      allowedUpstreamHeaders: identity.map((h) => h.toLowerCase()),
      upstreamPort: upstream.port,
    });
    // Envoy terminates TLS in front: without X-Forwarded-Proto the adapter assumes https.
    gateways.push({
      name: 'Envoy ext_authz (HTTP service)',
      url: envoy.url,
      loginRedirect: (u) =>
        `${u.replace(/^http:/, 'https:').replace(/^(https:\/\/[^/]+).*$/, '$1')}/login?rd=${encodeURIComponent(u.replace(/^http:/, 'https:'))}`,
      redirects: (row) => row.navigation === true,
      close: envoy.close,
    });

    const gapi = await startGatewayApiLikeGateway({
      authHost: '127.0.0.1',
      authPort: airy.port,
      path: '/gateway-api',
      allowedHeaders: ['cookie', 'origin', 'access-control-request-method'],
      allowedResponseHeaders: identity.map((h) => h.toLowerCase()),
      upstreamPort: upstream.port,
    });
    gateways.push({ name: 'Gateway API ExternalAuth (HTTP)', url: gapi.url, loginRedirect: undefined, redirects: () => false, close: gapi.close });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await airy?.stop();
    await upstream?.close();
  });

  const ROWS: Row[] = [
    { name: 'no credentials, API call', path: '/api/list', headers: () => api, decision: 401 },
    { name: 'no credentials, browser navigation', path: '/inbox?tab=open', headers: () => navigation, decision: 401, navigation: true },
    {
      name: 'systemToken as Bearer',
      path: '/api/list',
      headers: () => ({ authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }),
      decision: 200,
      user: 'system-token',
    },
    { name: 'systemToken raw (airy CLI)', path: '/api/list', headers: () => ({ authorization: TEST_SYSTEM_TOKEN }), decision: 200, user: 'system-token' },
    { name: 'wrong token', path: '/api/list', headers: () => ({ authorization: 'Bearer nope' }), decision: 401 },
    {
      name: 'POST with the systemToken',
      method: 'POST',
      path: '/api/send',
      headers: () => ({ authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }),
      decision: 200,
      user: 'system-token',
    },
    {
      name: 'session cookie',
      path: '/inbox',
      headers: () => ({ ...navigation, cookie: `airy_auth_token=${tokens.alice}` }),
      decision: 200,
      user: 'alice-id',
      email: 'alice@example.com',
    },
    {
      name: 'session JWT as Bearer',
      path: '/api/list',
      headers: () => ({ authorization: `Bearer ${tokens.alice}` }),
      decision: 200,
      user: 'alice-id',
      email: 'alice@example.com',
    },
    {
      name: 'expired cookie, navigation',
      path: '/inbox',
      headers: () => ({ ...navigation, cookie: `airy_auth_token=${tokens.expired}` }),
      decision: 401,
      navigation: true,
    },
    { name: 'expired cookie, API call', path: '/api/list', headers: () => ({ ...api, cookie: `airy_auth_token=${tokens.expired}` }), decision: 401 },
    { name: 'email no longer allowed', path: '/api/list', headers: () => ({ cookie: `airy_auth_token=${tokens.mallory}` }), decision: 403 },
    {
      name: 'disallowed Origin with a valid token',
      path: '/api/list',
      headers: () => ({ origin: 'https://evil.example', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }),
      decision: 403,
    },
    {
      name: 'allowed Origin with a valid token',
      path: '/api/list',
      headers: () => ({ origin: 'https://app.example.com', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }),
      decision: 200,
      user: 'system-token',
    },
    {
      name: 'CORS preflight from an allowed Origin (skipPreflight)',
      method: 'OPTIONS',
      path: '/api/send',
      headers: () => ({ origin: 'https://app.example.com', 'access-control-request-method': 'POST' }),
      decision: 200,
    },
    {
      name: 'CORS preflight from another Origin',
      method: 'OPTIONS',
      path: '/api/send',
      headers: () => ({ origin: 'https://evil.example', 'access-control-request-method': 'POST' }),
      decision: 403,
    },
    { name: 'OPTIONS that is not a preflight, without credentials', method: 'OPTIONS', path: '/api/send', headers: () => api, decision: 401 },
    { name: 'public path without credentials', path: '/webhooks/github?x=1', headers: () => api, decision: 200 },
    { name: 'public path with a forged identity header', path: '/webhooks/github', headers: () => ({ 'x-auth-request-user': 'admin' }), decision: 200 },
    { name: 'traversal out of a public path', path: '/webhooks%2F..%2Fadmin', headers: () => api, decision: 401 },
  ];

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const g of gateways) {
      const res = await request(`${g.url}${row.path}`, { method: (row.method ?? 'GET') as 'GET', headers: row.headers() });
      const body = await res.body.text();
      let seen = `${res.statusCode}`;
      if (res.statusCode === 200) {
        const echoed = JSON.parse(body) as { headers: Record<string, string> };
        // Absent or empty both mean "no identity"; a forged client value must never show.
        seen += ` user=${echoed.headers['x-auth-request-user'] || '-'} email=${echoed.headers['x-auth-request-email'] || '-'}`;
      }
      if (res.statusCode === 302) seen += ` ${String(res.headers.location)}`;
      outcomes[g.name] = seen;
      const original = `${g.url}${row.path}`;
      expected[g.name] =
        row.decision === 200
          ? `200 user=${row.user ?? '-'} email=${row.email ?? '-'}`
          : row.decision === 401 && g.loginRedirect && g.redirects(row)
            ? `302 ${g.loginRedirect(original)}`
            : String(row.decision);
    }
    expect(outcomes).toEqual(expected);
  });
});
