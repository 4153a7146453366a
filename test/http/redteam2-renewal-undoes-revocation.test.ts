import { decodeJwt } from 'jose';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Revocations } from '../../src/http/deps.js';
import { type RevocationKind, revocationEntry } from '../../src/session/revocation-list.js';
import { driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

/**
 * RED TEAM: `airy-auth revoke --subject/--email/--session/--all-before` and a back-channel logout
 * by `sub` end a session on every replica, and the browser's refresh cookie must not bring it back: the
 * 401 sends the browser to /login, which renews with the provider and mints a NEW session (new
 * iat, new jti) that no entry matches, unless /login consults the list first, as it now does (as it
 * does for sessionsNotBefore, via the refresh cookie's original login time).
 */
describeWithTools('red team: a silent renewal undoes a revocation from the cluster list', { openssl: ensureTestCa() !== undefined }, () => {
  let idp: TestIdp;
  let port = 0;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  let clock = Date.now();
  const revocations = new MemoryRevocations();

  beforeAll(async () => {
    port = await freePort();
    idp = await startTestIdp({
      backchannelLogout: true,
      accounts: { alice: { email: 'alice@example.com', email_verified: true } },
      clients: [
        {
          client_id: 'basic-client',
          client_secret: 'basic-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`http://127.0.0.1:${port}/login/oauth2/code/my-idp`],
          backchannel_logout_uri: `http://127.0.0.1:${port}/backchannel-logout`,
          backchannel_logout_session_required: true,
        },
      ],
    });
    const lines = Object.entries({
      provider: 'my-idp',
      issuerUri: idp.issuer,
      clientId: 'basic-client',
      clientSecret: 'basic-secret-0123456789',
      allowedEmailPatterns: '*@example.com',
      allowedOrigins: 'http://app.example.com',
      sessionRecheck: '10m',
      sessionTtl: '12h',
    })
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join('\n');
    srv = await startLoginServer(`${lines}\n`, () => clock, port);
    (srv.deps as { revocations?: Revocations }).revocations = revocations;
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

  const kinds: [RevocationKind, (claims: Record<string, unknown>) => string][] = [
    ['sub', (c) => String(c.sub)],
    ['email', (c) => String(c.email)],
    ['jti', (c) => String(c.jti)],
    ['all', () => ''],
    // A back-channel logout of the provider session (what POST /backchannel-logout records).
    ['sid', (c) => String(c.sid)],
  ];
  for (const [kind, revokedValue] of kinds) {
    it(`a session revoked by ${kind} stays refused: /login must not renew it with the refresh cookie`, async () => {
      // Each case logs alice in anew: past the 30 s clock leeway of the previous case's subject entry.
      clock += 31_000;
      const { jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'alice');
      const token = jar.get('127.0.0.1', 'airy_auth_token')!;
      expect(jar.get('127.0.0.1', 'airy_auth_refresh')).toMatch(/^eyJ/);
      expect(await auth(`airy_auth_token=${token}`)).toBe(200);
      // The operator runs `airy-auth revoke --${kind} ...` one second later.
      clock += 1000;
      const claims = decodeJwt(token) as Record<string, unknown>;
      if (kind === 'sid') expect(typeof claims.sid).toBe('string');
      await revocations.record([revocationEntry(kind, revokedValue(claims), (kind === 'all' ? clock + 1000 : clock) / 1000, 12 * 3600)]);
      expect(await auth(`airy_auth_token=${token}`)).toBe(401);
      // The 401 sends the browser through /login, carrying its refresh cookie.
      clock += 1000;
      const res = await request(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, {
        headers: { cookie: jar.header(`${srv.url}/login`) },
      });
      await res.body.dump();
      const minted = [res.headers['set-cookie'] ?? []].flat().find((c) => /^airy_auth_token=eyJ/.test(c));
      const renewed = minted === undefined ? undefined : /^airy_auth_token=([^;]+)/.exec(minted)![1];
      // Expected: no new session (a fresh, interactive login instead). Observed: a new session that is allowed.
      expect(renewed === undefined ? 'no session minted' : `renewed session answered ${await auth(`airy_auth_token=${renewed}`)}`).toBe('no session minted');
    });
  }
  it('logout with the revocation list on ends the session itself: a copy of the cookie taken before the logout is refused', async () => {
    clock += 31_000;
    const { jar } = await driveLogin(`${srv.url}/login?rd=${encodeURIComponent('http://app.example.com/inbox')}`, 'alice');
    const copy = `airy_auth_token=${jar.get('127.0.0.1', 'airy_auth_token')!}`;
    expect(await auth(copy)).toBe(200);
    const out = await request(`${srv.url}/logout`, { method: 'POST', headers: { cookie: jar.header(`${srv.url}/logout`), origin: srv.url } });
    await out.body.dump();
    const handOver = String(out.headers.location);
    const finish = await request(handOver, { headers: { cookie: jar.header(handOver) } });
    await finish.body.dump();
    expect([finish.headers['set-cookie'] ?? []].flat().some((c) => /^airy_auth_token=;.*Max-Age=0/.test(c))).toBe(true);
    // Expected: 401 (the session's jti is revoked on every replica). Observed: 200 until exp.
    expect(await auth(copy)).toBe(401);
  });

  it('no log line of these logins, renewals and logouts carries a token, a refresh cookie or a ticket', () => {
    const logged = JSON.stringify(srv.logger.lines);
    expect(logged).not.toMatch(/eyJ[\w-]{10,}/);
    expect(logged).not.toMatch(/logout=/);
  });
});
