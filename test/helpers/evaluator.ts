import type { Policy } from '../../src/config/policy.js';
import { type CredentialVerifier, type Evaluator, evaluatorOf } from '../../src/core/evaluator.js';
import type { RevocationList } from '../../src/session/revocation-list.js';

/** The evaluator of a compiled policy (its system token and session verifiers), with a revocation list and more verifiers when given. */
export function evaluate(policy: Policy | undefined, revocations?: RevocationList, more: readonly CredentialVerifier[] = []): Evaluator | undefined {
  if (policy === undefined) return undefined;
  return evaluatorOf(policy, { more, revocations: revocations === undefined ? undefined : { current: revocations } });
}
