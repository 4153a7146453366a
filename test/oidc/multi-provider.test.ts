import { decodeJwt } from 'jose';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { CookieJar, driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

type Srv = Awaited<ReturnType<typeof startLoginServer>>;

setGlobalDispatcher(new Agent({ pipelining: 0 }));

const APP = 'http://app.example.com';
const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, groups: ['staff'] },
  pat: { email: 'pat@partner.example', email_verified: true, groups: ['partners'] },
};

/**
 * Two real OpenID providers at once (oidc-provider twice), behind one airy-auth in this process:
 * the chooser, a login through each with that provider's own rules, a callback that cannot finish
 * another provider's login, renewal and logout at the provider that issued the session, and
 * provider clients that survive a reload which does not change them.
 */
describeWithTools('several providers at once, against two real oidc-providers', { openssl: ensureTestCa() !== undefined }, () => {
  let corp: TestIdp;
  let partner: TestIdp;
  let port = 0;
  let srv: Srv;
  let clock = Date.now();

  const providersYaml = (extra = '') => `  allowedEmailPatterns: "*@example.com"
  allowedOrigins: "${APP}"
  sessionRecheck: "10m"
  providers:
    corp:
      issuerUri: "${corp.issuer}"
      clientId: "corp-client"
      clientSecret: "corp-secret-0123456789"
    partner:
      displayName: "Partner & Co <SSO>"
      issuerUri: "${partner.issuer}"
      clientId: "partner-client"
      clientSecret: "partner-secret-0123456789"
      allowedEmailPatterns: "*@partner.example"
      groupsClaim: "roles"
      sessionRecheck: "20m"
${extra}`;

  beforeAll(async () => {
    port = await freePort();
    const client = (name: string) => ({
      client_id: `${name}-client`,
      client_secret: `${name}-secret-0123456789`,
      token_endpoint_auth_method: 'client_secret_basic' as const,
      redirect_uris: [`http://127.0.0.1:${port}/login/oauth2/code/${name}`],
      post_logout_redirect_uris: [`${APP}/bye`],
    });
    corp = await startTestIdp({ accounts: ACCOUNTS, clients: [client('corp')] });
    partner = await startTestIdp({ accounts: ACCOUNTS, clients: [client('partner')] });
    srv = await startLoginServer(providersYaml(), () => clock, port);
  });
  afterAll(async () => {
    await srv?.close();
    await corp?.close();
    await partner?.close();
  });

  const loginUrl = (query = '') => `${srv.url}/login?rd=${encodeURIComponent(`${APP}/inbox?a=1&b=2`)}${query}`;
  const session = (jar: CookieJar) => decodeJwt(jar.get('127.0.0.1', 'airy_auth_token')!);
  const count = (idp: TestIdp, method: string, path: string) => idp.requests.filter((r) => r.method === method && r.path === path).length;

  it('/login shows a plain chooser: one link per provider in config order, rd kept, everything escaped, no script', async () => {
    const res = await request(loginUrl());
    const html = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html).toContain('<title>Sign in</title>');
    expect(html).toContain('<h1>Sign in</h1>');
    expect(html).not.toMatch(/<script/i);
    const rd = encodeURIComponent(`${APP}/inbox?a=1&b=2`);
    const links = [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual([
      [`/oauth2/authorization/corp?rd=${rd}`, 'Sign in with corp'],
      [`/oauth2/authorization/partner?rd=${rd}`, 'Sign in with Partner &amp; Co &lt;SSO&gt;'],
    ]);
    expect(html).not.toContain('<SSO>');
  });

  it('/login?provider=NAME skips the chooser; an unknown NAME, there or in the authorize path, is the 404 page listing the providers', async () => {
    const direct = await request(loginUrl('&provider=partner'));
    await direct.body.dump();
    expect(direct.statusCode).toBe(302);
    expect(direct.headers.location).toBe(`${srv.url}/oauth2/authorization/partner?rd=${encodeURIComponent(`${APP}/inbox?a=1&b=2`)}`);
    for (const url of [loginUrl('&provider=github'), `${srv.url}/oauth2/authorization/github`, `${srv.url}/login/oauth2/code/github?code=x&state=y`]) {
      const res = await request(url);
      const html = await res.body.text();
      expect(res.statusCode, url).toBe(404);
      expect(html, url).toContain('Unknown provider');
      expect(html, url).toContain('<code>corp</code>, <code>partner</code>');
    }
  });

  it("logs in through each provider, with that provider's email patterns and groups claim; the session names it (idp)", async () => {
    const viaCorp = await driveLogin(loginUrl('&provider=corp'), 'alice');
    expect(viaCorp.hops.at(-1)).toMatchObject({ status: 302, location: `${APP}/inbox?a=1&b=2` });
    expect(session(viaCorp.jar)).toMatchObject({ idp: 'corp', email: 'alice@example.com', groups: ['staff'] });
    expect(srv.logger.lines.find((l) => l.msg === 'login succeeded' && l.fields.provider === 'corp')).toBeDefined();

    const viaPartner = await driveLogin(loginUrl('&provider=partner'), 'pat');
    expect(viaPartner.hops.at(-1)).toMatchObject({ status: 302 });
    // partner's groupsClaim is "roles", which this provider does not send: no groups, although it sends "groups".
    expect(session(viaPartner.jar)).toMatchObject({ idp: 'partner', email: 'pat@partner.example' });
    expect(session(viaPartner.jar).groups).toBeUndefined();
    // Its own patterns, not the global ones: alice@example.com may not sign in through partner, pat may not through corp.
    expect((await driveLogin(loginUrl('&provider=partner'), 'alice')).hops.at(-1)).toMatchObject({ status: 403 });
    expect((await driveLogin(loginUrl('&provider=corp'), 'pat')).hops.at(-1)).toMatchObject({ status: 403 });
    expect(await srv.metric('airy_auth_logins_total', { provider: 'partner', result: 'email_not_allowed' })).toBe(1);
  });

  it('a callback for one provider cannot finish a login started for another (the sealed state names the provider)', async () => {
    // The browser would not even send corp's state cookie to partner's callback (its Path); this
    // jar ignores paths, so the sealed state itself is what refuses.
    const { hops } = await driveLogin(loginUrl('&provider=corp'), 'alice', new CookieJar(), {
      stopAtCallback: (url) => url.replace('/login/oauth2/code/corp', '/login/oauth2/code/partner'),
    });
    expect(hops.at(-1)!.url).toContain('/login/oauth2/code/partner');
    expect(hops.at(-1)).toMatchObject({ status: 400 });
    expect(hops.at(-1)!.setCookies.some((c) => c.startsWith('airy_auth_token=ey'))).toBe(false);
    expect(await srv.metric('airy_auth_logins_total', { provider: 'partner', result: 'state_invalid' })).toBe(1);
  });

  it('renews a due session with the provider that issued it, at its own sessionRecheck, and never asks the other', async () => {
    const { jar } = await driveLogin(loginUrl('&provider=partner'), 'pat');
    expect((session(jar).rck as number) - session(jar).iat!).toBe(20 * 60);
    const tokens = { corp: count(corp, 'POST', '/token'), partner: count(partner, 'POST', '/token') };
    clock += 21 * 60_000;
    const res = await request(loginUrl(), { headers: { cookie: jar.header(srv.url) } });
    await res.body.dump();
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`${APP}/inbox?a=1&b=2`);
    jar.store(srv.url, res.headers['set-cookie']);
    expect(session(jar)).toMatchObject({ idp: 'partner', email: 'pat@partner.example' });
    expect(count(partner, 'POST', '/token') - tokens.partner).toBe(1);
    expect(count(corp, 'POST', '/token')).toBe(tokens.corp);
    expect(srv.logger.lines.find((l) => l.msg === 'session renewed with the provider' && l.fields.provider === 'partner')).toBeDefined();
  });

  it('/login?provider=NAME for another provider starts a login there instead of renewing the session of the first', async () => {
    const { jar } = await driveLogin(loginUrl('&provider=partner'), 'pat');
    clock += 21 * 60_000;
    const tokens = count(partner, 'POST', '/token');
    const res = await request(loginUrl('&provider=corp'), { headers: { cookie: jar.header(srv.url) } });
    await res.body.dump();
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(new RegExp(`^${srv.url}/oauth2/authorization/corp\\?rd=`));
    expect(count(partner, 'POST', '/token')).toBe(tokens);
  });

  it('logout revokes the refresh token at the issuing provider and ends the session there (RP-initiated)', async () => {
    const { jar } = await driveLogin(loginUrl('&provider=partner'), 'pat');
    const revocations = { corp: count(corp, 'POST', '/token/revocation'), partner: count(partner, 'POST', '/token/revocation') };
    const out = await request(`${srv.url}/logout?rd=${encodeURIComponent(`${APP}/bye`)}`, {
      method: 'POST',
      headers: { cookie: jar.header(srv.url), origin: srv.url },
    });
    await out.body.dump();
    expect(out.statusCode).toBe(303);
    const finish = await request(String(out.headers.location), { headers: { cookie: jar.header(srv.url) } });
    await finish.body.dump();
    expect(finish.statusCode).toBe(302);
    expect(String(finish.headers.location)).toMatch(new RegExp(`^${partner.issuer}/session/end\\?client_id=partner-client&`));
    expect(count(partner, 'POST', '/token/revocation') - revocations.partner).toBe(1);
    expect(srv.logger.lines.filter((l) => l.msg === 'logged out').at(-1)?.fields).toEqual({ provider: 'partner' });
    expect(count(corp, 'POST', '/token/revocation')).toBe(revocations.corp);
    const cleared = [finish.headers['set-cookie'] ?? []].flat();
    for (const provider of ['corp', 'partner']) {
      expect(cleared.filter((c) => c.startsWith('airy_auth_state_0=;') && c.includes(`Path=/login/oauth2/code/${provider}`))).toHaveLength(1);
    }
  });

  it('a session cookie alone (no refresh cookie) ends at its own provider too: the idp claim names it', async () => {
    const { jar } = await driveLogin(loginUrl('&provider=corp'), 'alice');
    const cookie = `airy_auth_token=${jar.get('127.0.0.1', 'airy_auth_token')}`;
    const out = await request(`${srv.url}/logout`, { method: 'POST', headers: { cookie, origin: srv.url } });
    await out.body.dump();
    const finish = await request(String(out.headers.location), { headers: { cookie } });
    await finish.body.dump();
    expect(String(finish.headers.location)).toMatch(new RegExp(`^${corp.issuer}/session/end\\?client_id=corp-client&`));
  });

  it('keeps provider clients across a reload that does not change them: no new discovery; a changed provider discovers again', async () => {
    const discovery = (idp: TestIdp) => count(idp, 'GET', '/.well-known/openid-configuration');
    await driveLogin(loginUrl('&provider=corp'), 'alice');
    await driveLogin(loginUrl('&provider=partner'), 'pat');
    const before = { corp: discovery(corp), partner: discovery(partner) };
    const apply = (yaml: string) => {
      const compiled = compileAiryYaml(`security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n${yaml}`);
      expect(compiled.policy, JSON.stringify(compiled.issues)).toBeDefined();
      srv.store.apply(compiled, 'test reload');
      expect(srv.store.current!.fingerprint).toEqual(compiled.policy!.fingerprint);
    };
    // An unrelated change: both clients (and their discovery) are kept.
    apply(providersYaml('  publicPaths: "/webhooks/**"\n'));
    await driveLogin(loginUrl('&provider=corp'), 'alice');
    await driveLogin(loginUrl('&provider=partner'), 'pat');
    expect({ corp: discovery(corp), partner: discovery(partner) }).toEqual(before);
    // partner's settings change (its JWKS named explicitly): its client is new (one discovery), corp's is kept.
    const changed = providersYaml().replace('      groupsClaim: "roles"\n', `      groupsClaim: "roles"\n      jwkSetUri: "${partner.issuer}/jwks"\n`);
    apply(changed);
    await driveLogin(loginUrl('&provider=corp'), 'alice');
    await driveLogin(loginUrl('&provider=partner'), 'pat');
    expect({ corp: discovery(corp), partner: discovery(partner) }).toEqual({ corp: before.corp, partner: before.partner + 1 });
    // A provider no longer configured loses its client: configured again as it was, it discovers again.
    apply(changed.replace(/ {4}partner:[\s\S]*$/, ''));
    await driveLogin(loginUrl('&provider=corp'), 'alice');
    apply(changed);
    await driveLogin(loginUrl('&provider=partner'), 'pat');
    expect({ corp: discovery(corp), partner: discovery(partner) }).toEqual({ corp: before.corp, partner: before.partner + 2 });
  });
});

describe('one provider: nothing changes', () => {
  it('/login redirects straight to the provider, as before', async () => {
    const srv = await startLoginServer(
      '  allowedEmailPatterns: "*@example.com"\n  oidc:\n    provider: github\n    clientId: id\n    clientSecret: secret-0123456789\n',
    );
    try {
      const res = await request(`${srv.url}/login?rd=%2Finbox`);
      await res.body.dump();
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(`${srv.url}/oauth2/authorization/github?rd=%2Finbox`);
    } finally {
      await srv.close();
    }
  });
});
