import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { revocationKey } from '../../src/session/revocation-list.js';
import { backchannelClient, serveProvidersBackchannel } from '../helpers/backchannel-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

/**
 * Two providers that are two clients of one IdP (employees and a partner's staff, say): a logout
 * token names the issuer they share, and its audience says which client it is for. Choosing the
 * provider by issuer alone checked every token against the first one's client id, so the second's
 * back-channel logouts were refused and its sessions outlived the logout at the IdP.
 */
describeWithTools('red team: POST /backchannel-logout with two providers of one issuer', { openssl: ensureTestCa() !== undefined }, () => {
  const revocations = new MemoryRevocations();
  let idp: TestIdp;
  let server: Awaited<ReturnType<typeof serveProvidersBackchannel>>;
  let n = 0;

  beforeAll(async () => {
    idp = await startTestIdp({ accounts: {}, clients: [backchannelClient('staff-client'), backchannelClient('partner-client')] });
    server = await serveProvidersBackchannel(revocations, [
      { name: 'staff', idp },
      { name: 'partner', idp },
    ]);
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  const send = async (aud: string) => {
    const token = await idp.sign({ iss: idp.issuer, aud, iat: Math.floor(Date.now() / 1000), jti: `jti-${++n}`, sid: `session-of-${aud}`, events: EVENT });
    const res = await request(`${server.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it("records a logout token for either client, as that client's provider", async () => {
    expect(await send('staff-client')).toMatchObject({ status: 200 });
    expect(await send('partner-client')).toMatchObject({ status: 200 });
    expect(revocations.recorded.map((e) => e.key)).toEqual([
      revocationKey('sid', 'session-of-staff-client'),
      revocationKey('sid', 'session-of-partner-client'),
    ]);
    expect(await server.metric('airy_auth_logins_total', { provider: 'partner', result: 'backchannel_logout' })).toBe(1);
  });

  it('still refuses a token for a client that is neither', async () => {
    expect(await send('someone-else')).toMatchObject({ status: 400 });
  });
});
