import type { TokenProblem, VerifyResult } from '../session/claims.js';
import type { MaybePromise } from './maybe-async.js';

/** A machine token's verification; a refusal says which check failed (never any part of the token). */
export type MachineVerifyResult = VerifyResult | { readonly ok: false; readonly problem: TokenProblem; readonly detail: string };

/**
 * Verifies JWT access tokens that machines got from a configured issuer (its keys come from the
 * network, so the verifier is made outside the core and passed in). Known tokens are answered
 * synchronously, as sessions are.
 */
export interface MachineTokenVerifier {
  verify(token: string, nowMs: number): MaybePromise<MachineVerifyResult>;
}
