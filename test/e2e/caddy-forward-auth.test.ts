import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { startAppUpstream } from '../helpers/app-upstream.js';
import { chromiumInstalled, launchChromium, SCREENSHOTS } from '../helpers/browser.js';
import { caddyInstalled, startCaddy } from '../helpers/caddy.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

describeWithTools(
  'forward-auth through a real Caddy forward_auth',
  { caddy: caddyInstalled, chromium: chromiumInstalled, openssl: ensureTestCa() !== undefined },
  () => {
    let idp: TestIdp;
    let airy: AiryProcess;
    let app: Awaited<ReturnType<typeof startAppUpstream>>;
    let caddy: Awaited<ReturnType<typeof startCaddy>>;
    let browser: Browser;

    beforeAll(async () => {
      const port = await freePort();
      app = await startAppUpstream();
      idp = await startTestIdp({
        accounts: { alice: { email: 'alice@example.com', email_verified: true } },
        clients: [
          {
            client_id: 'airy',
            client_secret: 'airy-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`http://127.0.0.1:${port}/login/oauth2/code/my-idp`],
          },
        ],
      });
      airy = await startAiry(`security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  oidc:
    provider: my-idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`);
      caddy = await startCaddy(airy.url.replace('http://', ''), `127.0.0.1:${app.port}`, port);
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await caddy?.stop();
      await airy?.stop();
      await Promise.all([idp?.close(), app?.close()]);
    });

    it('sends a browser navigation without a session to the login page with an absolute Location', async () => {
      const res = await request(`${caddy.url}/inbox?x=1`, { headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' } });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(`${caddy.url}/login?rd=${encodeURIComponent(`${caddy.url}/inbox?x=1`)}`);
      await res.body.dump();
    });

    it.each([
      ['fetch() (Sec-Fetch-Mode: cors)', { 'sec-fetch-mode': 'cors', accept: '*/*' }],
      ['an XHR without Sec-Fetch headers', { 'x-requested-with': 'XMLHttpRequest', accept: 'text/html' }],
      ['an API client', { accept: 'application/json' }],
    ])('answers %s with 401 and WWW-Authenticate, never a redirect', async (_name, headers) => {
      const res = await request(`${caddy.url}/api/me`, { headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="airy-auth"');
      await res.body.dump();
    });

    it('passes a request with the systemToken and copies the identity headers upstream', async () => {
      const res = await request(`${caddy.url}/api/me`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}`, 'x-auth-request-user': 'forged' } });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toMatchObject({ user: 'system-token' });
    });

    it('logs in through Caddy in Chromium, lands on the original URL, and fetch() works with the cookie', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${caddy.url}/inbox/c-9`);
      expect(new URL(page.url()).origin).toBe(idp.issuer);
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'x');
      await page.click('button[type=submit]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(`${caddy.url}/inbox/c-9`);
      expect(await page.textContent('#user')).toBe('alice');
      await page.screenshot({ path: join(SCREENSHOTS, 'caddy-01-landed-with-identity.png') });
      const api = await page.evaluate(async () => (await fetch('/api/me')).status);
      expect(api).toBe(200);
      await context.clearCookies();
      const afterExpiry = await page.evaluate(async () => {
        const r = await fetch('/api/me');
        return { status: r.status, redirected: r.redirected };
      });
      expect(afterExpiry).toEqual({ status: 401, redirected: false });
      await context.close();
    });
  },
);
