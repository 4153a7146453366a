import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

/**
 * RED TEAM: sessionsNotBefore is checked against the refresh cookie's original login time only when
 * the NEXT renewal is attempted. A session renewed before the cut-off was set carries the renewal
 * time as its iat, so a cut-off placed after the login but before the renewal does not end it: it
 * lives on until its re-check falls due (sessionRecheck; here 10 minutes, often hours).
 */
describeWithTools('red team: a renewed session outlives a sessionsNotBefore cut-off', { openssl: ensureTestCa() !== undefined }, () => {
  let idp: TestIdp;
  let port = 0;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  let clock = Date.now();
  const keys = (extra: Record<string, string>) =>
    Object.entries({
      provider: 'my-idp',
      issuerUri: idp.issuer,
      clientId: 'basic-client',
      clientSecret: 'basic-secret-0123456789',
      allowedEmailPatterns: '*@example.com',
      allowedOrigins: 'http://app.example.com',
      sessionRecheck: '10m',
      ...extra,
    })
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join('\n');

  beforeAll(async () => {
    port = await freePort();
    idp = await startTestIdp({
      accounts: { dave: { email: 'dave@example.com', email_verified: true } },
      clients: [
        {
          client_id: 'basic-client',
          client_secret: 'basic-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`http://127.0.0.1:${port}/login/oauth2/code/my-idp`],
        },
      ],
    });
    srv = await startLoginServer(`${keys({})}\n`, () => clock, port);
  });
  afterAll(async () => {
    await srv?.close();
    await idp?.close();
  });

  const auth = async (cookie: string) => {
    const res = await request(`${srv.url}/auth`, { headers: { cookie, 'x-original-url': 'http://app.example.com/inbox' } });
    await res.body.dump();
    return res.statusCode;
  };

  it('a session renewed from a login older than the cut-off is refused as soon as the cut-off is set', async () => {
    const loginAt = clock;
    const { jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'dave');
    clock += 11 * 60_000; // the re-check is due: the browser is renewed at /login
    const res = await request(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, {
      headers: { cookie: jar.header(`${srv.url}/login`) },
    });
    await res.body.dump();
    const minted = [res.headers['set-cookie'] ?? []].flat().find((c) => /^airy_auth_token=eyJ/.test(c));
    expect(minted).toBeDefined();
    const renewed = `airy_auth_token=${/^airy_auth_token=([^;]+)/.exec(minted!)![1]}`;
    expect(await auth(renewed)).toBe(200);
    // The operator cuts off every login before loginAt + 5 min (dave's login is older).
    clock += 1000;
    const cutOff = new Date(loginAt + 5 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const compiled = compileAiryYaml(`security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n${keys({ sessionsNotBefore: cutOff })}\n`);
    expect(compiled.policy).toBeDefined();
    srv.store.apply(compiled, 'test');
    expect(srv.store.current?.revocation?.notBefore).toBe(Math.floor((loginAt + 5 * 60_000) / 1000));
    // Expected: 401 (the login this session comes from is older than the cut-off). Observed: 200 for up to sessionRecheck.
    expect(await auth(renewed)).toBe(401);
  });
});
