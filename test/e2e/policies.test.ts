import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Rules per app through one real nginx in the ingress-nginx shape: several Ingress-like
 * locations point at the same airy-auth with different oauth2-proxy-style auth URLs.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com,https://inbox.example.com"
  allowedEmailPatterns: "*@example.com,*@partner.io"
  publicPaths: "/inbox/public/**,/grafana/public/**"
  policies:
    support:
      allowedGroups: "support"
      allowedOrigins: "https://inbox.example.com"
      publicPaths: "/inbox/public/**"
    staff:
      allowedEmailPatterns: "*@example.com"
`;
const IDENTITY = 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups';

describeWithTools('per-app rules through real nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const key = compileAiryYaml(CONFIG).policy!.sessionKey!;
    const mint = (sub: string, email: string, groups?: string[]) => mintSession(key, { sub, email, groups }, 3600, Date.now());
    tokens.ann = await mint('ann', 'ann@example.com', ['sre', 'acme:platform']);
    tokens.bob = await mint('bob', 'bob@partner.io', ['support']);
    tokens.boss = await mint('boss', 'boss@example.com');
    tokens.core = await mint('core', 'core@example.com'); // an Airy Core token: no groups claim
    upstream = await startEchoUpstream();
    airy = await startAiry(CONFIG);
    const up = `127.0.0.1:${upstream.port}`;
    const at = (query: string) => ({ 'auth-url': `${airy.url}/auth${query}`, 'auth-response-headers': IDENTITY });
    nginx = await startNginx({
      paths: [
        { path: '/grafana/', upstream: up, annotations: at('?allowed_groups=sre') },
        { path: '/inbox/', upstream: up, annotations: at('?policy=support') },
        { path: '/admin/', upstream: up, annotations: at('?allowed_emails=boss@example.com&allowed_emails=ann@example.com') },
        { path: '/partners/', upstream: up, annotations: at('?allowed_email_domains=partner.io') },
        { path: '/staff-sre/', upstream: up, annotations: at('?policy=staff&allowed_groups=sre,oncall') },
        { path: '/typo/', upstream: up, annotations: at('?allowed_group=sre') },
        { path: '/unknown/', upstream: up, annotations: at('?policy=nope') },
        { path: '/', upstream: up, annotations: at('') },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  async function get(path: string, who: string | undefined, headers: Record<string, string> = {}) {
    const auth = who ? { authorization: who === 'system' ? `Bearer ${TEST_SYSTEM_TOKEN}` : `Bearer ${tokens[who]}` } : {};
    const res = await request(`${nginx.url}${path}`, { headers: { host: 'app.example.com', ...auth, ...headers } });
    const text = await res.body.text();
    return { status: res.statusCode, echo: res.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string> }) : undefined };
  }

  it.each([
    // route, who, expected
    ['/grafana/d/1', 'ann', 200],
    ['/grafana/d/1', 'bob', 403],
    ['/grafana/d/1', 'core', 403], // Airy Core tokens carry no groups: a group rule refuses them
    ['/grafana/d/1', 'system', 403], // the route names people (a group) and its policy does not set allowSystemToken
    ['/grafana/d/1', undefined, 401],
    ['/inbox/tickets', 'bob', 200],
    ['/inbox/tickets', 'ann', 403],
    ['/inbox/public/faq', undefined, 200], // public globally and in the policy
    ['/grafana/public/x', undefined, 200], // public globally, and the route's rule names no public paths of its own
    ['/grafana/private', undefined, 401],
    ['/admin/', 'boss', 200],
    ['/admin/', 'ann', 200],
    ['/admin/', 'core', 403],
    ['/partners/', 'bob', 200],
    ['/partners/', 'ann', 403],
    ['/staff-sre/', 'ann', 200], // staff (an example.com email) and in sre
    ['/staff-sre/', 'bob', 403], // partner.io: not staff, even were he in sre
    ['/typo/', 'ann', 403], // an unknown parameter is never ignored
    ['/unknown/', 'ann', 403],
    ['/anything', 'core', 200], // no rule on the route: Airy Core's behaviour
  ] as const)('%s as %s → %d', async (path, who, expected) => {
    expect((await get(path, who)).status).toBe(expected);
  });

  it('narrows the origins: the support policy admits only its own origin', async () => {
    expect((await get('/inbox/tickets', 'bob', { origin: 'https://inbox.example.com' })).status).toBe(200);
    expect((await get('/inbox/tickets', 'bob', { origin: 'https://app.example.com' })).status).toBe(403);
    expect((await get('/anything', 'bob', { origin: 'https://app.example.com' })).status).toBe(200);
  });

  it('passes the groups upstream, comma-joined, over whatever the client sent', async () => {
    const r = await get('/grafana/d/1', 'ann', { 'x-auth-request-groups': 'admins' });
    expect(r.echo!.headers['x-auth-request-groups']).toBe('sre,acme:platform');
    const none = await get('/anything', 'core', { 'x-auth-request-groups': 'admins' });
    expect(none.echo!.headers['x-auth-request-groups'] ?? '').toBe('');
  });

  it('logs each distinct rule mistake once, and counts decisions by policy name, never by raw query', async () => {
    for (let i = 0; i < 3; i++) await get('/typo/', 'ann');
    await waitFor(() => airy.logs().includes('allowed_group'), 'the warning');
    const warnings = airy
      .logs()
      .split('\n')
      .filter((l) => l.includes('cannot apply'));
    expect(warnings.filter((l) => l.includes('unknown auth URL parameter \\"allowed_group\\"'))).toHaveLength(1);
    // The policy name is a query value, which a client may choose: never quoted in a log line.
    expect(warnings.some((l) => l.includes('unknown policy;') && l.includes('configured policies: support, staff'))).toBe(true);
    expect(warnings.some((l) => l.includes('nope'))).toBe(false);
    const metrics = await (await request(airy.metricsUrl)).body.text();
    expect(metrics).toMatch(/airy_auth_rule_decisions_total\{policy="support",status="200"\} [1-9]/);
    expect(metrics).toMatch(/airy_auth_rule_decisions_total\{policy="query",status="403"\} [1-9]/);
    expect(metrics).toMatch(/airy_auth_decisions_total\{status="403",reason="group_not_allowed"\} [1-9]/);
    expect(metrics).toMatch(/airy_auth_decisions_total\{status="403",reason="invalid_rule"\} [1-9]/);
    expect(metrics).not.toContain('allowed_group');
  });

  it('selects a policy on the Envoy and Gateway API adapters by path, and reads Traefik-style rules on /forward-auth', async () => {
    const ask = async (path: string, who: string, headers: Record<string, string> = {}) => {
      const res = await request(`${airy.url}${path}`, { headers: { host: 'inbox.example.com', authorization: `Bearer ${tokens[who]}`, ...headers } });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await ask('/envoy-policy/support/tickets', 'bob')).toBe(200);
    expect(await ask('/envoy-policy/support/tickets', 'ann')).toBe(403);
    expect(await ask('/envoy-policy/nope/tickets', 'bob')).toBe(403);
    expect(await ask('/gateway-api-policy/support/tickets', 'bob')).toBe(200);
    expect(await ask('/gateway-api-policy/support', 'ann', { path: '/tickets', method: 'GET' })).toBe(403);
    expect(await ask('/gateway-api-policy/support', 'bob', { path: '/tickets', method: 'GET' })).toBe(200);
    const fwd = { 'x-forwarded-host': 'inbox.example.com', 'x-forwarded-uri': '/tickets?tab=open', 'x-forwarded-proto': 'https' };
    expect(await ask('/forward-auth?allowed_groups=support', 'bob', fwd)).toBe(200);
    expect(await ask('/forward-auth?allowed_groups=support', 'ann', fwd)).toBe(403);
    // Caddy's `uri /forward-auth` keeps the client's own query: that is the app's, not a rule.
    expect(await ask('/forward-auth?tab=open', 'ann', fwd)).toBe(200);
  });
});
