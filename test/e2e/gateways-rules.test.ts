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

const api = { accept: 'application/json', 'sec-fetch-mode': 'cors' };

/**
 * The decision table for groups and named policies, through every gateway adapter, each
 * selecting the `grafana` policy the way its protocol allows (a query on the auth URL, Caddy's
 * uri, Envoy's /envoy-policy/NAME prefix, the Gateway API filter's /gateway-api-policy/NAME).
 */
describeWithTools('groups and a named policy through every gateway adapter', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  const gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};
  const bearer = (who: string) => () => ({ authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    table = await startGatewayTable(CONFIG, 'grafana');
    gateways.push(...table.gateways);
    const key = table.key;
    const mint = (sub: string, email: string, groups?: string[]) => mintSession(key, { sub, email, groups }, 600, Date.now());
    tokens.sre = await mint('sre-id', 'sre@example.com', ['acme', 'acme:sre']);
    tokens.oncall = await mint('oncall-id', 'oncall@example.com', ['oncall']);
    tokens.support = await mint('support-id', 'support@example.com', ['support']);
    tokens.partner = await mint('partner-id', 'p@partner.io', ['acme:sre']);
    tokens.core = await mint('core-id', 'core@example.com');
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  const ROWS: Row[] = [
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

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => expectRowEverywhere(gateways, row));
});
