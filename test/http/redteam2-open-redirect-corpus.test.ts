import { existsSync, readFileSync } from 'node:fs';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLoginServer } from '../helpers/login-server.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

/** The corpus lives beside the checkout in shared/ (CI has it there), never in the project. */
const CORPUS_FILE = new URL('../../../shared/corpora/openredirects.txt', import.meta.url);
const CORPUS = existsSync(CORPUS_FILE)
  ? readFileSync(CORPUS_FILE, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
  : [];
const ORIGIN = 'https://auth.corp.test';
const ALLOWED = (u: URL) =>
  (u.protocol === 'https:' && (u.host === 'auth.corp.test' || u.host === 'app.corp.test' || /^[a-z0-9-]+\.apps\.corp\.test$/.test(u.host))) || false;

/**
 * RED TEAM: every line of the open-redirect corpus as `rd` on /login, on /logout (finished at
 * once) and through the logout ticket (/logout → /login?logout=T&rd=...), each both as typed and
 * URL-encoded. Where the browser lands (as a WHATWG URL parser reads the Location against the
 * login host) must be the login host or an allowed app.
 */
describeWithTools(
  'red team: open redirects through rd on login, logout and the logout ticket',
  { openssl: ensureTestCa() !== undefined, '../shared/corpora/openredirects.txt': CORPUS.length > 0 },
  () => {
    let idp: TestIdp;
    let srv: Awaited<ReturnType<typeof startLoginServer>>;
    beforeAll(async () => {
      idp = await startTestIdp({
        accounts: {},
        clients: [
          {
            client_id: 'basic-client',
            client_secret: 'basic-secret-0123456789',
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [`${ORIGIN}/login/oauth2/code/my-idp`],
            post_logout_redirect_uris: [`${ORIGIN}/`],
          },
        ],
      });
      const lines = Object.entries({
        provider: 'my-idp',
        issuerUri: idp.issuer,
        clientId: 'basic-client',
        clientSecret: 'basic-secret-0123456789',
        publicUrl: ORIGIN,
        cookieDomain: '.corp.test',
        redirectDomains: 'app.corp.test,*.apps.corp.test',
        allowedOrigins: 'https://app.corp.test',
        allowedEmailPatterns: '*@corp.test',
        sessionRecheck: '10m',
      })
        .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
        .join('\n');
      srv = await startLoginServer(`${lines}\n`);
    });
    afterAll(async () => {
      await srv?.close();
      await idp?.close();
    });

    /** The landing a Location names: through the IdP's end_session (post_logout_redirect_uri) or the authorization hop (rd). */
    function landingOf(location: string): string {
      const u = new URL(location, ORIGIN);
      if (location.startsWith(idp.issuer)) return u.searchParams.get('post_logout_redirect_uri') ?? location;
      if (u.pathname.startsWith('/oauth2/authorization/')) return u.searchParams.get('rd') ?? '';
      return location;
    }
    const judge = (landing: string) => {
      try {
        return ALLOWED(new URL(landing, `${ORIGIN}/somewhere/page`));
      } catch {
        return false;
      }
    };

    async function get(path: string, cookie = '') {
      const res = await request(`${srv.url}${path}`, { headers: { host: 'auth.corp.test', 'x-forwarded-proto': 'https', cookie } });
      await res.body.dump();
      return { status: res.statusCode, location: String(res.headers.location ?? '') };
    }
    async function post(path: string, cookie = '') {
      const res = await request(`${srv.url}${path}`, {
        method: 'POST',
        headers: { host: 'auth.corp.test', 'x-forwarded-proto': 'https', origin: ORIGIN, cookie },
      });
      await res.body.dump();
      return { status: res.statusCode, location: String(res.headers.location ?? '') };
    }

    it('no corpus line lands on another site', async () => {
      const offenders: string[] = [];
      let tried = 0;
      const tickets: string[] = [];
      for (const line of CORPUS) {
        for (const rd of [line, encodeURIComponent(line)]) {
          try {
            const login = await get(`/login?rd=${rd}`);
            const logout = await post(`/logout?rd=${rd}`);
            const handed = await post(`/logout?rd=${rd}`, 'airy_auth_token=this-browser');
            const ticket = handed.location.startsWith(`${ORIGIN}/login?logout=`)
              ? await get(handed.location.slice(ORIGIN.length), 'airy_auth_token=this-browser')
              : handed;
            tried++;
            if (handed.location.includes('logout=')) tickets.push(/logout=([^&]+)/.exec(handed.location)![1]!);
            for (const [route, r] of [
              ['login', login],
              ['logout', logout],
              ['ticket', ticket],
            ] as const) {
              const landing = landingOf(r.location);
              if (!judge(landing)) offenders.push(`${route} rd=${JSON.stringify(rd)} -> ${r.status} ${JSON.stringify(landing)}`);
            }
          } catch {
            // a request target undici will not send as typed
          }
        }
      }
      expect(tried).toBeGreaterThan(CORPUS.length);
      expect(offenders.slice(0, 40)).toEqual([]);
      // The ticket path was taken, and no log line carries a ticket or the session cookie.
      expect(tickets.length).toBeGreaterThan(CORPUS.length);
      const logged = JSON.stringify(srv.logger.lines);
      expect(logged.includes('this-browser')).toBe(false);
      expect(tickets.filter((t) => logged.includes(t.slice(0, 40)))).toEqual([]);
    }, 240_000);
  },
);
