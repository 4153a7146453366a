import type { Policy } from '../config/policy.js';
import { type SecretDigest, secretEquals } from '../config/secret-digest.js';
import type { Session, TokenProblem, VerifyResult } from '../session/claims.js';
import type { RevocationList } from '../session/revocation-list.js';
import type { SessionVerifier } from '../session/verifier.js';
import type { MaybePromise } from './maybe-async.js';

/**
 * What a verifier makes of a credential: an identity (a session, or `undefined` for the shared
 * system token, which is no person), or a refusal. `otherKind` says the credential is not this
 * verifier's kind at all (an RS256 token is no Airy session), so the next verifier may take it;
 * any other refusal is final. A refusal says which check failed in `detail` (never the credential).
 */
export type CredentialResult =
  | { readonly ok: true; readonly session: Session | undefined }
  | { readonly ok: false; readonly problem: TokenProblem; readonly detail?: string; readonly otherKind?: true };

/** The reason of an allow by a verifier, for the Authorization header (cookies are `session_cookie`). */
export type CredentialReason = 'system_token' | 'session_token' | 'machine_token';

/**
 * One kind of credential: the system token, an Airy session, a machine token from a configured
 * issuer. A new kind of credential is a new verifier. Known credentials are answered synchronously,
 * so a decision stays synchronous once every token in it was seen before.
 */
export interface CredentialVerifier {
  readonly reason: CredentialReason;
  /** It also verifies the session cookies (only Airy sessions are cookies). */
  readonly cookies: boolean;
  /** `credential` as presented, without `Bearer `. */
  verify(credential: string, nowMs: number): MaybePromise<CredentialResult>;
}

/** The revocation list in force now; read when a session is judged. */
export interface RevocationSnapshot {
  readonly current: RevocationList;
}

/**
 * Everything one applied configuration decides with: the policy, and the credential verifiers in
 * the order they are tried. Built once per applied policy, outside the core (the verifiers may
 * hold keys fetched from the network and caches carried over from the previous configuration).
 */
export interface Evaluator {
  readonly policy: Policy;
  /** Tried in order on the Authorization header. */
  readonly bearerVerifiers: readonly CredentialVerifier[];
  /** Tried in order on each session cookie. */
  readonly cookieVerifiers: readonly CredentialVerifier[];
  /** The cluster's revocation list (`serve --revocations`); absent: the feature is off. */
  readonly revocations: RevocationSnapshot | undefined;
}

const SYSTEM_TOKEN: CredentialResult = Object.freeze({ ok: true, session: undefined });
const NOT_SYSTEM_TOKEN: CredentialResult = Object.freeze({ ok: false, problem: 'malformed', otherKind: true });

/** The shared system token, compared in constant time. */
export function systemTokenVerifier(digest: SecretDigest): CredentialVerifier {
  return {
    reason: 'system_token',
    cookies: false,
    verify: (credential) => (credential !== '' && secretEquals(credential, digest) ? SYSTEM_TOKEN : NOT_SYSTEM_TOKEN),
  };
}

const NOT_A_SESSION: CredentialResult = Object.freeze({ ok: false, problem: 'alg_not_allowed', otherKind: true });
/** Not HS256, so not an Airy session: a machine token from a configured issuer, perhaps. */
const asSession = (result: VerifyResult): CredentialResult => (!result.ok && result.problem === 'alg_not_allowed' ? NOT_A_SESSION : result);

/** Airy session JWTs (HS256 with jwtSecret), in the Authorization header and in cookies. */
export function sessionTokenVerifier(sessions: SessionVerifier): CredentialVerifier {
  return {
    reason: 'session_token',
    cookies: true,
    verify(credential, nowMs) {
      const result = sessions.verify(credential, nowMs);
      return result instanceof Promise ? result.then(asSession) : asSession(result);
    },
  };
}

/**
 * The evaluator of a policy: the system token, then Airy sessions (`sessions`, the policy's own
 * unless one is carried over), then `more` (machine tokens), in that order.
 */
export function evaluatorOf(
  policy: Policy,
  parts: {
    readonly sessions?: SessionVerifier | undefined;
    readonly more?: readonly CredentialVerifier[];
    readonly revocations?: RevocationSnapshot | undefined;
  } = {},
): Evaluator {
  const sessions = parts.sessions ?? policy.sessions;
  const verifiers = [
    ...(policy.systemToken === undefined ? [] : [systemTokenVerifier(policy.systemToken)]),
    ...(sessions === undefined ? [] : [sessionTokenVerifier(sessions)]),
    ...(parts.more ?? []),
  ];
  return Object.freeze({
    policy,
    bearerVerifiers: verifiers,
    cookieVerifiers: verifiers.filter((v) => v.cookies),
    revocations: parts.revocations,
  });
}
