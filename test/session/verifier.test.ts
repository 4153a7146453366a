import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintSession } from '../../src/session/mint.js';
import { createSessionVerifier } from '../../src/session/verifier.js';
import { PROTECTED, policyOf } from '../helpers/policies.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const key = policyOf(PROTECTED).sessionKey!;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Signs arbitrary header and payload by hand, to make tokens jose would refuse to mint. */
function handMade(header: object, payload: object, secret = key.export()): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const decodePayload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('session verifier', () => {
  const verifier = createSessionVerifier(key);
  const exp = NOW / 1000 + 3600;

  it("verifies what mintSession makes, with Airy Core's claims", async () => {
    const token = await mintSession(key, { sub: 'u1', email: 'a@example.com', name: 'Ann' }, 3600, NOW);
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({
      sub: 'u1',
      email: 'a@example.com',
      iat: NOW / 1000,
      exp,
      principal: JSON.stringify({ id: 'u1', name: 'Ann', avatarUrl: null }),
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(await verifier.verify(token, NOW)).toEqual({
      ok: true,
      session: { sub: 'u1', email: 'a@example.com', exp, nbf: undefined, iat: exp - 3600, groups: undefined, jti: payload.jti },
    });
  });

  it('reads the idp claim mint writes (the provider that signed the person in); a claim that is not a provider name is absent', async () => {
    const token = await mintSession(key, { sub: 'u1', provider: 'corp' }, 3600, NOW);
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).idp).toBe('corp');
    expect(await verifier.verify(token, NOW)).toMatchObject({ ok: true, session: { provider: 'corp' } });
    for (const idp of ['', 'a/b', 'x'.repeat(64), 42, ['corp'], 'corp\n']) {
      const odd = handMade({ alg: 'HS256' }, { sub: 'u1', exp, idp });
      const verified = await verifier.verify(odd, NOW);
      expect(verified.ok, JSON.stringify(idp)).toBe(true);
      expect(verified.ok && verified.session.provider, JSON.stringify(idp)).toBeUndefined();
    }
    // An edited idp breaks the signature: only a holder of jwtSecret can name another provider.
    const [header, , signature] = token.split('.');
    const edited = `${header}.${b64({ ...decodePayload(token), idp: 'github' })}.${signature}`;
    expect(await verifier.verify(edited, NOW)).toEqual({ ok: false, problem: 'bad_signature' });
  });

  it("verifies a token shaped like Airy Core's (header {alg: HS256}, no email)", async () => {
    const token = handMade({ alg: 'HS256' }, { jti: 'x', sub: 'user-id', iat: NOW / 1000, exp, principal: '{"id":"user-id","name":"A","avatarUrl":null}' });
    expect(await verifier.verify(token, NOW)).toMatchObject({ ok: true, session: { sub: 'user-id', email: undefined } });
  });

  it.each([
    ['alg none', () => `${b64({ alg: 'none' })}.${b64({ sub: 'x', exp })}.`, 'malformed'],
    ['alg none with a signature', () => `${b64({ alg: 'none' })}.${b64({ sub: 'x', exp })}.AAAA`, 'alg_not_allowed'],
    ['HS512', () => new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime(exp).sign(Buffer.alloc(64, 1)), 'alg_not_allowed'],
    ['a wrong key', () => handMade({ alg: 'HS256' }, { sub: 'x', exp }, Buffer.alloc(32, 9)), 'bad_signature'],
    ['no exp', () => handMade({ alg: 'HS256' }, { sub: 'x' }), 'bad_claims'],
    ['no sub', () => handMade({ alg: 'HS256' }, { exp }), 'bad_claims'],
    ['a non-string email', () => handMade({ alg: 'HS256' }, { sub: 'x', exp, email: ['a@b'] }), 'bad_claims'],
    ['a crit header', () => handMade({ alg: 'HS256', crit: ['x'], x: 1 }, { sub: 'x', exp }), 'malformed'],
    ['garbage', () => 'not.a.jwt!', 'malformed'],
    ['a huge token', () => `${'a'.repeat(5000)}.${'b'.repeat(7000)}.c`, 'malformed'],
    ['an expired token', () => handMade({ alg: 'HS256' }, { sub: 'x', exp: NOW / 1000 - 31 }), 'expired'],
    ['a not-yet-valid token', () => handMade({ alg: 'HS256' }, { sub: 'x', exp, nbf: NOW / 1000 + 60 }), 'not_yet_valid'],
  ])('refuses %s', async (_name, make, problem) => {
    expect(await verifier.verify(await make(), NOW)).toEqual({ ok: false, problem });
  });

  it('does not take a memoized verification for another token that reuses its signature', async () => {
    const token = await mintSession(key, { sub: 'u3', email: 'a@example.com' }, 600, NOW);
    expect((await verifier.verify(token, NOW)).ok).toBe(true);
    const [h, , sig] = token.split('.');
    const forged = `${h}.${b64({ sub: 'admin', exp, email: 'boss@example.com' })}.${sig}`;
    expect(await verifier.verify(forged, NOW)).toEqual({ ok: false, problem: 'bad_signature' });
  });

  it('never lets a memoized verification outlive exp', async () => {
    const token = await mintSession(key, { sub: 'u2' }, 120, NOW);
    expect((await verifier.verify(token, NOW)).ok).toBe(true);
    expect((await verifier.verify(token, NOW + 149_000)).ok).toBe(true);
    expect(await verifier.verify(token, NOW + 151_000)).toEqual({ ok: false, problem: 'expired' });
  });
});
