import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { type AssertedIdentity, AssertionCache, createIdentitySigner } from '../../src/session/identity-assertion.js';
import { TEST_PREVIOUS_SIGNING_KEY, TEST_SIGNING_KEY } from '../helpers/signing-keys.js';

const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);
const ANN: AssertedIdentity = { sub: 'u-42', email: 'ann@example.com', groups: ['sre', 'acme:ops'], provider: 'corp' };
const APP = 'https://app.example.com';

const signer = (extra: Partial<Parameters<typeof createIdentitySigner>[0]> = {}) =>
  createIdentitySigner({ privateKey: TEST_SIGNING_KEY.privateKey, issuer: 'https://auth.example.com', ttlSeconds: 60, ...extra });

const keySet = (jwks: string) => createLocalJWKSet(JSON.parse(jwks) as { keys: JWK[] });

describe('the signed identity assertion', () => {
  it('is an ES256 JWT whose kid is the RFC 7638 thumbprint, with iss, aud, sub, email, groups, idp, iat, exp and jti', async () => {
    const s = signer();
    const jwt = s.assertion(ANN, APP, NOW);
    const header = decodeProtectedHeader(jwt);
    const jwk = TEST_SIGNING_KEY.publicKey.export({ format: 'jwk' }) as JWK;
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: await calculateJwkThumbprint(jwk, 'sha256') });
    const { payload } = await jwtVerify(jwt, keySet(s.jwks), {
      issuer: 'https://auth.example.com',
      audience: APP,
      algorithms: ['ES256'],
      currentDate: new Date(NOW + 1000),
    });
    expect(payload).toEqual({
      iss: 'https://auth.example.com',
      aud: APP,
      sub: 'u-42',
      email: 'ann@example.com',
      groups: ['sre', 'acme:ops'],
      idp: 'corp',
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('leaves out email, groups and idp when the identity has none (the systemToken allow: sub system-token)', () => {
    const payload = decodeJwt(signer().assertion({ sub: 'system-token', email: undefined, groups: undefined, provider: undefined }, APP, NOW));
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
    expect(payload.sub).toBe('system-token');
  });

  it('publishes the key as a JWKS (kty EC, crv P-256, x, y, kid, alg ES256, use sig), and nothing private', () => {
    const s = signer();
    const { keys } = JSON.parse(s.jwks) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: s.kid });
    expect(s.jwksEtag).toMatch(/^"[A-Za-z0-9_-]+"$/);
  });

  it('is reused for the same identity and audience until less than a quarter of its lifetime is left, then signed anew', () => {
    const s = signer();
    const first = s.assertion(ANN, APP, NOW);
    // Another array with the same groups is the same identity.
    expect(s.assertion({ ...ANN, groups: ['sre', 'acme:ops'] }, APP, NOW + 44_000)).toBe(first);
    const renewed = s.assertion(ANN, APP, NOW + 45_000);
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).iat).toBe(NOW / 1000 + 45);
    expect(s.assertion(ANN, APP, NOW + 50_000)).toBe(renewed);
  });

  it('is never shared between audiences, identities, groups or providers', () => {
    const s = signer();
    const first = s.assertion(ANN, APP, NOW);
    const others = [
      s.assertion(ANN, 'https://other.example.com', NOW),
      s.assertion({ ...ANN, sub: 'u-43' }, APP, NOW),
      s.assertion({ ...ANN, email: 'bob@example.com' }, APP, NOW),
      s.assertion({ ...ANN, groups: ['sre'] }, APP, NOW),
      s.assertion({ ...ANN, groups: undefined }, APP, NOW),
      s.assertion({ ...ANN, provider: 'github' }, APP, NOW),
      s.assertion({ ...ANN, provider: undefined }, APP, NOW),
    ];
    expect(new Set([first, ...others]).size).toBe(8);
  });

  it('does not mistake one identity for another whose parts join to the same text', () => {
    const s = signer();
    const a = s.assertion({ sub: 'a","b', email: undefined, groups: undefined, provider: undefined }, APP, NOW);
    const b = s.assertion({ sub: 'a', email: 'b', groups: undefined, provider: undefined }, APP, NOW);
    expect(decodeJwt(a).sub).toBe('a","b');
    expect(decodeJwt(b).sub).toBe('a');
    const c = s.assertion({ sub: 'x', email: undefined, groups: ['a,b'], provider: undefined }, APP, NOW);
    const d = s.assertion({ sub: 'x', email: undefined, groups: ['a', 'b'], provider: undefined }, APP, NOW);
    expect(decodeJwt(c).groups).toEqual(['a,b']);
    expect(decodeJwt(d).groups).toEqual(['a', 'b']);
  });

  it('keeps at most cacheEntries assertions: audiences a client picks beyond that are signed but not kept, until kept ones fall due', () => {
    const s = signer({ cacheEntries: 3 });
    const kept = [1, 2, 3].map((i) => s.assertion(ANN, `https://h${i}.example.com`, NOW));
    const overflow = s.assertion(ANN, 'https://h4.example.com', NOW);
    // Not kept: asked again, it is signed again (a new jti), while the first three are reused.
    expect(s.assertion(ANN, 'https://h4.example.com', NOW)).not.toBe(overflow);
    expect([1, 2, 3].map((i) => s.assertion(ANN, `https://h${i}.example.com`, NOW))).toEqual(kept);
    // Once the kept ones are due, they make room.
    const later = s.assertion(ANN, 'https://h4.example.com', NOW + 46_000);
    expect(s.assertion(ANN, 'https://h4.example.com', NOW + 46_000)).toBe(later);
  });

  it('the cache is bounded in size too, and drops only entries that are due', () => {
    const cache = new AssertionCache(100, 50);
    expect(cache.put('k1', { jwt: 'x'.repeat(20), refreshAtMs: 1000 }, 0)).toBe(true);
    expect(cache.put('k2', { jwt: 'y'.repeat(20), refreshAtMs: 2000 }, 0)).toBe(true);
    expect(cache.put('k3', { jwt: 'z'.repeat(20), refreshAtMs: 3000 }, 500)).toBe(false);
    expect(cache.size).toBe(2);
    expect(cache.put('k3', { jwt: 'z'.repeat(20), refreshAtMs: 3000 }, 1500)).toBe(true);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')?.jwt).toBe('y'.repeat(20));
    // Replacing an entry frees its own room first.
    expect(cache.put('k2', { jwt: 'w'.repeat(20), refreshAtMs: 4000 }, 1500)).toBe(true);
    expect(cache.size).toBe(2);
  });

  it('during a rotation publishes the previous key too, so assertions signed before it still verify; the previous key never signs', async () => {
    const before = createIdentitySigner({ privateKey: TEST_PREVIOUS_SIGNING_KEY.privateKey, issuer: 'https://auth.example.com', ttlSeconds: 60 });
    const old = before.assertion(ANN, APP, NOW);
    for (const previousKey of [TEST_PREVIOUS_SIGNING_KEY.publicKey, TEST_PREVIOUS_SIGNING_KEY.privateKey]) {
      const after = signer({ previousKey });
      const { keys } = JSON.parse(after.jwks) as { keys: { kid: string }[] };
      expect(keys.map((k) => k.kid)).toEqual([after.kid, before.kid]);
      const options = { issuer: 'https://auth.example.com', audience: APP, currentDate: new Date(NOW) };
      expect((await jwtVerify(old, keySet(after.jwks), options)).payload.sub).toBe('u-42');
      expect(decodeProtectedHeader(after.assertion(ANN, APP, NOW)).kid).toBe(after.kid);
    }
    // The same key given twice is published once.
    expect((JSON.parse(signer({ previousKey: TEST_SIGNING_KEY.publicKey }).jwks) as { keys: unknown[] }).keys).toHaveLength(1);
  });
});
