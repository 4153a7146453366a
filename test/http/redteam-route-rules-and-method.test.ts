import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

/**
 * Red team of the "request the backend serves" work: calls shaped as real gateways make them, each
 * of which airy-auth answered 200 before these were fixed, although the route's rule or the real
 * method says no. Each asserts the safe answer.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/webhooks/**"
  skipPreflight: "true"
  policies:
    admin: { allowedGroups: "admins" }
`;

describe('red team: route rules and the method of the request the backend serves', () => {
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  let ann = '';
  beforeAll(async () => {
    const compiled = compileAiryYaml(CONFIG);
    srv = await startInProcess(compiled, () => allRoutes());
    ann = await mintSession(compiled.policy!.sessionKey!, { sub: 'ann-id', email: 'ann@example.com', groups: ['staff'] }, 600, Date.now());
  });
  afterAll(() => srv?.close());

  const outcome = async (path: string, headers: Record<string, string>) => {
    const res = await request(`${srv.url}${path}`, { headers: { accept: 'application/json', ...headers } });
    const body = await res.body.text();
    return `${res.statusCode} user=${res.headers['x-auth-request-user'] || '-'} ${body.trim()}`.trim();
  };

  /** Traefik's call (forward.go writeHeader): every client header copied, then its four X-Forwarded-* set. */
  const traefik = (uri: string, client: Record<string, string>) => ({
    ...client,
    host: 'airy-auth.airy-auth.svc:8080',
    'x-forwarded-method': 'GET',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'app.example.com',
    'x-forwarded-uri': uri,
    'x-forwarded-for': '192.0.2.7',
  });

  it('control: Traefik in front of /auth without forged headers is refused, and a real preflight passes', async () => {
    expect(await outcome('/auth', traefik('/admin', {}))).toMatch(/^403 .*forwarded_mismatch/);
    const preflight = { ...traefik('/admin', {}), 'x-forwarded-method': 'OPTIONS', origin: 'https://app.example.com', 'access-control-request-method': 'GET' };
    expect(await outcome('/forward-auth', preflight)).toMatch(/^200 .*/);
  });

  it('behind a forward-auth gateway, /auth never takes the method from a client X-Original-Method (GET judged as a preflight)', async () => {
    // The client asks GET /admin through Traefik (or Caddy) whose auth URL still names /auth, with
    // no credentials. It forges X-Original-URL equal to the real URL (so X-Forwarded-Uri/-Host agree)
    // and X-Original-Method: OPTIONS plus a preflight's headers. Traefik forwards GET /admin.
    const forged = traefik('/admin', {
      'x-original-url': 'https://app.example.com/admin',
      'x-original-method': 'OPTIONS',
      origin: 'https://app.example.com',
      'access-control-request-method': 'GET',
    });
    // Before the fix: 200 (reason preflight). The docs say such an Ingress "is refused on every request".
    expect(await outcome('/auth?policy=admin', forged)).not.toMatch(/^200/);
    expect(await outcome('/auth', forged)).not.toMatch(/^200/);
  });

  it('/gateway-api never drops the rule on its own URL (`/gateway-api?allowed_groups=admins`, `?policy=admin`)', async () => {
    // NGINX Gateway Fabric's call: Path/Method headers. The query of the configured path is a rule
    // the operator wrote; ignoring it opens the route to every signed-in user. /auth and
    // /forward-auth refuse or apply such a query; here it is silently ignored.
    const call = { host: 'app.example.com', path: '/admin', method: 'GET', authorization: `Bearer ${ann}` };
    expect(await outcome('/gateway-api', call)).toMatch(/^200 user=ann-id/);
    expect(await outcome('/gateway-api?allowed_groups=admins', call)).not.toMatch(/^200/);
    expect(await outcome('/gateway-api?policy=admin', call)).not.toMatch(/^200/);
    expect(await outcome('/gateway-api?no_such_rule=1', call)).not.toMatch(/^200/);
  });

  it('/forward-auth never ignores an unreadable rule because the client repeated it (`?Policy=admin`, `?allowed_group=admins`)', async () => {
    // docs/rules.md: "An unknown parameter ... is never ignored: every request of that route is
    // refused". A Middleware address with a typo (`?allowed_group=admins`, `?Policy=admin`) is
    // refused, until the client appends the same query to its own request: the "client's own
    // query" heuristic then drops the route's (mistyped) rule, and every signed-in user is in.
    for (const query of ['Policy=admin', 'allowed_group=admins', 'allowed_groups%5B%5D=admins', 'POLICY=admin']) {
      const auth = { authorization: `Bearer ${ann}` };
      expect(await outcome(`/forward-auth?${query}`, traefik('/admin', auth)), `${query}, client query absent`).toMatch(/^403 .*invalid_rule/);
      expect(await outcome(`/forward-auth?${query}`, traefik(`/admin?${query}`, auth)), `${query}, client repeats it`).not.toMatch(/^200/);
    }
  });

  it("skipPreflight lets through a preflight whose Origin is in allowedOrigins only, never one that is merely the request's own host", async () => {
    // docs/configuration.md: "whose Origin is in allowedOrigins". A browser never preflights a
    // same-origin request, so an OPTIONS with the request's own Origin and a preflight header is forged.
    const own = { ...traefik('/admin', {}), 'x-forwarded-method': 'OPTIONS', 'x-forwarded-host': 'other.example.com' };
    const forged = { ...own, origin: 'https://other.example.com', 'access-control-request-method': 'GET' };
    expect(await outcome('/forward-auth', forged)).toMatch(/^401 /);
  });
});
