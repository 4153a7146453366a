import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import type { Facts } from '../../src/core/facts.js';
import { mintSession } from '../../src/session/mint.js';
import { EMPTY_REVOCATIONS, parseRevocations, type RevocationEntry, revocationEntry } from '../../src/session/revocation-list.js';
import { evaluate } from '../helpers/evaluator.js';
import { PROTECTED, policyOf } from '../helpers/policies.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = NOW / 1000;
const DAY = 86400;
const policy = policyOf(PROTECTED);
const facts = (token: string, cookie = false): Facts => ({
  method: 'GET',
  scheme: 'https',
  host: 'api.example.com',
  path: '/x',
  origin: undefined,
  authorization: cookie ? undefined : `Bearer ${token}`,
  sessionCookies: cookie ? [token] : [],
});
const listOf = (...entries: RevocationEntry[]) => parseRevocations({ revocations: entries.map((e) => `${e.key} ${e.at} ${e.until}`).join('\n') }).list;
const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;

describe('decide with the cluster revocation list', () => {
  it('refuses one session by its jti, and only that one, in the header and the cookie', async () => {
    const a = await mintSession(policy.sessionKey!, { sub: 'ann' }, 3600, NOW - 1000);
    const b = await mintSession(policy.sessionKey!, { sub: 'ann' }, 3600, NOW - 1000);
    const list = listOf(revocationEntry('jti', jtiOf(a), S, DAY));
    expect(await decide(facts(a), evaluate(policy, list), NOW)).toEqual({
      status: 401,
      reason: 'session_revoked',
      jti: jtiOf(a),
      ruleKey: 'the revocation list (serve --revocations)',
    });
    expect(await decide(facts(a, true), evaluate(policy, list), NOW)).toMatchObject({ status: 401, reason: 'session_revoked' });
    expect(await decide(facts(b), evaluate(policy, list), NOW)).toMatchObject({ status: 200, user: 'ann', jti: jtiOf(b) });
    expect(await decide(facts(a), evaluate(policy, EMPTY_REVOCATIONS), NOW)).toMatchObject({ status: 200 });
  });

  it('refuses the sessions minted from a provider session (sid)', async () => {
    const a = await mintSession(policy.sessionKey!, { sub: 'ann', sid: 'idp-session-1' }, 3600, NOW - 1000);
    const b = await mintSession(policy.sessionKey!, { sub: 'ann', sid: 'idp-session-2' }, 3600, NOW - 1000);
    const list = listOf(revocationEntry('sid', 'idp-session-1', S, DAY));
    expect(await decide(facts(a), evaluate(policy, list), NOW)).toMatchObject({ status: 401, reason: 'session_revoked' });
    expect(await decide(facts(b), evaluate(policy, list), NOW)).toMatchObject({ status: 200 });
  });

  it('refuses a subject’s and an email’s sessions issued until the revocation (and the 30 s clock leeway), not those issued after', async () => {
    const before = await mintSession(policy.sessionKey!, { sub: 'ann', email: 'Ann@Example.com' }, 3600, NOW - 1000);
    const after = await mintSession(policy.sessionKey!, { sub: 'ann', email: 'ann@example.com' }, 3600, NOW + 31_000);
    for (const entry of [revocationEntry('sub', 'ann', S, DAY), revocationEntry('email', 'ann@EXAMPLE.com', S, DAY)]) {
      const list = listOf(entry);
      expect(await decide(facts(before), evaluate(policy, list), NOW + 32_000), entry.kind).toMatchObject({ status: 401, reason: 'session_revoked' });
      expect(await decide(facts(after), evaluate(policy, list), NOW + 32_000), entry.kind).toMatchObject({ status: 200 });
    }
  });

  it('refuses every session issued before the all cut-off, and those without an issue time', async () => {
    const old = await mintSession(policy.sessionKey!, { sub: 'ann' }, 3600, NOW - 1000);
    const fresh = await mintSession(policy.sessionKey!, { sub: 'bob' }, 3600, NOW + 10_000);
    const noIat = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime(S + 3600)
      .sign(policy.sessionKey!);
    const list = listOf(revocationEntry('all', '', S, DAY));
    expect(await decide(facts(old), evaluate(policy, list), NOW + 20_000)).toMatchObject({ status: 401, reason: 'session_revoked' });
    expect(await decide(facts(noIat), evaluate(policy, list), NOW + 20_000)).toMatchObject({ status: 401, reason: 'session_revoked' });
    expect(await decide(facts(fresh), evaluate(policy, list), NOW + 20_000)).toMatchObject({ status: 200 });
  });

  it('ignores an entry past its time', async () => {
    const a = await mintSession(policy.sessionKey!, { sub: 'ann' }, 10 * DAY, NOW - 1000);
    const list = listOf(revocationEntry('jti', jtiOf(a), S, DAY));
    expect(await decide(facts(a), evaluate(policy, list), NOW + DAY * 1000 - 1000)).toMatchObject({ status: 401 });
    expect(await decide(facts(a), evaluate(policy, list), NOW + DAY * 1000 + 1000)).toMatchObject({ status: 200 });
  });
});
