import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SIGNED_IN_PATH, SIGNED_OUT_PATH } from '../../src/http/landing.js';
import { startLoginServer } from '../helpers/login-server.js';

type Server = Awaited<ReturnType<typeof startLoginServer>>;
let server: Server | undefined;
afterEach(() => server?.close());

const LOGIN_HOST = 'https://auth.example.test';
const oidc = (extra = '') =>
  `  oidc:\n    provider: github\n    clientId: airy-client\n    clientSecret: s3cret-for-tests\n    allowedEmailPatterns: "*@example.test"\n${extra}`;
const loginHost = (redirectDomains: string, extra = '') =>
  `  publicUrl: "${LOGIN_HOST}"\n  cookieDomain: ".example.test"\n  redirectDomains: "${redirectDomains}"\n${oidc(extra)}`;

/** Where GET /login sends the browser back to after the provider: the rd it carries into the login. */
async function loginLanding(s: Server, rd?: string): Promise<string> {
  const res = await request(`${s.url}/login${rd === undefined ? '' : `?rd=${encodeURIComponent(rd)}`}`, { headers: { host: 'auth.example.test' } });
  await res.body.dump();
  expect(res.statusCode).toBe(302);
  const location = new URL(String(res.headers.location));
  expect(location.pathname).toBe('/oauth2/authorization/github');
  return location.searchParams.get('rd')!;
}

/** Where POST /logout (same site) sends the browser. */
async function logoutLanding(s: Server, rd?: string): Promise<string> {
  const res = await request(`${s.url}/logout${rd === undefined ? '' : `?rd=${encodeURIComponent(rd)}`}`, {
    method: 'POST',
    headers: { host: 'auth.example.test', 'sec-fetch-site': 'same-origin' },
  });
  await res.body.dump();
  expect(res.statusCode).toBe(302);
  return String(res.headers.location);
}

/** A landing on the login host must be one of its pages that airy-auth serves: never its 404. */
async function expectServedByLoginHost(s: Server, target: string, title: string) {
  expect(target.startsWith('/')).toBe(true);
  const res = await request(`${s.url}${target}`, { headers: { host: 'auth.example.test' } });
  const body = await res.body.text();
  expect(res.statusCode, `${target} on the login host`).toBe(200);
  expect(body).toContain(`<h1>${title}</h1>`);
  return body;
}

describe('a login host (publicUrl + cookieDomain): login and logout without rd land somewhere useful', () => {
  it('on the first exact redirectDomains host', async () => {
    server = await startLoginServer(loginHost('*.apps.example.test,wiki.example.test,docs.example.test'));
    expect(await loginLanding(server)).toBe('https://wiki.example.test/');
    expect(await logoutLanding(server)).toBe('https://wiki.example.test/');
  });

  it('keeps the login host scheme and port (in development every host is served on one port)', async () => {
    server = await startLoginServer(
      `  publicUrl: "http://auth.example.test:8443"\n  cookieDomain: ".example.test"\n  redirectDomains: "wiki.example.test"\n${oidc()}`,
    );
    expect(await loginLanding(server)).toBe('http://wiki.example.test:8443/');
  });

  it("on the login host's own signed-in and signed-out pages when redirectDomains names no single host", async () => {
    server = await startLoginServer(loginHost('*.apps.example.test'));
    const afterLogin = await loginLanding(server);
    expect(afterLogin).toBe(SIGNED_IN_PATH);
    const signedIn = await expectServedByLoginHost(server, afterLogin, 'Signed in');
    const afterLogout = await logoutLanding(server);
    expect(afterLogout).toBe(SIGNED_OUT_PATH);
    const signedOut = await expectServedByLoginHost(server, afterLogout, 'Signed out');
    // Anyone may open these pages: they name no user, app, host or setting.
    for (const page of [signedIn, signedOut]) {
      expect(page).not.toMatch(/example\.test|airy-client|github|@/);
    }
  });

  it('rd wins when it is safe (login and logout); an unsafe rd falls back the same way', async () => {
    server = await startLoginServer(loginHost('*.apps.example.test,wiki.example.test'));
    expect(await loginLanding(server, 'https://crm.apps.example.test/deals?id=7')).toBe('https://crm.apps.example.test/deals?id=7');
    expect(await logoutLanding(server, 'https://crm.apps.example.test/')).toBe('https://crm.apps.example.test/');
    expect(await loginLanding(server, 'https://evil.test/')).toBe('https://wiki.example.test/');
    expect(await logoutLanding(server, '//evil.test/')).toBe('https://wiki.example.test/');
  });

  it('a configured loginSuccessUrl or logoutSuccessUrl other than / is followed as before', async () => {
    server = await startLoginServer(
      loginHost('wiki.example.test', '    loginSuccessUrl: "https://wiki.example.test/welcome"\n    logoutSuccessUrl: "https://wiki.example.test/bye"\n'),
    );
    expect(await loginLanding(server)).toBe('https://wiki.example.test/welcome');
    expect(await logoutLanding(server)).toBe('https://wiki.example.test/bye');
  });
});

it('without a login host, / of the app host stays the landing (the app is there)', async () => {
  server = await startLoginServer(oidc());
  expect(await loginLanding(server)).toBe('/');
  expect(await logoutLanding(server)).toBe('/');
});
