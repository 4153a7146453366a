import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

type Srv = Awaited<ReturnType<typeof startLoginServer>>;

setGlobalDispatcher(new Agent({ pipelining: 0 }));

const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  alice: { email: 'alice@example.com', email_verified: true },
  bob: { email: 'bob@example.com', email_verified: true },
  carol: { email: 'carol@example.com', email_verified: true },
};

/**
 * A session must end when someone decides it ends: at logout (every cookie cleared, the refresh
 * token revoked at the provider), at a sessionsNotBefore cut-off (the refresh cookie cannot renew
 * past it), and when the provider refuses a renewal (a fresh login, not a dead end).
 */
describeWithTools(
  'sessions that end: logout, sessionsNotBefore and refused renewals, against a real oidc-provider',
  { openssl: ensureTestCa() !== undefined },
  () => {
    let idp: TestIdp;
    let port = 0;
    const servers: Srv[] = [];

    beforeAll(async () => {
      port = await freePort();
      idp = await startTestIdp({
        accounts: ACCOUNTS,
        clients: [
          {
            client_id: 'basic-client',
            client_secret: 'basic-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`http://127.0.0.1:${port}/login/oauth2/code/my-idp`],
            post_logout_redirect_uris: ['http://app.example.com/bye'],
          },
        ],
      });
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.close()));
      await idp?.close();
    });

    async function airy(keys: Record<string, string>, now: () => number): Promise<Srv> {
      while (servers.length) await servers.pop()!.close();
      const lines = Object.entries({
        provider: 'my-idp',
        issuerUri: idp.issuer,
        clientId: 'basic-client',
        clientSecret: 'basic-secret-0123456789',
        allowedEmailPatterns: '*@example.com',
        allowedOrigins: 'http://app.example.com',
        sessionRecheck: '10m',
        ...keys,
      })
        .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
        .join('\n');
      const srv = await startLoginServer(`${lines}\n`, now, port);
      servers.push(srv);
      return srv;
    }

    /** /login with these cookies: where it sends the browser, and what it sets. */
    async function openLogin(srv: Srv, cookie: string) {
      const res = await request(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, { headers: { cookie } });
      await res.body.dump();
      return { status: res.statusCode, location: String(res.headers.location), setCookies: [res.headers['set-cookie'] ?? []].flat() };
    }

    const freshLogin = (srv: Srv) => `${srv.url}/oauth2/authorization/my-idp?rd=${encodeURIComponent('http://app.example.com/inbox')}`;

    it('logout clears every cookie airy-auth set and revokes the refresh token: the next /login does not renew the session', async () => {
      let clock = Date.now();
      const srv = await airy({}, () => clock);
      const { jar, hops } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'alice');
      const refreshSet = hops.at(-1)!.setCookies.filter((c) => c.startsWith('airy_auth_refresh=eyJ'));
      // One refresh cookie, for /login only: the apps never see it.
      expect(refreshSet.map((c) => /Path=([^;]+)/.exec(c)?.[1])).toEqual(['/login']);
      const refreshCookie = `airy_auth_refresh=${jar.get('127.0.0.1', 'airy_auth_refresh')}`;

      const revocations = () => idp.requests.filter((r) => r.method === 'POST' && r.path === '/token/revocation').length;
      const before = revocations();
      // /logout hands over to /login, where the refresh cookie is sent, with a ticket bound to this
      // browser's session cookie; /login finishes the logout.
      const out = await request(`${srv.url}/logout`, { method: 'POST', headers: { cookie: jar.header(`${srv.url}/logout`), origin: srv.url } });
      await out.body.dump();
      expect(out.statusCode).toBe(303);
      const handOver = String(out.headers.location);
      expect(handOver).toMatch(new RegExp(`^${srv.url}/login\\?logout=[\\w.-]+$`));
      const finish = await request(handOver, { headers: { cookie: jar.header(handOver) } });
      await finish.body.dump();
      expect(finish.statusCode).toBe(302);
      const cleared = [finish.headers['set-cookie'] ?? []].flat();
      jar.store(handOver, cleared);
      const clearedAt = (name: string) => cleared.filter((c) => c.startsWith(`${name}=;`) && /Max-Age=0/.test(c)).map((c) => /Path=([^;]+)/.exec(c)?.[1]);
      expect(clearedAt('airy_auth_token')).toEqual(['/']);
      expect(clearedAt('airy_auth_refresh')).toEqual(['/login']);
      for (const slot of [0, 1, 2]) expect(clearedAt(`airy_auth_state_${slot}`)).toEqual(['/login/oauth2/code/my-idp']);
      expect(revocations() - before).toBe(1);
      expect(srv.logger.lines.some((l) => l.msg === 'refresh token revoked at the provider')).toBe(true);

      // The person who sits down next opens /login once the session is due: a login, not alice's account.
      clock += 11 * 60_000;
      expect(jar.get('127.0.0.1', 'airy_auth_refresh')).toBeUndefined();
      expect(await openLogin(srv, jar.header(`${srv.url}/login`))).toMatchObject({ status: 302, location: freshLogin(srv) });
      // Even a copy of the refresh cookie taken before the logout renews nothing: the provider revoked it.
      const replay = await openLogin(srv, refreshCookie);
      expect(replay).toMatchObject({ status: 302, location: freshLogin(srv) });
      expect(replay.setCookies.some((c) => /^airy_auth_token=eyJ/.test(c))).toBe(false);
      expect(srv.logger.lines.some((l) => l.msg === 'session renewal refused' && l.fields.reason === 'session_ended')).toBe(true);
    });

    it('a refresh cookie from before sessionsNotBefore renews nothing: the person logs in again', async () => {
      let clock = Date.now();
      const cutOff = new Date(clock + 5 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const srv = await airy({ sessionsNotBefore: cutOff }, () => clock);
      const { jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'bob');
      expect(jar.get('127.0.0.1', 'airy_auth_refresh')).toMatch(/^eyJ/);
      clock += 11 * 60_000; // past the cut-off and the re-check time
      const renewal = await openLogin(srv, jar.header(`${srv.url}/login`));
      expect(renewal).toMatchObject({ status: 302, location: freshLogin(srv) });
      expect(renewal.setCookies.some((c) => /^airy_auth_token=eyJ/.test(c))).toBe(false);
      expect(renewal.setCookies.filter((c) => /^airy_auth_refresh=;.*Max-Age=0/.test(c))).toHaveLength(1);
      // A login after the cut-off renews as before.
      const again = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'bob');
      clock += 11 * 60_000;
      const renewed = await openLogin(srv, again.jar.header(`${srv.url}/login`));
      expect(renewed).toMatchObject({ status: 302, location: 'http://app.example.com/inbox' });
      expect(renewed.setCookies.some((c) => /^airy_auth_token=eyJ/.test(c))).toBe(true);
    });

    it('when the provider refuses a renewal, /login clears the session and starts a fresh login instead of a dead end', async () => {
      let clock = Date.now();
      const srv = await airy({}, () => clock);
      const { jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'carol');
      const carol = ACCOUNTS.carol!;
      delete ACCOUNTS.carol; // the provider disables the account
      try {
        clock += 11 * 60_000;
        const ended = await openLogin(srv, jar.header(`${srv.url}/login`));
        expect(ended).toMatchObject({ status: 302, location: freshLogin(srv) });
        expect(ended.setCookies.some((c) => /^airy_auth_token=; .*Max-Age=0/.test(c))).toBe(true);
        expect(ended.setCookies.filter((c) => /^airy_auth_refresh=; .*Max-Age=0/.test(c))).toHaveLength(1);
      } finally {
        ACCOUNTS.carol = carol;
      }
    });

    it('logout from an app host of a plain-http login host (no Fetch Metadata) is same-site: no loop through the confirmation page', async () => {
      const srv = await airy(
        { publicUrl: 'http://auth.example.com', cookieDomain: '.example.com', redirectDomains: 'http://app.example.com,http://*.apps.corp.test' },
        Date.now,
      );
      const post = async (host: string, origin: string, cookie = '') => {
        const res = await request(`${srv.url}/logout`, { method: 'POST', headers: { host, origin, cookie } });
        const body = await res.body.text();
        return { status: res.statusCode, location: String(res.headers.location), cleared: [res.headers['set-cookie'] ?? []].flat(), body };
      };
      const get = async (path: string, cookie: string) => {
        const res = await request(`${srv.url}${path}`, { headers: { host: 'auth.example.com', cookie } });
        await res.body.dump();
        return { status: res.statusCode, location: String(res.headers.location), cleared: [res.headers['set-cookie'] ?? []].flat() };
      };
      // The app host sends the browser to the login host's /login, where the refresh token is, with
      // a ticket bound to the session cookie this browser holds (a redirected POST would arrive
      // with Origin: null, which proves nothing).
      const session = 'airy_auth_token=the-session-of-this-browser';
      const handed = await post('app.example.com', 'http://app.example.com', session);
      expect(handed.status).toBe(303);
      expect(handed.location).toMatch(/^http:\/\/auth\.example\.com\/login\?logout=[\w.-]+$/);
      const ticketPath = handed.location.slice('http://auth.example.com'.length);
      // Someone else's browser (another session, or none) cannot use the ticket: an ordinary /login.
      for (const other of ['airy_auth_token=another-session', '']) {
        const ordinary = await get(ticketPath, other);
        expect(ordinary.status, other).toBe(302);
        expect(ordinary.location, other).toMatch(/^http:\/\/auth\.example\.com\/oauth2\/authorization\/my-idp\?rd=/);
        expect(ordinary.cleared, other).toEqual([]);
      }
      const finished = await get(ticketPath, session);
      expect(finished.status).toBe(302);
      expect(finished.cleared.some((c) => /^airy_auth_token=; .*Max-Age=0.*Domain=example\.com/.test(c))).toBe(true);
      expect(finished.cleared.filter((c) => /^airy_auth_refresh=; .*Max-Age=0/.test(c))).toHaveLength(1);
      // The login host takes a POST from any host that shares the session as same-site.
      for (const origin of ['http://app.example.com', 'http://grafana.example.com', 'http://auth.example.com', 'http://wiki.apps.corp.test']) {
        const done = await post('auth.example.com', origin);
        expect(done.status, origin).toBe(302);
        expect(
          done.cleared.some((c) => /^airy_auth_token=; .*Max-Age=0.*Domain=example\.com/.test(c)),
          origin,
        ).toBe(true);
        expect(
          done.cleared.filter((c) => /^airy_auth_refresh=; .*Max-Age=0/.test(c)),
          origin,
        ).toHaveLength(1);
      }
      // Any other site gets the confirmation page, and nothing is cleared.
      for (const origin of ['http://evil.example.net', 'http://example.com.evil.io', 'http://apps.corp.test', 'null']) {
        const refused = await post('auth.example.com', origin);
        expect(refused.status, origin).toBe(200);
        expect(refused.cleared, origin).toEqual([]);
        expect(refused.body).toContain('<form method="post" action="/logout">');
      }
    });
  },
);
