import { describe, expect, it } from 'vitest';
import { cookieValues, serializeCookie } from '../../src/session/cookies.js';

describe('cookieValues', () => {
  it.each([
    ['airy_auth_token=a', ['a']],
    ['x=1; airy_auth_token=a; y=2', ['a']],
    ['x=1;airy_auth_token=a;airy_auth_token=b', ['a', 'b']],
    ['  airy_auth_token = "q" ', ['q']],
    ['my_airy_auth_token=a; airy_auth_token_x=b', []],
    ['x=airy_auth_token=a', []],
    ['airy_auth_token', []],
    ['airy_auth_token=', []],
    ['airy_auth_token=;airy_auth_token=z', ['z']],
    ['', []],
  ])('%j → %j', (header, expected) => {
    expect(cookieValues(header, 'airy_auth_token')).toEqual(expected);
  });

  it('stays linear on hostile shapes: 3 MB of the cookie name without ";" is one pair, read in one pass', () => {
    // A parser that looks back to the previous ";" at every occurrence of the name does ~10^11 steps here.
    const hostile = 'airy_auth_token'.repeat(200_000);
    expect(cookieValues(hostile, 'airy_auth_token')).toEqual([]);
    expect(cookieValues(`${hostile}=v`, 'airy_auth_token')).toEqual([]);
    expect(cookieValues(`${'a=b;'.repeat(500_000)} airy_auth_token=v`, 'airy_auth_token')).toEqual(['v']);
  });

  it('looks at no more than 8 cookies of the name', () => {
    expect(cookieValues(Array.from({ length: 20 }, (_, i) => `airy_auth_token=${i}`).join('; '), 'airy_auth_token')).toHaveLength(8);
  });
});

describe('serializeCookie', () => {
  it('is always HttpOnly, SameSite=Lax by default, Secure only when asked', () => {
    expect(serializeCookie('airy_auth_token', 'abc', { maxAgeSeconds: 60, secure: true })).toBe(
      'airy_auth_token=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure',
    );
    expect(serializeCookie('airy_auth_token', '', { maxAgeSeconds: 0, secure: false })).toBe(
      'airy_auth_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });
  it('refuses values a cookie cannot carry', () => {
    expect(() => serializeCookie('airy_auth_token', 'a;b', { maxAgeSeconds: 1, secure: false })).toThrow(TypeError);
  });
});
