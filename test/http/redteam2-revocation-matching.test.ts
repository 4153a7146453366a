import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import type { Facts } from '../../src/core/facts.js';
import { mintSession } from '../../src/session/mint.js';
import { parseRevocations, type RevocationEntry, revocationEntry, revocationKey } from '../../src/session/revocation-list.js';
import { evaluate } from '../helpers/evaluator.js';
import { PROTECTED, policyOf } from '../helpers/policies.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = NOW / 1000;
const DAY = 86400;
const policy = policyOf(PROTECTED);
const facts = (token: string): Facts => ({
  method: 'GET',
  scheme: 'https',
  host: 'api.example.com',
  path: '/x',
  origin: undefined,
  authorization: `Bearer ${token}`,
  sessionCookies: [],
});
const listOf = (...entries: RevocationEntry[]) => parseRevocations({ revocations: entries.map((e) => `${e.key} ${e.at} ${e.until}`).join('\n') }).list;

/** RED TEAM: revocation entries that an operator believes are in force and that match nothing. */
describe('red team: revocation entries that fail to match', () => {
  it('a subject revoked at T also ends a session minted just before T by a replica whose clock runs 20 s ahead (30 s leeway, as exp/nbf have)', async () => {
    // Real time T-5: replica B (clock +20 s) mints a session with iat = T+15. At T the operator runs revoke --subject ann.
    const session = await mintSession(policy.sessionKey!, { sub: 'ann' }, 3600, NOW + 15_000);
    const list = listOf(revocationEntry('sub', 'ann', S, DAY));
    expect(await decide(facts(session), evaluate(policy, list), NOW + 30_000)).toMatchObject({ status: 401, reason: 'session_revoked' });
  });

  it('revoke --email with white space at an edge (a copy-paste) is refused, not reported as revoked while matching no one', async () => {
    const session = await mintSession(policy.sessionKey!, { sub: 'ann', email: 'ann@example.com' }, 3600, NOW - 1000);
    let entry: RevocationEntry | undefined;
    try {
      entry = revocationEntry('email', 'ann@example.com ', S, DAY);
    } catch {
      return; // refused with a usage error: the operator sees it
    }
    // Accepted: then it must match the person it names.
    expect(await decide(facts(session), evaluate(policy, listOf(entry)), NOW)).toMatchObject({ status: 401, reason: 'session_revoked' });
  });

  it('a ConfigMap line saved with CRLF (kubectl edit on Windows) still revokes', () => {
    const key = revocationKey('sub', 'ann');
    const { list, skipped } = parseRevocations({ revocations: `${key} ${S} ${S + DAY}\r\n` });
    expect({ size: list.entries.size, skipped }).toEqual({ size: 1, skipped: [] });
  });
});
