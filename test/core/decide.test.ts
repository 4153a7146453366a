import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import type { Facts } from '../../src/core/facts.js';
import { mintSession } from '../../src/session/mint.js';
import { evaluate } from '../helpers/evaluator.js';
import { PROTECTED, policyOf, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const policy = policyOf(PROTECTED);
const facts = (over: Partial<Facts> = {}): Facts => ({
  method: 'GET',
  scheme: 'https',
  host: 'api.example.com',
  path: '/conversations.list',
  origin: undefined,
  authorization: undefined,
  sessionCookies: [],
  ...over,
});
const session = (sub: string, email?: string, ttl = 3600, now = NOW) => mintSession(policy.sessionKey!, { sub, email }, ttl, now);

describe('decide', () => {
  it('1. answers 503 while no config is loaded (fail closed)', async () => {
    expect(await decide(facts({ authorization: TEST_SYSTEM_TOKEN }), evaluate(undefined), NOW)).toEqual({ status: 503, reason: 'no_config' });
  });

  it('2. allows everything when auth is off', async () => {
    expect(await decide(facts(), evaluate(policyOf({ systemToken: TEST_SYSTEM_TOKEN })), NOW)).toEqual({ status: 200, reason: 'auth_disabled' });
  });

  describe('3. Origin', () => {
    it.each(['https://evil.com', 'null', 'https://app.example.com.evil.com', 'http://app.example.com', 'https://example.org'])('refuses %s', async (origin) => {
      expect(await decide(facts({ origin, authorization: TEST_SYSTEM_TOKEN }), evaluate(policy), NOW)).toEqual({
        status: 403,
        reason: 'origin_not_allowed',
        ruleKey: 'security.allowedOrigins',
      });
    });
    it.each(['https://app.example.com', 'https://APP.example.com:443', 'https://a.b.example.org', 'https://api.example.com'])(
      'accepts %s (listed, wildcard or same origin)',
      async (origin) => {
        expect(await decide(facts({ origin, authorization: TEST_SYSTEM_TOKEN }), evaluate(policy), NOW)).toMatchObject({ status: 200 });
      },
    );
    it('checks the origin before public paths', async () => {
      expect(await decide(facts({ origin: 'https://evil.com', path: '/webhooks/x' }), evaluate(policy), NOW)).toMatchObject({ status: 403 });
    });
  });

  describe('4. public paths', () => {
    it.each(['/webhooks/github', '/webhooks/a/b', '/healthz', '/x/../webhooks/y'])('allows %s without credentials', async (path) => {
      expect(await decide(facts({ path }), evaluate(policy), NOW)).toEqual({ status: 200, reason: 'public_path' });
    });
    it.each([
      '/webhooks/../admin',
      '/webhooks/%2e%2e/admin',
      '/webhooks%2F..%2Fadmin',
      '/webhooks%2Fy',
      '/admin%2F..%2Fwebhooks/x',
      '/%2e%2e/webhooks/x',
      '/webhooks/%252e%252e/admin',
      '/webhooks\\..\\admin',
      '/webhooks/%zz',
      '/healthzx',
      '/api/healthz',
    ])('does not treat %s as public', async (path) => {
      expect(await decide(facts({ path }), evaluate(policy), NOW)).toEqual({ status: 401, reason: 'no_credentials' });
    });
  });

  describe('5. Authorization header', () => {
    it('accepts the systemToken as Bearer and raw, reporting only "system-token"', async () => {
      for (const authorization of [`Bearer ${TEST_SYSTEM_TOKEN}`, `bearer  ${TEST_SYSTEM_TOKEN}`, TEST_SYSTEM_TOKEN]) {
        expect(await decide(facts({ authorization }), evaluate(policy), NOW)).toEqual({ status: 200, reason: 'system_token', user: 'system-token' });
      }
    });
    it('refuses a near-miss of the systemToken', async () => {
      for (const authorization of [`Bearer ${TEST_SYSTEM_TOKEN}x`, `Bearer ${TEST_SYSTEM_TOKEN.slice(0, -1)}`, `Basic ${TEST_SYSTEM_TOKEN}`, 'Bearer ', '']) {
        expect(await decide(facts({ authorization }), evaluate(policy), NOW)).toMatchObject({ status: 401, reason: 'invalid_token' });
      }
    });
    it('accepts a systemToken of the longest allowed length, and refuses one character more', async () => {
      const longest = policyOf({ ...PROTECTED, systemToken: 'y'.repeat(4096) });
      expect(await decide(facts({ authorization: `Bearer ${'y'.repeat(4096)}` }), evaluate(longest), NOW)).toMatchObject({
        status: 200,
        reason: 'system_token',
      });
      expect(await decide(facts({ authorization: `Bearer ${'y'.repeat(4097)}` }), evaluate(longest), NOW)).toMatchObject({
        status: 401,
        reason: 'invalid_token',
      });
    });
    it('accepts a session JWT in the header', async () => {
      expect(await decide(facts({ authorization: `Bearer ${await session('u1', 'ann@example.com')}` }), evaluate(policy), NOW)).toEqual({
        status: 200,
        reason: 'session_token',
        user: 'u1',
        email: 'ann@example.com',
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    });
    it('does not fall back to the cookie when the header is bad', async () => {
      const good = await session('u1', 'ann@example.com');
      expect(await decide(facts({ authorization: 'Bearer garbage', sessionCookies: [good] }), evaluate(policy), NOW)).toMatchObject({
        status: 401,
        reason: 'invalid_token',
      });
    });
  });

  describe('6. cookie', () => {
    it('accepts a valid session cookie', async () => {
      expect(await decide(facts({ sessionCookies: [await session('u2', 'bob@example.com')] }), evaluate(policy), NOW)).toEqual({
        status: 200,
        reason: 'session_cookie',
        user: 'u2',
        email: 'bob@example.com',
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    });
    it('uses the first valid cookie when several are sent', async () => {
      expect(await decide(facts({ sessionCookies: ['stale', await session('u3')] }), evaluate(policy), NOW)).toMatchObject({ status: 200, user: 'u3' });
    });
    it('refuses an expired cookie, with the leeway of 30 s', async () => {
      const token = await session('u4', undefined, 60, NOW - 60_000);
      expect(await decide(facts({ sessionCookies: [token] }), evaluate(policy), NOW + 29_000)).toMatchObject({ status: 200 });
      expect(await decide(facts({ sessionCookies: [token] }), evaluate(policy), NOW + 31_000)).toEqual({
        status: 401,
        reason: 'invalid_cookie',
        tokenProblem: 'expired',
      });
    });
  });

  it('7. answers 401 without credentials', async () => {
    expect(await decide(facts(), evaluate(policy), NOW)).toEqual({ status: 401, reason: 'no_credentials' });
  });

  it('8. re-checks the email on every request', async () => {
    const token = await session('u5', 'eve@elsewhere.io');
    expect(await decide(facts({ sessionCookies: [token] }), evaluate(policy), NOW)).toEqual({
      status: 403,
      reason: 'email_not_allowed',
      user: 'u5',
      email: 'eve@elsewhere.io',
      ruleKey: 'security.allowedEmailPatterns',
    });
    const narrowed = policyOf({ ...PROTECTED, allowedEmailPatterns: 'boss@partner.io' });
    const annToken = await mintSession(narrowed.sessionKey!, { sub: 'u6', email: 'ann@example.com' }, 3600, NOW);
    expect(await decide(facts({ sessionCookies: [annToken] }), evaluate(policy), NOW)).toMatchObject({ status: 200 });
    expect(await decide(facts({ sessionCookies: [annToken] }), evaluate(narrowed), NOW)).toMatchObject({ status: 403, reason: 'email_not_allowed' });
  });

  it('refuses tokens signed with another jwtSecret, and a secret change invalidates cached verifications', async () => {
    const token = await session('u7');
    expect(await decide(facts({ sessionCookies: [token] }), evaluate(policy), NOW)).toMatchObject({ status: 200 });
    const rotated = policyOf({ ...PROTECTED, jwtSecret: Buffer.alloc(40, 7).toString('base64') });
    expect(await decide(facts({ sessionCookies: [token] }), evaluate(rotated), NOW)).toMatchObject({ status: 401, tokenProblem: 'bad_signature' });
  });
});

describe('identity text on route rules', () => {
  // No global email rule here, so only the route's own rule decides.
  const open = policyOf({ ...PROTECTED, allowedEmailPatterns: undefined });
  const mint = (sub: string, email: string) => mintSession(open.sessionKey!, { sub, email }, 3600, NOW);

  it('a second @ never ends in an allowed domain or address (oauth2-proxy GHSA-c5c4-8r6x-56w3)', async () => {
    const token = await mint('eve', 'eve@evil.com@example.com');
    for (const ruleQuery of ['allowed_email_domains=example.com', 'allowed_email_domains=evil.com', 'allowed_emails=evil.com@example.com']) {
      expect(await decide(facts({ authorization: `Bearer ${token}`, ruleQuery }), evaluate(open), NOW)).toMatchObject({
        status: 403,
        reason: 'email_not_allowed',
      });
    }
  });

  it('an email is compared in ASCII only: a letter that Unicode folds into ASCII matches no rule', async () => {
    const token = await mint('eve', 'eve@\u212Aelvin.io');
    for (const ruleQuery of ['allowed_email_domains=kelvin.io', 'allowed_emails=eve@kelvin.io']) {
      expect(await decide(facts({ authorization: `Bearer ${token}`, ruleQuery }), evaluate(open), NOW)).toMatchObject({ status: 403 });
    }
    const plain = await mint('ann', 'Ann@Kelvin.IO');
    expect(await decide(facts({ authorization: `Bearer ${plain}`, ruleQuery: 'allowed_email_domains=kelvin.io' }), evaluate(open), NOW)).toMatchObject({
      status: 200,
    });
  });

  it('a non-ASCII letter that does not fold into ASCII compares as usual', async () => {
    const token = await mintSession(policy.sessionKey!, { sub: 'u', email: 'Jürgen@Example.com' }, 3600, NOW);
    expect(await decide(facts({ authorization: `Bearer ${token}` }), evaluate(policy), NOW)).toMatchObject({ status: 200 });
    expect(await decide(facts({ authorization: `Bearer ${token}`, ruleQuery: 'allowed_email_domains=example.com' }), evaluate(policy), NOW)).toMatchObject({
      status: 200,
    });
    const dotted = await mintSession(policy.sessionKey!, { sub: 'u', email: 'eve@\u0130xample.com' }, 3600, NOW);
    expect(
      await decide(facts({ authorization: `Bearer ${dotted}` }), evaluate(policyOf({ ...PROTECTED, allowedEmailPatterns: '*@i\u0307xample.com' })), NOW),
    ).toMatchObject({
      status: 403,
    });
  });
});

describe('identity text that HTTP or an upstream would trim', () => {
  it.each([' admin', 'admin ', '\tadmin', '\u00a0admin', 'admin\u3000'])('refuses the subject %j', async (sub) => {
    const token = await mintSession(policy.sessionKey!, { sub, email: 'ann@example.com' }, 3600, NOW);
    expect(await decide(facts({ authorization: `Bearer ${token}` }), evaluate(policy), NOW)).toMatchObject({ status: 401, tokenProblem: 'bad_claims' });
    expect(await decide(facts({ sessionCookies: [token] }), evaluate(policy), NOW)).toMatchObject({ status: 401, reason: 'invalid_cookie' });
  });
  it('keeps subjects with inner spaces and non-ASCII letters', async () => {
    for (const sub of ['Ann Smith', 'jürgen', '名前']) {
      const token = await mintSession(policy.sessionKey!, { sub, email: 'ann@example.com' }, 3600, NOW);
      expect(await decide(facts({ authorization: `Bearer ${token}` }), evaluate(policy), NOW)).toMatchObject({ status: 200, user: sub });
    }
  });
});
