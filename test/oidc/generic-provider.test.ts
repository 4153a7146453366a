import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { CookieJar, driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

type Srv = Awaited<ReturnType<typeof startLoginServer>>;

// Each test restarts airy-auth on the same port; pooled keep-alive sockets to the old one would break.
setGlobalDispatcher(new Agent({ pipelining: 0 }));

const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' },
  mallory: { email: 'mallory@elsewhere.io', email_verified: true },
  unverified: { email: 'unverified@example.com', email_verified: false },
  twoats: { email: 'a@b@example.com', email_verified: true },
  oncall: { email: 'oncall@example.com', email_verified: true, groups: ['sre', 'oncall'] },
  renewable: { email: 'renewable@example.com', email_verified: true },
  stringy: { email: 'stringy@example.com', email_verified: true, groups: 'sre' },
  noemail: {},
};

describeWithTools('OIDC login against a real oidc-provider', { openssl: ensureTestCa() !== undefined }, () => {
  let idp: TestIdp;
  const port = { airy: 0 };
  const servers: Srv[] = [];

  beforeAll(async () => {
    port.airy = await freePort();
    const redirect = (p: string) => [`http://127.0.0.1:${port.airy}/login/oauth2/code/${p}`];
    idp = await startTestIdp({
      accounts: ACCOUNTS,
      clients: [
        {
          client_id: 'basic-client',
          client_secret: 'basic-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: redirect('my-idp'),
        },
        {
          client_id: 'post-client',
          client_secret: 'post-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_post',
          redirect_uris: redirect('my-idp'),
        },
        { client_id: 'public-client', token_endpoint_auth_method: 'none', redirect_uris: redirect('my-idp') },
      ],
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await idp?.close();
  });
  afterEach(() => {
    idp.reset();
    vi.useRealTimers();
  });

  /** An airy-auth on the port registered at the IdP, with these OIDC keys (directly under security:). */
  async function airy(keys: Record<string, string>, now?: () => number): Promise<Srv> {
    while (servers.length) await servers.pop()!.close();
    const lines = Object.entries({
      provider: 'my-idp',
      issuerUri: idp.issuer,
      allowedEmailPatterns: '*@example.com',
      allowedOrigins: 'http://app.example.com',
      ...keys,
    })
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join('\n');
    const srv = await startLoginServer(`${lines}\n`, now, port.airy);
    servers.push(srv);
    return srv;
  }

  const basic = { clientId: 'basic-client', clientSecret: 'basic-secret-0123456789' };

  async function login(srv: Srv, user: string, rd = 'http://app.example.com/inbox?c=1') {
    const { hops, jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent(rd)}`, user);
    return { hops, jar, last: hops.at(-1)!, session: jar.get('127.0.0.1', 'airy_auth_token') };
  }

  it('logs a user in with client_secret_basic and header userinfo, and the session passes /auth', async () => {
    const srv = await airy(basic);
    const { hops, last, session } = await login(srv, 'alice');
    expect(hops[0]!.location).toBe(`${srv.url}/oauth2/authorization/my-idp?rd=${encodeURIComponent('http://app.example.com/inbox?c=1')}`);
    const toIdp = new URL(hops[1]!.location!);
    expect(toIdp.origin).toBe(idp.issuer);
    expect(Object.fromEntries(toIdp.searchParams)).toMatchObject({
      client_id: 'basic-client',
      response_type: 'code',
      code_challenge_method: 'S256',
      redirect_uri: `${srv.url}/login/oauth2/code/my-idp`,
      scope: 'openid email profile',
    });
    expect(toIdp.searchParams.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(last.status).toBe(302);
    expect(last.location).toBe('http://app.example.com/inbox?c=1');
    expect(session).toMatch(/^eyJ/);
    const claims = JSON.parse(Buffer.from(session!.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'alice', email: 'alice@example.com', principal: JSON.stringify({ id: 'alice', name: 'Alice', avatarUrl: null }) });
    expect(claims.exp - claims.iat).toBe(30 * 86400);
    const auth = await request(`${srv.url}/auth`, { headers: { cookie: `airy_auth_token=${session}` } });
    expect(auth.statusCode).toBe(200);
    expect(auth.headers['x-auth-request-email']).toBe('alice@example.com');
    expect(idp.requests.some((r) => r.path === '/token' && r.authorization?.startsWith('Basic '))).toBe(true);
    expect(await srv.metric('airy_auth_logins_total', { provider: 'my-idp', result: 'success' })).toBe(1);
    expect(await srv.metric('airy_auth_idp_request_duration_seconds', { provider: 'my-idp', endpoint: 'token' })).toBeGreaterThanOrEqual(0);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, with sessionTtl as Max-Age, and drops the state cookie', async () => {
    const srv = await airy({ ...basic, sessionTtl: '12h' });
    const stateSet = await request(`${srv.url}/oauth2/authorization/my-idp`);
    const stateCookie = [stateSet.headers['set-cookie']].flat()[0]!;
    await stateSet.body.dump();
    expect(stateCookie).toMatch(/^airy_auth_state_[0-2]=[\w.-]+; Path=\/login\/oauth2\/code\/my-idp; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const setCookies = await callbackSetCookies(srv);
    expect(setCookies.find((c) => c.startsWith('airy_auth_token=eyJ'))).toMatch(/; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/);
    expect(setCookies.find((c) => c.startsWith('airy_auth_state_'))).toMatch(/=; Path=\/login\/oauth2\/code\/my-idp; Max-Age=0;/);
  });

  /** The Set-Cookie lines of the callback's answer in a complete login (the jar keeps only values). */
  async function callbackSetCookies(srv: Srv): Promise<string[]> {
    const jar = new CookieJar();
    const lines: string[] = [];
    const orig = jar.store.bind(jar);
    jar.store = (url, sc) => {
      if (url.includes('/login/oauth2/code/')) lines.push(...[sc ?? []].flat());
      orig(url, sc);
    };
    await driveLogin(`${srv.url}/login`, 'alice', jar);
    return lines;
  }

  it('uses explicit endpoints without discovery (jwkSetUri), a custom scope and userNameAttributeName', async () => {
    const before = idp.requests.length;
    const srv = await airy({
      ...basic,
      authorizationUri: `${idp.issuer}/auth`,
      tokenUri: `${idp.issuer}/token`,
      userInfoUri: `${idp.issuer}/me`,
      jwkSetUri: `${idp.issuer}/jwks`,
      scope: 'openid,email,profile',
      userNameAttributeName: 'email',
    });
    const { last, session } = await login(srv, 'alice');
    expect(last.status).toBe(302);
    const seen = idp.requests.slice(before).map((r) => r.path);
    expect(seen).not.toContain('/.well-known/openid-configuration');
    expect(seen).toEqual(expect.arrayContaining(['/token', '/jwks', '/me']));
    expect(JSON.parse(Buffer.from(session!.split('.')[1]!, 'base64url').toString())).toMatchObject({ sub: 'alice@example.com' });
  });

  it('refuses a login when userNameAttributeName names a claim the provider does not return', async () => {
    const srv = await airy({ ...basic, userNameAttributeName: 'employee_id' });
    const { last } = await login(srv, 'alice');
    expect(last.status).toBe(502);
    expect(last.body).toContain('has no &quot;employee_id&quot; (userNameAttributeName)');
  });

  it.each([
    [
      'client_secret_post',
      { clientId: 'post-client', clientSecret: 'post-secret-0123456789', clientAuthenticationMethod: 'post' },
      (a?: string) => a === undefined,
    ],
    ['none (public client, PKCE only)', { clientId: 'public-client', clientAuthenticationMethod: 'none' }, (a?: string) => a === undefined],
  ])('authenticates at the token endpoint with %s', async (_name, keys, authHeaderOk) => {
    const before = idp.requests.length;
    const srv = await airy(keys);
    const { last } = await login(srv, 'alice');
    expect(last.status).toBe(302);
    const token = idp.requests.slice(before).find((r) => r.path === '/token')!;
    expect(authHeaderOk(token.authorization)).toBe(true);
  });

  it.each([
    [
      'form',
      (r: { method: string; contentType?: string | undefined; authorization?: string | undefined }) =>
        r.method === 'POST' && r.contentType === 'application/x-www-form-urlencoded' && !r.authorization,
    ],
    ['query', (r: { method: string; authorization?: string | undefined }) => r.method === 'GET' && !r.authorization],
    ['header', (r: { method: string; authorization?: string | undefined }) => r.method === 'GET' && r.authorization?.startsWith('Bearer ') === true],
  ])('sends the access token to userinfo by %s', async (how, check) => {
    const before = idp.requests.length;
    const srv = await airy({ ...basic, userInfoAuthenticationMethod: how });
    expect((await login(srv, 'alice')).last.status).toBe(302);
    const me = idp.requests.slice(before).filter((r) => r.path === '/me');
    expect(me).toHaveLength(1);
    expect(check(me[0]!)).toBe(true);
  });

  it.each([
    ['unverified', 403, /not verified/],
    ['mallory', 403, /mallory@elsewhere\.io.*is not in the list of allowed email addresses/s],
    ['twoats', 403, /malformed email/],
    ['noemail', 403, /no email address/],
  ])('refuses %s with %d and a page that says why', async (user, status, text) => {
    const srv = await airy(basic);
    const { last, session } = await login(srv, user);
    expect(last.status).toBe(status);
    expect(last.body).toMatch(text);
    expect(last.body).toContain('action="/logout"');
    expect(session).toBeUndefined();
  });

  it.each([
    ['a wrong nonce', (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-nonce' }), /nonce/],
    ['a wrong issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'https://evil.example' }), /iss/],
    ['a wrong audience', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' }), /aud/],
    [
      'an expired ID token',
      (c: Record<string, unknown>) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
      /exp|timestamp/,
    ],
  ])('refuses an ID token with %s (502, no session)', async (_name, tamper, text) => {
    const srv = await airy(basic);
    idp.setTamper(tamper);
    const { last, session } = await login(srv, 'alice');
    expect(last.status).toBe(502);
    expect(last.body).toMatch(/ID token failed validation/);
    expect(last.body).toMatch(text);
    expect(session).toBeUndefined();
    expect(await srv.metric('airy_auth_logins_total', { provider: 'my-idp', result: 'id_token_invalid' })).toBe(1);
  });

  it('refuses an ID token signed with a key the JWKS does not publish', async () => {
    const srv = await airy(basic);
    idp.signWithUnpublishedKey();
    const { last } = await login(srv, 'alice');
    expect(last.status).toBe(502);
    expect(last.body).toMatch(/ID token failed validation/);
  });

  it('follows a JWKS rotation: a new key is fetched once the cached set is a minute old', async () => {
    let now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    const srv = await airy(basic, () => Date.now());
    expect((await login(srv, 'alice')).last.status).toBe(302);
    idp.rotate();
    now += 61_000;
    vi.setSystemTime(now);
    const { last, session } = await login(srv, 'alice');
    expect(last.status).toBe(302);
    expect(session).toBeDefined();
  });

  it('answers 400 "start again" when the state cookie is missing, altered or expired', async () => {
    let now = Date.now();
    const srv = await airy(basic, () => now);
    // Missing: replay the callback URL without cookies.
    const { hops } = await login(srv, 'alice');
    const cbUrl = hops.at(-1)!.url;
    const missing = await request(cbUrl);
    expect(missing.statusCode).toBe(400);
    expect(await missing.body.text()).toMatch(/Start again/);
    // Altered: a state parameter that matches no cookie.
    const altered = await request(cbUrl.replace(/state=[^&]+/, 'state=forged'));
    expect(altered.statusCode).toBe(400);
    await altered.body.dump();
    // Expired: the IdP took more than 10 minutes.
    const jar = new CookieJar();
    const slow = await driveLogin(`${srv.url}/login`, 'alice', jar, {
      stopAtCallback: (u) => {
        now += 11 * 60_000;
        return u;
      },
    });
    expect(slow.hops.at(-1)!.status).toBe(400);
    expect(slow.hops.at(-1)!.body).toMatch(/more than 10 minutes/);
  });

  it('shows 403 when the person cancels at the provider, and 502 for other provider errors', async () => {
    const srv = await airy(basic);
    const cancelled = await request(`${srv.url}/login/oauth2/code/my-idp?error=access_denied&state=x`);
    expect(cancelled.statusCode).toBe(403);
    await cancelled.body.dump();
    const broken = await request(`${srv.url}/login/oauth2/code/my-idp?error=server_error&error_description=%3Cscript%3E&state=x`);
    expect(broken.statusCode).toBe(502);
    const text = await broken.body.text();
    expect(text).toContain('&lt;script&gt;');
    expect(text).not.toContain('<script>');
  });

  it('answers 502 naming the failure when the provider cannot be reached', async () => {
    const closed = await freePort();
    const srv = await airy({ ...basic, issuerUri: `https://localhost:${closed}` });
    const res = await request(`${srv.url}/oauth2/authorization/my-idp`);
    expect(res.statusCode).toBe(502);
    expect(await res.body.text()).toMatch(/discovery at https:\/\/localhost:\d+ failed/);
  });

  it('never redirects to a foreign rd: it falls back to loginSuccessUrl', async () => {
    const srv = await airy({ ...basic, loginSuccessUrl: '/home' });
    for (const rd of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
      const res = await request(`${srv.url}/login?rd=${encodeURIComponent(rd)}`);
      expect(res.headers.location).toBe(`${srv.url}/oauth2/authorization/my-idp?rd=%2Fhome`);
      await res.body.dump();
    }
  });

  it('keeps every login cookie within browser limits: a long deep link lands without its query, abandoned logins reuse a few slots', async () => {
    const srv = await airy(basic);
    const deep = `http://app.example.com/inbox/thread?q=${'x'.repeat(3000)}`;
    const { hops, last } = await login(srv, 'alice', deep);
    const setCookies = hops.flatMap((h) => h.setCookies);
    const state = setCookies.filter((c) => c.startsWith('airy_auth_state_') && !c.includes('Max-Age=0'));
    expect(state).toHaveLength(1);
    for (const c of setCookies) expect(c.split(';', 1)[0]!.length).toBeLessThanOrEqual(4096);
    expect(state[0]!.split(';', 1)[0]!.length).toBeLessThanOrEqual(2000);
    expect(last.status).toBe(302);
    expect(last.location).toBe('http://app.example.com/inbox/thread');
    expect(srv.logger.lines.some((l) => l.msg.includes('too long for the state cookie'))).toBe(true);

    const names = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const res = await request(`${srv.url}/oauth2/authorization/my-idp?rd=%2F`);
      await res.body.dump();
      for (const c of [res.headers['set-cookie']].flat()) if (c) names.add(c.split('=', 1)[0]!);
    }
    expect(names.size).toBeLessThanOrEqual(3);
  });

  it('an empty rd lands on loginSuccessUrl, never on an empty Location', async () => {
    const srv = await airy({ ...basic, loginSuccessUrl: '/home' });
    for (const path of ['/login?rd=', '/oauth2/authorization/my-idp?rd=', '/login']) {
      const res = await request(`${srv.url}${path}`);
      await res.body.dump();
      expect(res.statusCode).toBe(302);
      expect(res.headers.location, path).toMatch(/^(http|\/)/);
    }
    const { last } = await login(srv, 'alice', '');
    expect(last.location).toBe(`${srv.url}/home`);
  });

  it("carries the provider's groups claim into the session: in the group, allowed; outside it, a 403 page naming the group", async () => {
    const srv = await airy(basic);
    const groupsOf = (session: string | undefined) => JSON.parse(Buffer.from(session!.split('.')[1]!, 'base64url').toString()).groups;
    const member = await login(srv, 'oncall');
    expect(groupsOf(member.session)).toEqual(['sre', 'oncall']);
    const other = await login(srv, 'alice');
    expect(groupsOf(other.session)).toBeUndefined();
    const stringy = await login(srv, 'stringy'); // a claim that is a string is no groups
    expect(groupsOf(stringy.session)).toBeUndefined();
    const ask = async (session: string | undefined) => {
      const res = await request(`${srv.url}/forward-auth?allowed_groups=sre`, {
        headers: {
          cookie: `airy_auth_token=${session}`,
          'x-forwarded-host': 'app.example.com',
          'x-forwarded-uri': '/grafana',
          'x-forwarded-proto': 'https',
          accept: 'text/html',
          'sec-fetch-mode': 'navigate',
        },
      });
      return { status: res.statusCode, groups: res.headers['x-auth-request-groups'], body: await res.body.text() };
    };
    const allowed = await ask(member.session);
    expect(allowed.status).toBe(200);
    expect(allowed.groups).toBe('sre,oncall');
    for (const s of [other.session, stringy.session]) {
      const refused = await ask(s);
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('This service is for members of <strong>sre</strong>');
      expect(refused.body).toContain('action="/logout"');
    }
  });

  it('one login for several hosts: the session cookie is set for cookieDomain and cleared for it; rd may name a redirectDomains host', async () => {
    const srv = await airy({ ...basic, cookieDomain: '.example.com', redirectDomains: '*.apps.example.com' });
    const { last, hops } = await login(srv, 'alice', 'https://grafana.apps.example.com/d/1');
    expect(last.location).toBe('https://grafana.apps.example.com/d/1');
    const set = hops.at(-1)!.setCookies.find((c) => c.startsWith('airy_auth_token=eyJ'))!;
    expect(set).toMatch(/; HttpOnly; SameSite=Lax; Domain=example\.com$/);
    const out = await request(`${srv.url}/logout`, { method: 'POST' });
    await out.body.dump();
    expect(String(out.headers['set-cookie'])).toMatch(/^airy_auth_token=; .*Max-Age=0;.*Domain=example\.com/);
    // A host outside redirectDomains falls back to loginSuccessUrl.
    const elsewhere = await login(srv, 'alice', 'https://evil.example.net/');
    expect(elsewhere.last.location).toBe(`${srv.url}/`);
  });

  it('re-checks a session with the provider after sessionRecheck: renewed without interaction, a fresh login when the provider refuses', async () => {
    let clock = Date.now();
    const srv = await airy({ ...basic, sessionRecheck: '10m' }, () => clock);
    const { jar, session } = await login(srv, 'renewable', 'http://app.example.com/inbox');
    const sealed = jar.get('127.0.0.1', 'airy_auth_refresh');
    expect(sealed).toMatch(/^eyJhbGciOiJkaXIi/); // a JWE: the browser cannot read the refresh token
    const ask = async (token: string | undefined) => {
      const res = await request(`${srv.url}/auth`, {
        headers: { cookie: `airy_auth_token=${token}`, 'x-original-url': 'http://app.example.com/inbox', 'x-original-method': 'GET' },
      });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await ask(session)).toBe(200);
    clock += 11 * 60_000;
    expect(await ask(session)).toBe(401); // due: the browser goes through /login
    const renew = await request(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, {
      headers: { cookie: jar.header(`${srv.url}/login`) },
    });
    await renew.body.dump();
    expect(renew.statusCode).toBe(302);
    expect(renew.headers.location).toBe('http://app.example.com/inbox'); // no trip to the provider's pages
    jar.store(`${srv.url}/login`, renew.headers['set-cookie']);
    const renewed = jar.get('127.0.0.1', 'airy_auth_token');
    expect(renewed).not.toBe(session);
    expect(await ask(renewed)).toBe(200);
    expect(srv.logger.lines.some((l) => l.msg === 'session renewed with the provider')).toBe(true);

    // The provider disables the account: the next re-check ends the session and starts a login.
    delete (ACCOUNTS as Record<string, unknown>).renewable;
    clock += 11 * 60_000;
    expect(await ask(renewed)).toBe(401);
    const ended = await request(`${srv.url}/login?rd=%2F`, { headers: { cookie: jar.header(`${srv.url}/login`) } });
    await ended.body.dump();
    expect(ended.statusCode).toBe(302);
    expect(ended.headers.location).toMatch(new RegExp(`^${srv.url}/oauth2/authorization/my-idp\\?rd=`));
    expect(String(ended.headers['set-cookie'])).toMatch(/airy_auth_token=; .*Max-Age=0/);
    expect(String(ended.headers['set-cookie'])).toMatch(/airy_auth_refresh=; Path=\/login; Max-Age=0/);
  });

  it('logs out by POST and by a same-site GET: clears the cookie, ends the IdP session (RP-initiated logout), then lands on logoutSuccessUrl', async () => {
    const srv = await airy({ ...basic, logoutSuccessUrl: 'http://app.example.com/bye' });
    const endSession = `${idp.issuer}/session/end?client_id=basic-client&post_logout_redirect_uri=${encodeURIComponent('http://app.example.com/bye')}`;
    for (const [method, headers] of [
      ['POST', {}],
      ['POST', { origin: srv.url }],
      ['GET', { 'sec-fetch-site': 'same-origin' }],
      ['GET', { 'sec-fetch-site': 'none' }],
    ] as const) {
      const res = await request(`${srv.url}/logout`, { method, headers });
      expect(res.statusCode, `${method} ${JSON.stringify(headers)}`).toBe(302);
      expect(res.headers.location).toBe(endSession);
      expect([res.headers['set-cookie']].flat()[0]).toMatch(/^airy_auth_token=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax; Expires=/);
      await res.body.dump();
    }
  });

  it('does not log out from another site: a cross-site GET or POST gets a page with a POST button, and no cookie is cleared', async () => {
    const srv = await airy({ ...basic, logoutSuccessUrl: 'http://app.example.com/bye' });
    for (const [method, headers] of [
      ['GET', { 'sec-fetch-site': 'cross-site' }],
      ['GET', {}],
      ['POST', { 'sec-fetch-site': 'cross-site' }],
      ['POST', { origin: 'https://evil.example' }],
      // A sibling host of the same site (outside cookieDomain and redirectDomains) is another
      // party: the browser calls its POST same-site, but it is a logout CSRF all the same.
      ['POST', { 'sec-fetch-site': 'same-site', origin: 'http://sibling.127.0.0.1.nip.example' }],
      ['POST', { 'sec-fetch-site': 'same-site', origin: 'null' }],
    ] as const) {
      const res = await request(`${srv.url}/logout`, { method, headers });
      const body = await res.body.text();
      expect(res.statusCode, `${method} ${JSON.stringify(headers)}`).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(body).toContain('<form method="post" action="/logout">');
    }
    // The same-site POST from this very origin logs out.
    const own = await request(`${srv.url}/logout`, { method: 'POST', headers: { 'sec-fetch-site': 'same-site', origin: srv.url } });
    await own.body.dump();
    expect(own.statusCode).toBe(302);
    expect([own.headers['set-cookie'] ?? []].flat().some((c) => /^airy_auth_token=;.*Max-Age=0/.test(c))).toBe(true);
  });
});
