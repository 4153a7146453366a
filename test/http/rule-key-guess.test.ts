import { expect, it } from 'vitest';
import { looksLikeRuleKey } from '../../src/http/forward-auth.js';

/**
 * /forward-auth takes a query equal to the client's own for the application's only when no key may
 * be meant as a rule: a mistyped rule the client repeats must still be refused, never dropped.
 */
it('takes rule keys in any case or spelling, and near misses, for rule keys; an application key stays its own', () => {
  const decoded = (query: string) => [...new URLSearchParams(query).keys()][0]!;
  for (const key of ['policy', 'Policy', 'POLICY', 'allowed_group', 'allowed-groups', 'alowed_emails', 'polciy', 'allowed_email_domain', 'AllowedGroups']) {
    expect(looksLikeRuleKey(key), key).toBe(true);
  }
  expect(looksLikeRuleKey(decoded('allowed_groups%5B%5D=admins')), 'percent-encoded').toBe(true);
  expect(looksLikeRuleKey(decoded('%70olicy=admin')), 'percent-encoded letter').toBe(true);
  for (const key of ['email', 'group', 'groups', 'tab', 'q', 'page', 'token', 'domain', 'redirect']) expect(looksLikeRuleKey(key), key).toBe(false);
  expect(looksLikeRuleKey('x'.repeat(100_000)), 'a long key costs 64 characters').toBe(false);
});
