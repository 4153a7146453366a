import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { startAppUpstream } from '../helpers/app-upstream.js';
import { chromiumInstalled, launchChromium, SCREENSHOTS } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * One login for every app: two app hosts and one login host, all mapped to loopback in Chromium,
 * behind one real nginx in the ingress-nginx shape. The session cookie is set for the parent
 * domain by the login host; the provider knows only the login host's callback.
 */
describeWithTools(
  'one login across subdomains (Chromium, nginx, oidc-provider)',
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
          },
        ],
      });
      airy = await startAiry(`security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicUrl: "${host('auth')}"
  cookieDomain: ".example.test"
  redirectDomains: "http://app-a.example.test:${port},http://*.apps.example.test:${port}"
  oidc:
    provider: my-idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`);
      const a = airy.url.replace('http://', '');
      const up = `127.0.0.1:${app.port}`;
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
            { path: '/', upstream: up, annotations },
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

    it('logs in once on app A, opens app B without a second login; a target outside redirectDomains is refused', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${host('app-a')}/inbox`);
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any-password');
      await page.click('button[type=submit]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${host('app-a')}/inbox`);
      expect(await page.textContent('#user')).toBe('alice');
      await page.screenshot({ path: join(SCREENSHOTS, 'single-login-01-app-a.png') });
      const cookie = (await context.cookies(host('app-a'))).find((c) => c.name === 'airy_auth_token')!;
      expect(cookie.domain).toBe('.example.test');

      // App B, another host under the same domain: no second login.
      await page.goto(`${host('grafana.apps')}/d/1`);
      expect(page.url()).toBe(`${host('grafana.apps')}/d/1`);
      expect(await page.textContent('#user')).toBe('alice');
      await page.screenshot({ path: join(SCREENSHOTS, 'single-login-02-app-b-no-login.png') });

      // The login host never sends the browser to a host outside redirectDomains: it lands on the
      // first redirectDomains host instead (the login host's own / is a 404).
      await page.goto(`${host('auth')}/login?rd=${encodeURIComponent('http://evil.example.net/steal')}`);
      expect(new URL(page.url()).hostname).not.toBe('evil.example.net');
      expect(page.url()).toBe(`${host('app-a')}/`);
      await context.close();
    });
  },
);
