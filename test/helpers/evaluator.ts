import type { Policy } from '../../src/config/policy.js';
import { type CredentialVerifier, type Evaluator, evaluatorOf } from '../../src/core/evaluator.js';
import type { Facts } from '../../src/core/facts.js';
import type { RevocationList } from '../../src/session/revocation-list.js';

/** The evaluator of a compiled policy (its system token and session verifiers), with a revocation list and more verifiers when given. */
export function evaluate(policy: Policy | undefined, revocations?: RevocationList, more: readonly CredentialVerifier[] = []): Evaluator | undefined {
  if (policy === undefined) return undefined;
  return evaluatorOf(policy, { more, revocations: revocations === undefined ? undefined : { current: revocations } });
}

/** A GET of https://app.example.com/x with no credentials, overridden by `over`: the decision tests' request. */
export function appFacts(over: Partial<Facts> = {}): Facts {
  return { method: 'GET', scheme: 'https', host: 'app.example.com', path: '/x', origin: undefined, authorization: undefined, sessionCookies: [], ...over };
}
