import { join } from 'node:path';
import { jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { startAppUpstream } from '../helpers/app-upstream.js';
import { authorizeAtGithubDouble, chromiumInstalled, launchChromium, recordNavigations, SCREENSHOTS, signInAtTestIdp } from '../helpers/browser.js';
import { caddyInstalled, startCaddy } from '../helpers/caddy.js';
import { type GithubUser, startGithubDouble } from '../helpers/github-double.js';
import { freePort } from '../helpers/net.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Two identity providers at once behind one real nginx, in Chromium: employees through the
 * company's OpenID provider (oidc-provider, groups from its `roles` claim) and contractors through
 * GitHub (the double). The login chooser, a login through each, a policy that admits only the
 * company's provider (nginx's own 403, and airy-auth's page through Caddy, which shows it), and
 * logout at the provider that issued the session.
 */
const IDENTITY = 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups';

describeWithTools(
  'two identity providers at once: oidc-provider and GitHub through nginx (Chromium)',
  { nginx: nginxInstalled, caddy: caddyInstalled, chromium: chromiumInstalled, openssl: ensureTestCa() !== undefined },
  () => {
    let browser: Browser;
    let idp: TestIdp;
    let gh: Awaited<ReturnType<typeof startGithubDouble>>;
    let app: Awaited<ReturnType<typeof startAppUpstream>>;
    let airy: AiryProcess;
    let gate: RunningNginx;
    let caddy: Awaited<ReturnType<typeof startCaddy>>;
    let config: string;

    beforeAll(async () => {
      const [gatePort, caddyPort] = [await freePort(), await freePort()];
      app = await startAppUpstream();
      idp = await startTestIdp({
        accounts: { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', roles: ['staff', 'sre'] } },
        clients: [
          {
            client_id: 'airy',
            client_secret: 'airy-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`http://127.0.0.1:${gatePort}/login/oauth2/code/corp`, `http://127.0.0.1:${caddyPort}/login/oauth2/code/corp`],
            post_logout_redirect_uris: [`http://127.0.0.1:${gatePort}/bye`],
          },
        ],
      });
      const contractor: GithubUser = {
        id: 42,
        login: 'octocat',
        name: 'The Octocat',
        emails: [{ email: 'octocat@contractors.example.net', primary: true, verified: true, visibility: 'public' }],
        orgs: ['acme'],
        teams: ['acme:contractors'],
      };
      gh = await startGithubDouble({ clientId: 'gh-id', clientSecret: 'gh-secret', users: [contractor] });
      // The `oss` policy names a group, so GitHub's orgs and teams are read at login (read:org).
      config = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com,*@contractors.example.net"
  publicPaths: "/bye"
  logoutSuccessUrl: "/bye"
  policies:
    internal:
      providers: corp
    oss:
      allowedGroups: "acme"
  providers:
    corp:
      displayName: Corp
      issuerUri: "${idp.issuer}"
      clientId: airy
      clientSecret: airy-secret-0123456789
      groupsClaim: roles
    github:
      clientId: gh-id
      clientSecret: gh-secret
      authorizationUri: ${gh.url}/login/oauth/authorize
      tokenUri: ${gh.url}/login/oauth/access_token
      userInfoUri: ${gh.url}/user
`;
      airy = await startAiry(config);
      // A refused configuration would make every step below a timeout: say so once, with the reason.
      const ready = await request(`${airy.url}/readyz`);
      if (ready.statusCode !== 200) throw new Error(`airy-auth did not take the configuration (${await ready.body.text()}):\n${airy.logs()}`);
      await ready.body.dump();
      const a = airy.url.replace('http://', '');
      const up = `127.0.0.1:${app.port}`;
      const page = (query: string) => ({ 'auth-url': `${airy.url}/auth${query}`, 'auth-signin': 'http://$http_host/login', 'auth-response-headers': IDENTITY });
      [gate, caddy] = await Promise.all([
        startNginx(
          {
            paths: [
              { path: '/login', upstream: a },
              { path: '/oauth2/', upstream: a },
              { path: '/logout', upstream: a },
              { path: '/internal/', upstream: up, annotations: page('?policy=internal') },
              { path: '/oss/', upstream: up, annotations: page('?policy=oss') },
              { path: '/', upstream: up, annotations: page('') },
            ],
          },
          gatePort,
        ),
        // Caddy passes airy-auth's own denial page to the browser; every app path here is the internal one.
        startCaddy(a, up, caddyPort, '/forward-auth?policy=internal'),
      ]);
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await Promise.all([gate?.stop(), caddy?.stop()]);
      await airy?.stop();
      await Promise.all([idp?.close(), gh?.close(), app?.close()]);
    });

    const shot = (name: string) => join(SCREENSHOTS, name);
    /** What a failed wait prints: where the browser went, the page, and what airy-auth and nginx said. */
    const whatHappened = async (page: Page, visited: string[]) =>
      `\nvisited: ${visited.join(' -> ')}\npage (${page.url()}): ${(await page.content()).slice(0, 1200)}` +
      `\nairy-auth: ${airy.logs().slice(-2500)}\nnginx: ${gate.errorLog().slice(-800)}`;
    type Step = <T>(waiting: Promise<T>) => Promise<T>;
    /** A wait that, when it fails, says what happened on the way. */
    const explainedBy =
      (page: Page, visited: string[]): Step =>
      async (waiting) => {
        try {
          return await waiting;
        } catch (err) {
          throw new Error(`${String(err)}${await whatHappened(page, visited)}`);
        }
      };

    /** A fresh browser profile with a page, the record of every navigation it makes, and its explained waits. */
    async function freshPage(options: { javaScriptEnabled?: boolean } = {}) {
      const context: BrowserContext = await browser.newContext({ ignoreHTTPSErrors: true, ...options });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const visited = recordNavigations(page);
      return { context, page, visited, step: explainedBy(page, visited) };
    }

    /**
     * The links of a page, in page order: accessible name, where each goes, and the rd it keeps
     * (decoded, and resolved against the page, so the test does not depend on how it is escaped).
     */
    async function linksOf(page: Page): Promise<{ name: string; to: string; rd: string | undefined }[]> {
      const links = page.getByRole('link');
      const out: { name: string; to: string; rd: string | undefined }[] = [];
      for (let i = 0; i < (await links.count()); i++) {
        const link = links.nth(i);
        const href = new URL((await link.getAttribute('href'))!, page.url());
        const rd = href.searchParams.get('rd');
        out.push({ name: (await link.textContent())!.trim(), to: href.origin + href.pathname, rd: rd === null ? undefined : new URL(rd, page.url()).href });
      }
      return out;
    }
    const signInLink = (name: string, origin: string, provider: string, rd: string) => ({ name, to: `${origin}/oauth2/authorization/${provider}`, rd });

    /** The session cookie, verified with the configuration's own key (a forged claim would fail here). */
    async function sessionClaims(context: BrowserContext, url: string): Promise<Record<string, unknown>> {
      const cookie = (await context.cookies(url)).find((c) => c.name === 'airy_auth_token');
      expect(cookie, 'the session cookie').toBeDefined();
      const key = compileAiryYaml(config).policy!.sessionKey!;
      return (await jwtVerify(cookie!.value, key, { algorithms: ['HS256'] })).payload as Record<string, unknown>;
    }
    const identityOn = async (page: Page) => ({
      user: await page.textContent('#user'),
      email: await page.textContent('#email'),
      groups: await page.textContent('#groups'),
    });

    type Browsing = Awaited<ReturnType<typeof freshPage>>;
    /** From a protected page through the chooser and the company's provider, back on that page. */
    async function signInWithCorp({ page, step }: Browsing, target: string): Promise<void> {
      await page.goto(target);
      await step(page.getByRole('link', { name: 'Sign in with Corp' }).click());
      await step(page.waitForURL((u) => u.origin === idp.issuer));
      await signInAtTestIdp(page, 'alice');
      await step(page.waitForURL(target));
    }
    /** The same through GitHub. */
    async function signInWithGithub({ page, step }: Browsing, target: string): Promise<void> {
      await page.goto(target);
      await step(page.getByRole('link', { name: 'Sign in with GitHub' }).click());
      await step(page.waitForURL((u) => u.href.startsWith(`${gh.url}/login/oauth/authorize`)));
      await authorizeAtGithubDouble(page, 'octocat');
      await step(page.waitForURL(target));
    }

    it('a protected page without a session shows the chooser: one link per provider, in config order, each keeping rd', async () => {
      const { context, page, step } = await freshPage();
      const target = `${gate.url}/inbox/c-17?tab=open`;
      const res = await page.goto(target);
      expect(res!.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/login');
      await step(page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor());
      await page.screenshot({ path: shot('two-providers-01-chooser.png') });
      expect(await linksOf(page)).toEqual([
        signInLink('Sign in with Corp', gate.url, 'corp', target),
        signInLink('Sign in with GitHub', gate.url, 'github', target),
      ]);
      // The accessible names are what a screen reader announces, not only the visible text.
      expect(await page.getByRole('link', { name: 'Sign in with Corp', exact: true }).count()).toBe(1);
      expect(await page.getByRole('link', { name: 'Sign in with GitHub', exact: true }).count()).toBe(1);
      // Nothing is set before the person chooses: no login state, no session.
      expect((await context.cookies(gate.url)).filter((c) => c.name.startsWith('airy_auth_'))).toEqual([]);
      await context.close();
    });

    it('the chooser works without JavaScript and by keyboard: Tab reaches each link in order, Enter follows it to GitHub and back', async () => {
      const { context, page, step } = await freshPage({ javaScriptEnabled: false });
      const target = `${gate.url}/settings`;
      await page.goto(target);
      await step(page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor());
      const focused = page.locator(':focus');
      await page.keyboard.press('Tab');
      expect((await focused.textContent())?.trim()).toBe('Sign in with Corp');
      await page.keyboard.press('Tab');
      expect((await focused.textContent())?.trim()).toBe('Sign in with GitHub');
      await page.screenshot({ path: shot('two-providers-02-chooser-keyboard.png') });
      await page.keyboard.press('Enter');
      await step(page.waitForURL((u) => u.href.startsWith(`${gh.url}/login/oauth/authorize`)));
      await authorizeAtGithubDouble(page, 'octocat');
      await step(page.waitForURL(target));
      expect(await page.textContent('#user')).toBe('42');
      await context.close();
    });

    it('an employee signs in through the company provider: identity and groups from its roles claim at the upstream, idp "corp"', async () => {
      const browsing = await freshPage();
      const { context, page } = browsing;
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const target = `${gate.url}/inbox/c-17?tab=open`;
      await signInWithCorp(browsing, target);
      await page.screenshot({ path: shot('two-providers-03-corp-landed.png') });
      expect(await identityOn(page)).toEqual({ user: 'alice', email: 'alice@example.com', groups: 'staff,sre' });
      // The provider sent the browser to its own callback.
      expect(requests.some((u) => u.startsWith(`${gate.url}/login/oauth2/code/corp?`))).toBe(true);
      expect(requests.some((u) => u.includes('/login/oauth2/code/github'))).toBe(false);
      expect(await sessionClaims(context, gate.url)).toMatchObject({ sub: 'alice', email: 'alice@example.com', groups: ['staff', 'sre'], idp: 'corp' });
      // The internal policy admits the company's provider.
      const internal = await page.goto(`${gate.url}/internal/wiki`);
      expect(internal!.status()).toBe(200);
      expect(await identityOn(page)).toEqual({ user: 'alice', email: 'alice@example.com', groups: 'staff,sre' });
      await context.close();
    });

    it('a contractor signs in through GitHub: its identity, orgs and teams at the upstream, idp "github"; the internal policy refuses it', async () => {
      const browsing = await freshPage();
      const { context, page } = browsing;
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const target = `${gate.url}/oss/board`;
      await signInWithGithub(browsing, target);
      await page.screenshot({ path: shot('two-providers-04-github-landed.png') });
      expect(await identityOn(page)).toEqual({ user: '42', email: 'octocat@contractors.example.net', groups: 'acme,acme:contractors' });
      expect(requests.some((u) => u.startsWith(`${gate.url}/login/oauth2/code/github?`))).toBe(true);
      expect(await sessionClaims(context, gate.url)).toMatchObject({ sub: '42', email: 'octocat@contractors.example.net', idp: 'github' });

      const before = await decisions('provider_not_allowed');
      const internal = await page.goto(`${gate.url}/internal/wiki`);
      // nginx's auth_request passes on the status only, and shows its own page.
      expect(internal!.status()).toBe(403);
      expect(await page.textContent('body')).toContain('403 Forbidden');
      await page.screenshot({ path: shot('two-providers-05-github-refused-nginx.png') });
      expect(await decisions('provider_not_allowed')).toBe(before + 1);
      const line = await waitFor(
        () => requestLog().find((l) => l.reason === 'provider_not_allowed' && l.path === '/internal/wiki'),
        "airy-auth's log line for the refusal",
      );
      expect(line).toMatchObject({ status: 403, user: '42', email: 'octocat@contractors.example.net', provider: 'github', policy: 'internal' });
      // Still signed in: the refusal is the route's policy, not the session.
      expect((await page.goto(`${gate.url}/oss/board`))!.status()).toBe(200);
      expect((await page.goto(`${gate.url}/anything`))!.status()).toBe(200);
      await context.close();
    });

    it("through a gateway that shows airy-auth's page, a refused contractor is offered only the accepted provider and can switch to it", async () => {
      const browsing = await freshPage();
      const { context, page, step } = browsing;
      await signInWithGithub(browsing, `${gate.url}/oss/board`);
      // The session cookie is for the host, so Caddy on another port of it sees the same session.
      const target = `${caddy.url}/internal/wiki?page=2`;
      const refused = await page.goto(target);
      expect(refused!.status()).toBe(403);
      await page.screenshot({ path: shot('two-providers-06-github-refused-page.png') });
      // Only the provider the policy accepts: signing in with GitHub again would be refused again.
      expect((await linksOf(page)).filter((l) => l.to.includes('/oauth2/authorization/'))).toEqual([
        signInLink('Sign in with Corp', caddy.url, 'corp', target),
      ]);
      await page.getByRole('link', { name: 'Sign in with Corp' }).click();
      await step(page.waitForURL((u) => u.origin === idp.issuer));
      await signInAtTestIdp(page, 'alice');
      await step(page.waitForURL(target));
      expect(await identityOn(page)).toEqual({ user: 'alice', email: 'alice@example.com', groups: 'staff,sre' });
      expect(await sessionClaims(context, caddy.url)).toMatchObject({ sub: 'alice', idp: 'corp' });
      await context.close();
    }, 60_000);

    it('/login?provider=NAME and /oauth2/authorization/NAME go straight to that provider', async () => {
      const { context, page, step, visited } = await freshPage();
      const rd = encodeURIComponent(`${gate.url}/inbox`);
      await page.goto(`${gate.url}/login?provider=corp&rd=${rd}`);
      await step(page.waitForURL((u) => u.origin === idp.issuer));
      await page.goto(`${gate.url}/login?provider=github&rd=${rd}`);
      await step(page.waitForURL((u) => u.href.startsWith(`${gh.url}/login/oauth/authorize`)));
      await page.goto(`${gate.url}/oauth2/authorization/github?rd=${rd}`);
      await step(page.waitForURL((u) => u.href.startsWith(`${gh.url}/login/oauth/authorize`)));
      // Each provider is sent its own callback.
      expect(new URL(page.url()).searchParams.get('redirect_uri')).toBe(`${gate.url}/login/oauth2/code/github`);
      await page.goto(`${gate.url}/oauth2/authorization/corp?rd=${rd}`);
      await step(page.waitForURL((u) => u.origin === idp.issuer));
      const authorize = [...visited].reverse().find((u) => u.startsWith(`${idp.issuer}/auth?`));
      expect(new URL(authorize!).searchParams.get('redirect_uri')).toBe(`${gate.url}/login/oauth2/code/corp`);
      await context.close();
    });

    it("logout ends the company session at the company provider's end_session endpoint, and a GitHub session without going there", async () => {
      const endSessions = () => idp.requests.filter((r) => r.path === '/session/end').length;
      const corp = await freshPage();
      await signInWithCorp(corp, `${gate.url}/inbox`);
      const corpFrom = corp.visited.length;
      const corpLogFrom = logLines().length;
      await corp.page.click('#logout');
      await corp.step(corp.page.waitForSelector('button:has-text("Yes, sign me out")'));
      expect(new URL(corp.page.url()).origin).toBe(idp.issuer);
      expect(corp.visited.slice(corpFrom).some((u) => u.startsWith(`${idp.issuer}/session/end`))).toBe(true);
      await corp.page.screenshot({ path: shot('two-providers-07-corp-provider-logout.png') });
      await corp.page.click('button:has-text("Yes, sign me out")');
      await corp.step(corp.page.waitForURL(`${gate.url}/bye`));
      expect((await corp.context.cookies(gate.url)).find((c) => c.name === 'airy_auth_token')).toBeUndefined();
      expect(await loggedOut(corpLogFrom)).toEqual({ msg: 'logged out', provider: 'corp' });
      await corp.context.close();

      const github = await freshPage();
      await signInWithGithub(github, `${gate.url}/inbox`);
      const githubFrom = github.visited.length;
      const githubLogFrom = logLines().length;
      const [idpRequests, ghRequests, ended] = [idp.requests.length, gh.requests.length, endSessions()];
      await github.page.click('#logout');
      await github.step(github.page.waitForURL(`${gate.url}/bye`));
      await github.page.screenshot({ path: shot('two-providers-08-github-logged-out.png') });
      // Every hop of this logout stayed on the gateway: GitHub has no end-session endpoint, and the company's provider is not involved.
      expect(github.visited.slice(githubFrom).map((u) => new URL(u).origin)).toEqual(github.visited.slice(githubFrom).map(() => gate.url));
      expect([idp.requests.length, gh.requests.length, endSessions()]).toEqual([idpRequests, ghRequests, ended]);
      expect((await github.context.cookies(gate.url)).find((c) => c.name === 'airy_auth_token')).toBeUndefined();
      expect(await loggedOut(githubLogFrom)).toEqual({ msg: 'logged out', provider: 'github' });
      expect((await github.page.goto(`${gate.url}/inbox`))!.url()).toContain('/login?');
      await github.context.close();
    }, 90_000);

    async function decisions(reason: string): Promise<number> {
      const text = await (await request(airy.metricsUrl)).body.text();
      const m = new RegExp(`^airy_auth_decisions_total\\{status="403",reason="${reason}"\\} (\\d+)`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    }
    function logLines(): Record<string, unknown>[] {
      return airy
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    }
    const requestLog = () => logLines().filter((l) => l.msg === 'request');
    /** airy-auth's line for the logout after the `from`th log line (it may reach this process after the browser landed). */
    async function loggedOut(from: number): Promise<{ msg: unknown; provider: unknown }> {
      const line = await waitFor(
        () =>
          logLines()
            .slice(from)
            .find((l) => l.msg === 'logged out'),
        "airy-auth's logout line",
      );
      return { msg: line.msg, provider: line.provider };
    }
  },
);
