import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { startAppUpstream } from '../helpers/app-upstream.js';
import { chromiumInstalled, launchChromium, SCREENSHOTS } from '../helpers/browser.js';
import { type GithubUser, startGithubDouble } from '../helpers/github-double.js';
import { freePort } from '../helpers/net.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

const RESPONSE_HEADERS = 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups';

/** nginx in the ingress-nginx shape: login routes open to airy-auth, pages with auth-signin, /api/ without. */
async function gateway(airy: AiryProcess, upstreamPort: number, port: number): Promise<RunningNginx> {
  const a = airy.url.replace('http://', '');
  const up = `127.0.0.1:${upstreamPort}`;
  const auth = { 'auth-url': `${airy.url}/auth`, 'auth-response-headers': RESPONSE_HEADERS };
  return startNginx(
    {
      paths: [
        { path: '/login', upstream: a },
        { path: '/oauth2/', upstream: a },
        { path: '/logout', upstream: a },
        { path: '/api/', upstream: up, annotations: auth },
        // Two apps behind the same airy-auth, each with its own audience, as two Ingresses would be.
        {
          path: '/grafana/',
          upstream: up,
          annotations: { ...auth, 'auth-url': `${airy.url}/auth?allowed_groups=sre`, 'auth-signin': 'http://$http_host/login' },
        },
        {
          path: '/support/',
          upstream: up,
          annotations: { ...auth, 'auth-url': `${airy.url}/auth?allowed_groups=support`, 'auth-signin': 'http://$http_host/login' },
        },
        { path: '/', upstream: up, annotations: { ...auth, 'auth-signin': 'http://$http_host/login' } },
      ],
    },
    port,
  );
}

describeWithTools(
  'browser login through nginx (Chromium)',
  { nginx: nginxInstalled, chromium: chromiumInstalled, openssl: ensureTestCa() !== undefined },
  () => {
    let browser: Browser;
    let idp: TestIdp;
    let gh: Awaited<ReturnType<typeof startGithubDouble>>;
    let app: Awaited<ReturnType<typeof startAppUpstream>>;
    let oidcAiry: AiryProcess;
    let ghAiry: AiryProcess;
    let oidcGate: RunningNginx;
    let ghGate: RunningNginx;

    beforeAll(async () => {
      const [oidcPort, ghPort] = [await freePort(), await freePort()];
      app = await startAppUpstream();
      idp = await startTestIdp({
        accounts: {
          alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['sre'] },
          mallory: { email: 'mallory@elsewhere.io', email_verified: true },
        },
        clients: [
          {
            client_id: 'airy',
            client_secret: 'airy-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`http://127.0.0.1:${oidcPort}/login/oauth2/code/my-idp`],
            post_logout_redirect_uris: [`http://127.0.0.1:${oidcPort}/bye`],
          },
        ],
      });
      const users: GithubUser[] = [
        { id: 42, login: 'octocat', name: 'The Octocat', emails: [{ email: 'octocat@example.com', primary: true, verified: true, visibility: 'public' }] },
      ];
      gh = await startGithubDouble({ clientId: 'gh-id', clientSecret: 'gh-secret', users });
      const common = `  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/public/**,/bye"
  logoutSuccessUrl: "/bye"
`;
      [oidcAiry, ghAiry] = await Promise.all([
        startAiry(
          `security:
${common}  allowedOrigins: "http://localhost:${oidcPort}"
  oidc:
    provider: my-idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`,
        ),
        startAiry(
          `security:
${common}  oidc:
    provider: github
    clientId: gh-id
    clientSecret: gh-secret
    authorizationUri: ${gh.url}/login/oauth/authorize
    tokenUri: ${gh.url}/login/oauth/access_token
    userInfoUri: ${gh.url}/user
`,
        ),
      ]);
      [oidcGate, ghGate] = await Promise.all([gateway(oidcAiry, app.port, oidcPort), gateway(ghAiry, app.port, ghPort)]);
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await Promise.all([oidcGate?.stop(), ghGate?.stop()]);
      await Promise.all([oidcAiry?.stop(), ghAiry?.stop()]);
      await Promise.all([idp?.close(), gh?.close(), app?.close()]);
    });

    const shot = (name: string) => join(SCREENSHOTS, name);

    it('generic OIDC: protected page → login form → back on the original URL with the identity; then log out', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${oidcGate.url}/inbox/c-17?tab=open`);
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      await page.screenshot({ path: shot('oidc-01-provider-login.png') });
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any-password');
      await page.click('button[type=submit]');
      await page.waitForSelector('button:has-text("Continue")');
      await page.screenshot({ path: shot('oidc-02-provider-consent.png') });
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${oidcGate.url}/inbox/c-17?tab=open`);
      expect(await page.textContent('#user')).toBe('alice');
      expect(await page.textContent('#email')).toBe('alice@example.com');
      await page.screenshot({ path: shot('oidc-03-landed-with-identity.png') });
      const cookie = (await context.cookies(oidcGate.url)).find((c) => c.name === 'airy_auth_token')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
      expect(cookie.expires - Date.now() / 1000).toBeGreaterThan(29 * 86400);

      // The session also works for fetch() on the API path.
      const api = await page.evaluate(async () => {
        const r = await fetch('/api/me');
        return { status: r.status, body: await r.json() };
      });
      expect(api).toEqual({ status: 200, body: { user: 'alice', email: 'alice@example.com', path: '/api/me' } });

      // Logout ends the IdP session too (RP-initiated logout): the provider asks, then sends the browser back.
      await page.click('#logout');
      await page.waitForSelector('button:has-text("Yes, sign me out")');
      await page.screenshot({ path: shot('oidc-04a-provider-logout.png') });
      await page.click('button:has-text("Yes, sign me out")');
      await page.waitForURL(`${oidcGate.url}/bye`);
      await page.screenshot({ path: shot('oidc-04-logged-out.png') });
      expect((await context.cookies(oidcGate.url)).find((c) => c.name === 'airy_auth_token')).toBeUndefined();
      // Logged out, a script's fetch gets a 401 it can handle, not a redirect into the provider's HTML.
      const after = await page.evaluate(async () => {
        const r = await fetch('/api/me');
        return { status: r.status, redirected: r.redirected, auth: r.headers.get('www-authenticate') };
      });
      expect(after).toEqual({ status: 401, redirected: false, auth: 'Bearer realm="airy-auth"' });
      await context.close();
    });

    it('per-app rules: the same logged-in user opens the app of her group and is refused on the other', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${oidcGate.url}/grafana/d/1`);
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any-password');
      await page.click('button[type=submit]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${oidcGate.url}/grafana/d/1`);
      expect(await page.textContent('#user')).toBe('alice');
      await page.screenshot({ path: shot('groups-01-grafana-allowed.png') });
      const support = await page.goto(`${oidcGate.url}/support/tickets`);
      expect(support!.status()).toBe(403);
      await page.screenshot({ path: shot('groups-02-support-refused.png') });
      // Still logged in: the refusal is this app's rule, not the session.
      expect((await page.goto(`${oidcGate.url}/grafana/d/2`))!.status()).toBe(200);
      await context.close();
    });

    it('generic OIDC: an email outside allowedEmailPatterns gets the 403 page that names it and offers logout', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${oidcGate.url}/inbox`);
      await page.fill('input[name=login]', 'mallory');
      await page.fill('input[name=password]', 'x');
      await page.click('button[type=submit]');
      await page.click('button:has-text("Continue")');
      await page.waitForSelector('h1:has-text("This account is not allowed")');
      await page.screenshot({ path: shot('oidc-05-email-not-allowed.png') });
      expect(await page.textContent('body')).toContain('mallory@elsewhere.io');
      expect(await page.isVisible('form[action="/logout"] button')).toBe(true);
      expect((await context.cookies(oidcGate.url)).find((c) => c.name === 'airy_auth_token')).toBeUndefined();
      await context.close();
    });

    it('cross-origin fetch: an allowed origin reads the answer, a disallowed one is refused with 403', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const target = `${oidcGate.url}/public/api/status`;
      const fetchFrom = async (pageUrl: string) => {
        await page.goto(pageUrl);
        return page.evaluate(async (url) => {
          try {
            const r = await fetch(url, { credentials: 'include' });
            return { status: r.status, body: await r.text() };
          } catch (e) {
            return { error: String(e) };
          }
        }, target);
      };
      // localhost:PORT is another origin than 127.0.0.1:PORT, and it is the one in allowedOrigins.
      const allowed = await fetchFrom(`${oidcGate.url.replace('127.0.0.1', 'localhost')}/public/page`);
      expect(allowed).toMatchObject({ status: 200 });
      const before = await metricValue(oidcAiry, 'origin_not_allowed');
      const refused = await fetchFrom(`http://localhost:${ghGate.url.split(':').at(-1)}/public/page`);
      expect(refused).toMatchObject({ error: expect.stringContaining('Failed to fetch') });
      expect(await metricValue(oidcAiry, 'origin_not_allowed')).toBe(before + 1);
      await page.screenshot({ path: shot('oidc-06-cross-origin-page.png') });
      await context.close();
    });

    it('GitHub preset: protected page → GitHub (double) authorize page → back with the GitHub identity', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${ghGate.url}/settings`);
      expect(page.url()).toContain(`${gh.url}/login/oauth/authorize`);
      await page.screenshot({ path: shot('github-01-authorize.png') });
      await page.fill('input[name=login]', 'octocat');
      await page.click('button[type=submit]');
      await page.waitForURL(`${ghGate.url}/settings`);
      expect(await page.textContent('#user')).toBe('42');
      expect(await page.textContent('#email')).toBe('octocat@example.com');
      await page.screenshot({ path: shot('github-02-landed-with-identity.png') });
      await context.close();
    });

    it('the systemToken still works next to OIDC (both kinds of authentication at once)', async () => {
      const res = await request(`${oidcGate.url}/api/conversations.list`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { user: string }).user).toBe('system-token');
    });
  },
);

async function metricValue(airy: AiryProcess, reason: string): Promise<number> {
  const text = await (await request(airy.metricsUrl)).body.text();
  const m = new RegExp(`^airy_auth_decisions_total\\{status="403",reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
