import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { startAppUpstream } from '../helpers/app-upstream.js';
import { chromiumInstalled, launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * "Log out" on an app of a login host, over plain http (Chromium sends no Fetch Metadata there):
 * the logout must not loop through a confirmation page, and must end everything the login host
 * holds (the refresh token above all), so the next person at this browser gets a login form,
 * not the account of the one who logged out.
 */
describeWithTools(
  'logout from an app host of a login host (Chromium, nginx, oidc-provider)',
  { nginx: nginxInstalled, chromium: chromiumInstalled, openssl: ensureTestCa() !== undefined },
  () => {
    let browser: Browser;
    let idp: TestIdp;
    let app: Awaited<ReturnType<typeof startAppUpstream>>;
    let airy: AiryProcess;
    let gate: RunningNginx;
    let port: number;
    const host = (name: string) => `http://${name}.example.test:${port}`;

    beforeAll(async () => {
      port = await freePort();
      app = await startAppUpstream();
      idp = await startTestIdp({
        accounts: { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' } },
        clients: [
          {
            client_id: 'airy',
            client_secret: 'airy-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`${host('auth')}/login/oauth2/code/my-idp`],
            post_logout_redirect_uris: [`${host('app-a')}/bye`],
          },
        ],
      });
      airy = await startAiry(`security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicUrl: "${host('auth')}"
  cookieDomain: ".example.test"
  redirectDomains: "http://app-a.example.test:${port}"
  logoutSuccessUrl: "${host('app-a')}/bye"
  sessionRecheck: "10m"
  oidc:
    provider: my-idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`);
      const a = airy.url.replace('http://', '');
      const annotations = {
        'auth-url': `${airy.url}/auth`,
        'auth-signin': `${host('auth')}/login`,
        'auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email',
      };
      gate = await startNginx(
        {
          paths: [
            { path: '/login', upstream: a },
            { path: '/oauth2/', upstream: a },
            { path: '/logout', upstream: a },
            { path: '/', upstream: `127.0.0.1:${app.port}`, annotations },
          ],
        },
        port,
      );
      browser = await launchChromium(['--host-resolver-rules=MAP *.example.test 127.0.0.1']);
    });
    afterAll(async () => {
      await browser?.close();
      await gate?.stop();
      await airy?.stop();
      await Promise.all([idp?.close(), app?.close()]);
    });

    it('logs out from the app host without a loop, revokes the refresh token, and the next visit gets a login form', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      // Where the browser went, printed when a wait fails.
      const visited: string[] = [];
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) visited.push(f.url());
      });
      page.setDefaultTimeout(10_000);
      await page.goto(`${host('app-a')}/inbox`);
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any-password');
      await page.click('button[type=submit]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${host('app-a')}/inbox`);
      expect(await page.textContent('#user')).toBe('alice');
      const refresh = (await context.cookies(`${host('auth')}/login`)).filter((c) => c.name === 'airy_auth_refresh');
      expect(refresh.map((c) => c.path)).toEqual(['/login']);

      const revocations = () => idp.requests.filter((r) => r.method === 'POST' && r.path === '/token/revocation').length;
      // "Log out" on the app: the app host hands over to the login host, which ends everything and
      // sends the browser to the provider's own logout, which asks once.
      await page.click('#logout');
      await page.waitForSelector('button:has-text("Yes, sign me out")').catch(async (err: unknown) => {
        throw new Error(
          `${String(err)}\nvisited: ${visited.join(' -> ')}\npage: ${(await page.content()).slice(0, 600)}\nairy-auth: ${airy.logs().slice(-1500)}`,
        );
      });
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      expect(revocations()).toBe(1);
      const left = (await context.cookies([`${host('auth')}/login`, `${host('auth')}/logout`, `${host('app-a')}/`])).map((c) => c.name);
      expect(left.filter((n) => n.startsWith('airy_auth_'))).toEqual([]);
      await page.click('button:has-text("Yes, sign me out")');

      // Back on the app, with nobody logged in: the login host sends the browser to the provider's
      // login form, never silently back into alice's account.
      await page.waitForSelector('input[name=login]');
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      await page.goto(`${host('auth')}/login?rd=${encodeURIComponent(`${host('app-a')}/inbox`)}`);
      await page.waitForSelector('input[name=login]');
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      await context.close();
    });
  },
);
