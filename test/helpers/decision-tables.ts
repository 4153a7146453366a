import type { KeyObject } from 'node:crypto';
import { mintSession } from '../../src/session/mint.js';
import type { Row } from './gateways.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from './policies.js';

/**
 * The decision tables every front door must agree on: each gateway adapter through real gateways
 * (test/e2e/gateways*.test.ts), and `airy-auth explain` against the server (test/cmd/explain.test.ts).
 * Rows read their tokens lazily from `tokens`, which the mint function fills.
 */
export const CORE_TABLE_CONFIG = `security:
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

export async function mintCoreTokens(key: KeyObject, tokens: Record<string, string>): Promise<void> {
  tokens.alice = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 600, Date.now());
  tokens.expired = await mintSession(key, { sub: 'alice-id', email: 'alice@example.com' }, 60, Date.now() - 3_600_000);
  tokens.mallory = await mintSession(key, { sub: 'mallory-id', email: 'mallory@elsewhere.io' }, 600, Date.now());
}

/** The core rows: credentials, origins, preflights, public paths. */
export function coreTable(tokens: Readonly<Record<string, string>>): Row[] {
  return [
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
}

/** Selected by every adapter as the `grafana` policy. */
export const RULES_TABLE_POLICY = 'grafana';

export const RULES_TABLE_CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com,https://grafana.example.com"
  allowedEmailPatterns: "*@example.com,*@partner.io"
  publicPaths: "/webhooks/**,/health"
  policies:
    grafana:
      allowedGroups: "acme:sre,oncall"
      allowedEmailPatterns: "*@example.com"
      allowedOrigins: "https://grafana.example.com"
      publicPaths: "/health"
`;

export async function mintRulesTokens(key: KeyObject, tokens: Record<string, string>): Promise<void> {
  const mint = (sub: string, email: string, groups?: string[]) => mintSession(key, { sub, email, groups }, 600, Date.now());
  tokens.sre = await mint('sre-id', 'sre@example.com', ['acme', 'acme:sre']);
  tokens.oncall = await mint('oncall-id', 'oncall@example.com', ['oncall']);
  tokens.support = await mint('support-id', 'support@example.com', ['support']);
  tokens.partner = await mint('partner-id', 'p@partner.io', ['acme:sre']);
  tokens.core = await mint('core-id', 'core@example.com');
}

/** Groups and a named policy. */
export function rulesTable(tokens: Readonly<Record<string, string>>): Row[] {
  const bearer = (who: string) => () => ({ authorization: `Bearer ${tokens[who]}` });
  return [
    { name: 'in one of the groups', path: '/d/1', headers: bearer('sre'), decision: 200, user: 'sre-id', email: 'sre@example.com', groups: 'acme,acme:sre' },
    { name: 'in the other group', path: '/d/1', headers: bearer('oncall'), decision: 200, user: 'oncall-id', email: 'oncall@example.com', groups: 'oncall' },
    { name: 'in no group of the policy', path: '/d/1', headers: bearer('support'), decision: 403 },
    { name: 'an Airy Core token (no groups claim)', path: '/d/1', headers: bearer('core'), decision: 403 },
    { name: 'in the group, but the policy narrows the emails', path: '/d/1', headers: bearer('partner'), decision: 403 },
    {
      name: 'a forged groups header is overwritten',
      path: '/d/1',
      headers: () => ({ ...bearer('oncall')(), 'x-auth-request-groups': 'admins' }),
      decision: 200,
      user: 'oncall-id',
      email: 'oncall@example.com',
      groups: 'oncall',
    },
    {
      name: 'the policy narrows the origins: a global origin is refused',
      path: '/d/1',
      headers: () => ({ ...bearer('sre')(), origin: 'https://app.example.com' }),
      decision: 403,
    },
    {
      name: "the policy's own origin",
      path: '/d/1',
      headers: () => ({ ...bearer('sre')(), origin: 'https://grafana.example.com' }),
      decision: 200,
      user: 'sre-id',
      email: 'sre@example.com',
      groups: 'acme,acme:sre',
    },
    { name: 'public in both the global rules and the policy', path: '/health', headers: () => api, decision: 200 },
    { name: 'public globally but not in the policy: narrowed', path: '/webhooks/github', headers: () => api, decision: 401 },
    // The policy names people (groups, emails) and does not set allowSystemToken.
    {
      name: 'the systemToken, refused by a policy that names people',
      path: '/d/1',
      headers: () => ({ authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }),
      decision: 403,
    },
    { name: 'no credentials', path: '/d/1', headers: () => api, decision: 401 },
  ];
}
