import { errors } from 'jose';
import type { TokenProblem } from './claims.js';

/** Which check refused a token, in words for a log's `detail`: never any part of the token. */
export type FailedCheck =
  | 'malformed'
  | 'algorithm'
  | 'issuer'
  | 'audience'
  | 'expiry'
  | 'not-before'
  | 'issued-at'
  | 'claims'
  | 'unknown key'
  | 'signature'
  | 'keys unavailable';

export interface JoseFailure {
  readonly problem: TokenProblem;
  readonly check: FailedCheck;
  /** The claim a claim check named (`iat`, `sub`...), when it did. */
  readonly claim?: string;
}

/**
 * What a jose verification error means, for every verifier of tokens (sessions, machine tokens,
 * logout tokens): one reading of jose's error classes, each caller keeping its own words.
 * Anything that is not a JOSE error (a network failure while fetching keys) is `keys unavailable`.
 */
export function joseFailure(err: unknown): JoseFailure {
  if (err instanceof errors.JWTExpired) return { problem: 'expired', check: 'expiry' };
  if (err instanceof errors.JOSEAlgNotAllowed) return { problem: 'alg_not_allowed', check: 'algorithm' };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { problem: 'bad_signature', check: 'signature' };
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return { problem: 'bad_signature', check: 'unknown key' };
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return { problem: 'not_yet_valid', check: 'not-before' };
    if (err.claim === 'iss') return { problem: 'bad_claims', check: 'issuer' };
    if (err.claim === 'aud') return { problem: 'bad_claims', check: 'audience' };
    // maxTokenAge: an `iat` too long ago.
    if (err.claim === 'iat' && err.reason === 'check_failed') return { problem: 'bad_claims', check: 'issued-at', claim: 'iat' };
    return { problem: 'bad_claims', check: 'claims', claim: err.claim };
  }
  if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) return { problem: 'malformed', check: 'keys unavailable' };
  return { problem: 'malformed', check: 'malformed' };
}
