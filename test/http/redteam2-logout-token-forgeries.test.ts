import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { type BackchannelSetup, startBackchannelServer } from '../helpers/backchannel-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import type { TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

const EVENT_URI = 'http://schemas.openid.net/event/backchannel-logout';

/** RED TEAM: logout tokens signed by the provider's real key (or not) that must not end anyone's session. */
describeWithTools('red team: forged and malformed logout tokens', { openssl: ensureTestCa() !== undefined }, () => {
  let idp: TestIdp;
  let server: BackchannelSetup['server'];
  const revocations = new MemoryRevocations();
  let n = 0;

  let setup: BackchannelSetup | undefined;

  beforeAll(async () => {
    setup = await startBackchannelServer(revocations);
    ({ idp, server } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });
  beforeEach(() => {
    revocations.recorded = [];
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => {
    const c: Record<string, unknown> = {
      iss: idp.issuer,
      aud: 'airy',
      iat: now(),
      jti: `rt-${++n}`,
      sid: 'victim-session',
      events: { [EVENT_URI]: {} },
      ...over,
    };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  const send = async (token: string) => {
    const res = await request(`${server.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('the provider-signed baseline is taken (so the refusals below are not the setup)', async () => {
    expect(await send(await idp.sign(claims()))).toBe(200);
  });

  const own = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cases: [string, () => Promise<string>][] = [
    ['iat an hour in the future', () => idp.sign(claims({ iat: now() + 3600 }))],
    ['nbf an hour in the future', () => idp.sign(claims({ nbf: now() + 3600 }))],
    ['exp passed', () => idp.sign(claims({ exp: now() - 3600 }))],
    ['iat as a string', () => idp.sign(claims({ iat: String(now()) }))],
    ['iss with a trailing slash', () => idp.sign(claims({ iss: `${idp.issuer}/` }))],
    ['aud naming only another client (array)', () => idp.sign(claims({ aud: ['other'] }))],
    ['events as an array', () => idp.sign(claims({ events: [EVENT_URI] }))],
    ['events value true', () => idp.sign(claims({ events: { [EVENT_URI]: true } }))],
    ['events value an array', () => idp.sign(claims({ events: { [EVENT_URI]: [] } }))],
    ['event URI in another case', () => idp.sign(claims({ events: { [EVENT_URI.toUpperCase()]: {} } }))],
    ['a nonce (an ID token)', () => idp.sign(claims({ nonce: 'n' }))],
    ['a nonce of null', () => idp.sign(claims({ nonce: null }))],
    ['sid a number', () => idp.sign(claims({ sid: 12345 }))],
    ['sid empty, no sub', () => idp.sign(claims({ sid: '' }))],
    ['jti missing', () => idp.sign(claims({ jti: undefined }))],
    ['typ at+jwt', () => idp.sign(claims(), { typ: 'at+jwt' })],
    ['typ id_token+jwt', () => idp.sign(claims(), { typ: 'secevent+jwt' })],
    [
      'an embedded jwk header with a stranger key',
      async () => new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'key-a', jwk: await exportJWK(own.publicKey) }).sign(own.privateKey),
    ],
    [
      'a jku header pointing elsewhere',
      async () => new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', jku: 'https://evil.example/jwks' }).sign(own.privateKey),
    ],
    [
      'alg none with the real kid',
      async () =>
        `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'key-a' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`,
    ],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name}`, async () => {
      expect(await send(await make())).toBe(400);
      expect(revocations.recorded).toEqual([]);
    });
  }

  it('a replay of a taken token is refused', async () => {
    const t = await idp.sign(claims());
    expect(await send(t)).toBe(200);
    expect(await send(t)).toBe(400);
  });

  it('no log line carries a logout token', () => {
    expect(JSON.stringify(server.logger.lines)).not.toMatch(/eyJ[\w-]{10,}/);
  });
});
