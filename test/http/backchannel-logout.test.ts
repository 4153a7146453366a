import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revocationKey } from '../../src/session/revocation-list.js';
import { type BackchannelSetup, startBackchannelServer } from '../helpers/backchannel-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import type { TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

describeWithTools('POST /backchannel-logout (oidc-provider keys)', { openssl: ensureTestCa() !== undefined }, () => {
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
    revocations.failWrites = false;
  });

  const claims = (over: Record<string, unknown> = {}) => ({
    iss: idp.issuer,
    aud: 'airy',
    iat: Math.floor(Date.now() / 1000),
    jti: `jti-${++n}`,
    sid: 'provider-session-1',
    events: EVENT,
    ...over,
  });
  const post = async (body: string, type = 'application/x-www-form-urlencoded') => {
    const res = await request(`${server.url}/backchannel-logout`, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: res.statusCode, body: await res.body.text(), cache: res.headers['cache-control'] };
  };
  const send = async (token: string) => post(new URLSearchParams({ logout_token: token }).toString());

  it('records the provider session (sid) for every replica, kept for the session lifetime', async () => {
    const answer = await send(await idp.sign(claims()));
    expect(answer).toEqual({ status: 200, body: '', cache: 'no-store' });
    expect(revocations.recorded).toHaveLength(1);
    const [entry] = revocations.recorded;
    expect(entry).toMatchObject({ kind: 'sid', key: revocationKey('sid', 'provider-session-1') });
    expect(entry!.until - entry!.at).toBe(12 * 3600);
  });

  it('records the subject when the token names no sid (sessions named by sub)', async () => {
    expect((await send(await idp.sign(claims({ sid: undefined, sub: 'alice' })))).status).toBe(200);
    expect(revocations.recorded[0]).toMatchObject({ kind: 'sub', key: revocationKey('sub', 'alice') });
  });

  describe('refuses, recording nothing', () => {
    const own = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: [string, () => Promise<string>][] = [
      ['a token signed by another key', () => new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'key-a' }).sign(own)],
      [
        'HS256 with the client secret',
        () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('airy-secret-0123456789')),
      ],
      [
        'an unsigned token (alg none)',
        async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`,
      ],
      ['another audience', () => idp.sign(claims({ aud: 'other' }))],
      ['another issuer', () => idp.sign(claims({ iss: 'https://evil.example' }))],
      ['no back-channel logout event', () => idp.sign(claims({ events: { 'http://schemas.openid.net/event/other': {} } }))],
      ['events that are not an object', () => idp.sign(claims({ events: ['http://schemas.openid.net/event/backchannel-logout'] }))],
      ['an ID token (with a nonce)', () => idp.sign(claims({ nonce: 'abc' }))],
      ['a token issued 10 minutes ago', () => idp.sign(claims({ iat: Math.floor(Date.now() / 1000) - 600 }))],
      ['an expired token', () => idp.sign(claims({ exp: Math.floor(Date.now() / 1000) - 120 }))],
      ['no jti', () => idp.sign(claims({ jti: undefined }))],
      ['no iat', () => idp.sign(claims({ iat: undefined }))],
      ['neither sid nor sub', () => idp.sign(claims({ sid: undefined }))],
      ['a sid that is not a string', () => idp.sign(claims({ sid: 42 }))],
      ['a token typed as an access token', () => idp.sign(claims(), { typ: 'at+jwt' })],
    ];
    it.each(cases)('%s', async (_what, make) => {
      const answer = await send(await make());
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
      expect(revocations.recorded).toEqual([]);
    });

    it('a replayed token', async () => {
      const token = await idp.sign(claims());
      expect((await send(token)).status).toBe(200);
      const again = await send(token);
      expect(again.status).toBe(400);
      expect(again.body).toContain('replayed');
      expect(revocations.recorded).toHaveLength(1);
    });

    it('a request that is not one form with one logout_token', async () => {
      const token = await idp.sign(claims());
      expect((await post(JSON.stringify({ logout_token: token }), 'application/json')).status).toBe(400);
      expect((await post(`logout_token=${token}&logout_token=${token}`)).status).toBe(400);
      expect((await post(`logout_token=${'a'.repeat(20_000)}`)).status).toBe(400);
      expect((await request(`${server.url}/backchannel-logout`)).statusCode).toBe(405);
      expect(revocations.recorded).toEqual([]);
    });
  });

  it('answers 504 when the revocation reaches this replica only, and takes the provider’s retry', async () => {
    revocations.failWrites = true;
    const token = await idp.sign(claims());
    const answer = await send(token);
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'temporarily_unavailable' });
    // Applied here anyway.
    expect(revocations.current.entries.has(revocationKey('sid', 'provider-session-1'))).toBe(true);
    revocations.failWrites = false;
    expect((await send(token)).status).toBe(200);
  });
});
