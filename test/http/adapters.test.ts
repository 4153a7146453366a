import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../src/config/policy.js';
import { allRoutes } from '../../src/http/routes.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { policyWithProviders } from '../helpers/providers.js';

/**
 * Every gateway adapter in process, on the one decision: each is called as its gateway calls it
 * (with and without a named policy) for the protected `GET https://app.example.com/admin/x?tab=1`,
 * and must give the same answer; the adapters whose gateways show airy-auth's body to the browser
 * (Traefik, Caddy, Envoy) give a navigation a page instead of the bare status.
 */
const TARGET = '/admin/x?tab=1';
const ORIGINAL = `https://app.example.com${TARGET}`;

interface AdapterCall {
  /** The gateway shows airy-auth's refusal to the browser (and redirects a navigation without a session to the login). */
  readonly passesBody: boolean;
  call(policy: string | undefined): { path: string; headers: Record<string, string> };
}

const ADAPTERS: Record<string, AdapterCall> = {
  '/auth (ingress-nginx auth-url)': {
    passesBody: false,
    call: (p) => ({ path: `/auth${p ? `?policy=${p}` : ''}`, headers: { 'x-original-url': ORIGINAL, 'x-original-method': 'GET' } }),
  },
  '/forward-auth (Traefik, Caddy)': {
    passesBody: true,
    call: (p) => ({
      path: `/forward-auth${p ? `?policy=${p}` : ''}`,
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': TARGET },
    }),
  },
  '/envoy (Envoy ext_authz)': {
    passesBody: true,
    call: (p) => ({ path: p ? `/envoy-policy/${p}${TARGET}` : `/envoy${TARGET}`, headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' } }),
  },
  '/gateway-api/<path> (Gateway API ExternalAuth)': {
    passesBody: false,
    call: (p) => ({
      path: p ? `/gateway-api-policy/${p}${TARGET}` : `/gateway-api${TARGET}`,
      headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' },
    }),
  },
  '/gateway-api (NGINX Gateway Fabric)': {
    passesBody: false,
    call: (p) => ({
      path: p ? `/gateway-api-policy/${p}` : '/gateway-api',
      headers: { host: 'app.example.com', 'x-forwarded-proto': 'https', path: TARGET, method: 'GET' },
    }),
  },
};

const API = { accept: 'application/json' };
const BROWSER = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

describe('every gateway adapter, in process', () => {
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  let policy: Policy;
  const tokens: Record<string, string> = {};

  const mint = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setJti(randomUUID()).setIssuedAt().setExpirationTime('1h').sign(policy.sessionKey!);

  beforeAll(async () => {
    policy = policyWithProviders(
      { ...PROTECTED, publicUrl: 'https://login.example.com' },
      { grafana: 'allowedGroups: "sre"', corpapp: 'allowedEmailPatterns: "*@example.com"' },
      [
        { name: 'corp', displayName: 'Corp <SSO>' },
        { name: 'github', displayName: 'GitHub' },
      ],
      { ruleProviders: { corpapp: ['corp'] } },
    );
    srv = await startInProcess({ policy, issues: [] }, () => allRoutes());
    tokens.staff = await mint({ sub: 'ann-id', email: 'ann@example.com', groups: ['staff'], idp: 'github' });
    tokens.sre = await mint({ sub: 'sam-id', email: 'sam@example.com', groups: ['sre'], idp: 'corp' });
    tokens.removed = await mint({ sub: 'old-id', email: 'old@example.com', idp: 'gitlab' });
  });
  afterAll(() => srv?.close());

  const ask = async (adapter: AdapterCall, policyName: string | undefined, headers: Record<string, string>) => {
    const { path, headers: gateway } = adapter.call(policyName);
    const res = await request(`${srv.url}${path}`, { headers: { ...gateway, ...headers } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  for (const [name, adapter] of Object.entries(ADAPTERS)) {
    describe(name, () => {
      it('allows a session and the system token with the identity headers, and refuses without credentials', async () => {
        const allowed = await ask(adapter, undefined, { ...API, cookie: `airy_auth_token=${tokens.staff}` });
        expect(allowed.status).toBe(200);
        expect([allowed.headers['x-auth-request-user'], allowed.headers['x-auth-request-email'], allowed.headers['x-auth-request-groups']]).toEqual([
          'ann-id',
          'ann@example.com',
          'staff',
        ]);
        const system = await ask(adapter, undefined, { ...API, authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
        expect([system.status, system.headers['x-auth-request-user']]).toEqual([200, 'system-token']);
        const none = await ask(adapter, undefined, API);
        expect(none.status).toBe(401);
        expect(none.headers['www-authenticate']).toBe('Bearer realm="airy-auth"');
        expect((await ask(adapter, undefined, { ...API, authorization: 'Bearer nonsense' })).status).toBe(401);
      });

      it("applies the named policy: a group it lacks is refused, the policy's group is allowed", async () => {
        expect((await ask(adapter, 'grafana', { ...API, cookie: `airy_auth_token=${tokens.staff}` })).status).toBe(403);
        expect((await ask(adapter, 'grafana', { ...API, cookie: `airy_auth_token=${tokens.sre}` })).status).toBe(200);
      });

      it('refuses a person from a provider the route does not accept: a page with the accepted logins where the browser sees it', async () => {
        const refused = await ask(adapter, 'corpapp', { ...API, cookie: `airy_auth_token=${tokens.staff}` });
        expect(refused.status).toBe(403);
        expect(refused.body).toBe('403 provider_not_allowed\n');
        expect((await ask(adapter, 'corpapp', { ...API, cookie: `airy_auth_token=${tokens.sre}` })).status).toBe(200);
        const page = await ask(adapter, 'corpapp', { ...BROWSER, cookie: `airy_auth_token=${tokens.staff}` });
        expect(page.status).toBe(403);
        if (!adapter.passesBody) {
          expect(page.body).toBe('403 provider_not_allowed\n');
          return;
        }
        expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(page.body).toContain('This service takes sign-ins through <strong>Corp &lt;SSO&gt;</strong> only.');
        expect(page.body).toContain('You are signed in as <strong>ann@example.com</strong>');
        expect(page.body).toContain(`href="https://login.example.com/oauth2/authorization/corp?rd=${encodeURIComponent(ORIGINAL)}"`);
        expect(page.body).toContain('>Sign in with Corp &lt;SSO&gt;</a>');
        expect(page.body).not.toContain('/oauth2/authorization/github');
      });

      it('sends a navigation from a removed provider to the login again where the gateway shows the answer, else answers 401', async () => {
        const res = await ask(adapter, undefined, { ...BROWSER, cookie: `airy_auth_token=${tokens.removed}` });
        if (adapter.passesBody) {
          expect(res.status).toBe(302);
          expect(res.headers.location).toBe(`https://login.example.com/login?rd=${encodeURIComponent(ORIGINAL)}`);
        } else expect(res.status).toBe(401);
      });
    });
  }

  it('logs the provider of an allow and of a refusal, never the token', async () => {
    const before = srv.logger.lines.length;
    await ask(ADAPTERS['/auth (ingress-nginx auth-url)']!, 'corpapp', { ...API, cookie: `airy_auth_token=${tokens.staff}` });
    const line = srv.logger.lines.slice(before).find((l) => l.msg === 'request');
    expect(line?.fields).toMatchObject({ status: 403, reason: 'provider_not_allowed', provider: 'github', user: 'ann-id', policy: 'corpapp' });
    expect(JSON.stringify(srv.logger.lines)).not.toContain(tokens.staff);
  });
});

describe('the page for a person from the wrong provider, against hostile input', () => {
  it('escapes the URL, sends rd only where the login may land, and starts the login on the request origin without publicUrl', async () => {
    const policy = policyWithProviders(
      PROTECTED,
      { corpapp: 'allowedEmailPatterns: "*@example.com"' },
      [{ name: 'corp', displayName: 'Corp' }, { name: 'github' }],
      {
        ruleProviders: { corpapp: ['corp'] },
      },
    );
    const srv = await startInProcess({ policy, issues: [] }, () => allRoutes());
    try {
      const token = await new SignJWT({ sub: 'ann', email: 'ann@example.com', idp: 'github' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(policy.sessionKey!);
      const page = async (uri: string) => {
        const res = await request(`${srv.url}/forward-auth?policy=corpapp`, {
          headers: {
            ...BROWSER,
            cookie: `airy_auth_token=${token}`,
            'x-forwarded-method': 'GET',
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'app.example.com',
            'x-forwarded-uri': uri,
          },
        });
        const body = await res.body.text();
        expect(res.statusCode, `${res.statusCode} ${JSON.stringify(srv.logger.lines.at(-1))}`).toBe(403);
        return body;
      };
      const hostile = await page('/x?q="><script>alert(1)</script>');
      expect(hostile).not.toContain('<script>');
      expect(hostile).toContain(`href="https://app.example.com/oauth2/authorization/corp?rd=${encodeURIComponent('https://app.example.com/x?q=')}`);
      // A target the login would refuse as a landing (a slash trick) gets a link with an empty rd (none).
      const trick = await page('/x//evil.example/');
      expect(trick).toContain('href="https://app.example.com/oauth2/authorization/corp?rd="');
      expect(trick).not.toContain('evil.example');
    } finally {
      await srv.close();
    }
  });
});
