import type { SignedIdentity } from '../config/signed-identity.js';
import type { Allow } from '../core/decision.js';
import type { Facts } from '../core/facts.js';

/**
 * `X-Auth-Request-Jwt` for one allow: the signed identity when the allow has one (a public path,
 * a preflight or auth off has none) and signedIdentity applies to its route (globally, or through
 * its named policy); otherwise empty, so that Envoy and Caddy, which only replace a header the
 * answer carries, still overwrite a client's copy.
 */
export function identityAssertion(decision: Allow, facts: Facts, signing: SignedIdentity, nowMs: number): string {
  if (decision.user === undefined || !(signing.everywhere || namedPolicyAsks(decision, facts, signing))) return '';
  // The provider that vouched for the identity, on allows whose decision names one.
  const provider = 'provider' in decision && typeof decision.provider === 'string' ? decision.provider : undefined;
  return signing.signer.assertion({ sub: decision.user, email: decision.email, groups: decision.groups, provider }, audienceOf(facts), nowMs);
}

/**
 * The decision's rule label is the policy's name, or `query` for auth URL parameters alone: only a
 * policy that is itself named `query` needs the query read to tell the two apart.
 */
function namedPolicyAsks(decision: Allow, facts: Facts, signing: SignedIdentity): boolean {
  const rule = decision.rule;
  if (rule === undefined || !signing.policies.has(rule)) return false;
  return rule !== 'query' || new URLSearchParams(facts.ruleQuery ?? '').get('policy') === 'query';
}

/** The application's origin as the decision saw it: scheme://host[:port], without the scheme's default port. */
export function audienceOf(facts: Facts): string {
  const { scheme, host } = facts;
  const defaultPort = scheme === 'https' ? ':443' : ':80';
  return `${scheme}://${host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host}`;
}
