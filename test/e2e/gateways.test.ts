import { afterAll, beforeAll, it } from 'vitest';
import { mintSession } from '../../src/session/mint.js';
import { caddyInstalled } from '../helpers/caddy.js';
import { expectRowEverywhere, type Gateway, type Row, startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';

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

const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
const api = { accept: 'application/json', 'sec-fetch-mode': 'cors' };

/**
 * One decision table, every gateway: the same request must get the same decision whichever
 * gateway carries it (ingress-nginx and NGINX Gateway Fabric shapes through real nginx, Caddy's
 * forward_auth, an Envoy ext_authz HTTP gateway and a Gateway API ExternalAuth gateway).
 */
describeWithTools('the shared decision table through every gateway adapter', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  const gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    table = await startGatewayTable(CONFIG);
    gateways.push(...table.gateways);
    const key = table.key;
    tokens.alice = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 600, Date.now());
    tokens.expired = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 60, Date.now() - 3_600_000);
    tokens.mallory = await mintSession(key, { sub: 'mallory-id', email: 'mallory@elsewhere.io' }, 600, Date.now());
  }, 60_000);
  afterAll(async () => {
    await table?.close();
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

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => expectRowEverywhere(gateways, row));
});
