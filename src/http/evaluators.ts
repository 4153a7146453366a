import type { KeyObject } from 'node:crypto';
import type { Policy } from '../config/policy.js';
import { type Evaluator, evaluatorOf, type RevocationSnapshot } from '../core/evaluator.js';
import type { MachineTokens, MachineTokenVerifier } from '../oidc/machine-tokens.js';
import type { SessionVerifier } from '../session/verifier.js';

/** The evaluator of each applied policy. */
export interface Evaluators {
  /**
   * The evaluator of `policy`: built once, when the policy is applied (or on its first use), and
   * then the same object for every request decided on that policy.
   */
  forPolicy(policy: Policy): Evaluator;
}

/** What an evaluator was built with, for the next one to take over what did not change. */
interface Built {
  readonly evaluator: Evaluator;
  readonly sessionKey: KeyObject | undefined;
  readonly sessions: SessionVerifier | undefined;
  readonly machine: MachineTokenVerifier | undefined;
}

/**
 * Builds evaluators, each reusing the caches of the one built before it for whatever did not
 * change: the session verifier (and its memo of verified tokens) while jwtSecret is the same, and
 * the machine-token verifier (memo and issuer key sets, see MachineTokens) while its settings or
 * issuers are. A new jwtSecret starts an empty memo: a token signed with the old secret is verified
 * again, and refused.
 */
export function createEvaluators(parts: {
  readonly machineTokens?: MachineTokens | undefined;
  readonly revocations?: RevocationSnapshot | undefined;
}): Evaluators {
  const built = new WeakMap<Policy, Evaluator>();
  let last: Built | undefined;
  return {
    forPolicy(policy) {
      const known = built.get(policy);
      if (known !== undefined) return known;
      const sameKey = last?.sessionKey !== undefined && policy.sessionKey !== undefined && last.sessionKey.equals(policy.sessionKey);
      const sessions = sameKey ? last?.sessions : policy.sessions;
      const machine = parts.machineTokens?.verifierFor(policy, last?.machine);
      const evaluator = evaluatorOf(policy, { sessions, more: machine === undefined ? [] : [machine], revocations: parts.revocations });
      last = { evaluator, sessionKey: policy.sessionKey, sessions, machine };
      built.set(policy, evaluator);
      return evaluator;
    },
  };
}
