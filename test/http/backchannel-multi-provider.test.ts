import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { revocationKey } from '../../src/session/revocation-list.js';
import { backchannelClient, serveProvidersBackchannel } from '../helpers/backchannel-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

/**
 * With several OpenID providers, a logout token is checked against the provider its `iss` names,
 * and only that one: another provider's keys never vouch for it, and an issuer that is no
 * configured provider's is refused.
 */
describeWithTools('POST /backchannel-logout with two providers (oidc-provider keys)', { openssl: ensureTestCa() !== undefined }, () => {
  const revocations = new MemoryRevocations();
  let corp: TestIdp;
  let partner: TestIdp;
  let server: Awaited<ReturnType<typeof serveProvidersBackchannel>>;
  let n = 0;

  beforeAll(async () => {
    corp = await startTestIdp({ accounts: {}, clients: [backchannelClient('corp-client')] });
    partner = await startTestIdp({ accounts: {}, clients: [backchannelClient('partner-client')] });
    server = await serveProvidersBackchannel(revocations, [
      { name: 'corp', idp: corp },
      { name: 'partner', idp: partner },
    ]);
  });
  afterAll(async () => {
    await server?.close();
    await corp?.close();
    await partner?.close();
  });
  beforeEach(() => {
    revocations.recorded = [];
  });

  const claims = (idp: TestIdp, aud: string, over: Record<string, unknown> = {}) => ({
    iss: idp.issuer,
    aud,
    iat: Math.floor(Date.now() / 1000),
    jti: `jti-${++n}`,
    sid: `session-of-${aud}`,
    events: EVENT,
    ...over,
  });
  const send = async (token: string) => {
    const res = await request(`${server.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it('records a logout token of either provider, checked with that provider’s keys and client id', async () => {
    expect((await send(await partner.sign(claims(partner, 'partner-client')))).status).toBe(200);
    expect((await send(await corp.sign(claims(corp, 'corp-client')))).status).toBe(200);
    expect(revocations.recorded.map((e) => e.key)).toEqual([revocationKey('sid', 'session-of-partner-client'), revocationKey('sid', 'session-of-corp-client')]);
    expect(await server.metric('airy_auth_logins_total', { provider: 'partner', result: 'backchannel_logout' })).toBe(1);
    expect(server.logger.lines.find((l) => l.msg === 'back-channel logout recorded' && l.fields.provider === 'corp')).toBeDefined();
  });

  it("refuses a token that names one provider but is signed by the other's key, or is for the other's client, or names no provider", async () => {
    const forged = await corp.sign(claims(partner, 'partner-client'));
    expect(await send(forged)).toMatchObject({ status: 400, body: expect.stringContaining('bad_signature') });
    const wrongClient = await partner.sign(claims(partner, 'corp-client'));
    expect((await send(wrongClient)).status).toBe(400);
    const stranger = await partner.sign(claims(partner, 'partner-client', { iss: 'https://elsewhere.example.com' }));
    expect(await send(stranger)).toMatchObject({ status: 400, body: expect.stringContaining('bad_claims') });
    expect(await send('not-a-jwt')).toMatchObject({ status: 400 });
    expect(revocations.recorded).toEqual([]);
  });
});
