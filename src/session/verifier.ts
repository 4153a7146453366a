import type { KeyObject } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import { CLOCK_LEEWAY_SECONDS, type Session, type TokenProblem, type VerifyResult } from './claims.js';

export interface SessionVerifier {
  /**
   * `nowMs` is passed in, so the caller's clock (and the tests') decides what is expired. A token
   * seen before is answered synchronously; only a first verification is asynchronous (WebCrypto).
   */
  verify(token: string, nowMs: number): VerifyResult | Promise<VerifyResult>;
}

/** Compact JWS in base64url; anything else is refused before any crypto runs. */
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,1024}\.[A-Za-z0-9_-]{2,6000}\.[A-Za-z0-9_-]{2,512}$/;
const CACHE_LIMIT = 10_000;

/**
 * Verifies Airy session JWTs: HS256 only, `exp` and `sub` required, 30 s leeway.
 *
 * Signature checks are memoized per token. The memo belongs to this verifier, which belongs to
 * one compiled policy, so a new jwtSecret (a new policy) starts with an empty memo; and time
 * claims are re-checked against `nowMs` on every call, so a memo entry never outlives `exp`.
 */
export function createSessionVerifier(key: KeyObject): SessionVerifier {
  // Keyed by the signature segment (hashing 43 characters is much cheaper than a whole token);
  // the entry keeps the whole token, which must match exactly for the entry to count.
  const memo = new Map<string, { token: string; session: Session }>();
  return {
    verify(token, nowMs) {
      const nowSeconds = Math.floor(nowMs / 1000);
      const known = memo.get(token.slice(token.lastIndexOf('.') + 1));
      if (known !== undefined && known.token === token) return checkTime(known.session, nowSeconds);
      if (!COMPACT_JWS.test(token)) return { ok: false, problem: 'malformed' };
      return verifyFirstTime(token, nowSeconds);
    },
  };

  async function verifyFirstTime(token: string, nowSeconds: number): Promise<VerifyResult> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_LEEWAY_SECONDS,
        currentDate: new Date(nowSeconds * 1000),
      }));
    } catch (err) {
      return { ok: false, problem: problemOf(err) };
    }
    const session = toSession(payload);
    if (!session) return { ok: false, problem: 'bad_claims' };
    if (memo.size >= CACHE_LIMIT) memo.delete(memo.keys().next().value!);
    memo.set(token.slice(token.lastIndexOf('.') + 1), { token, session });
    return { ok: true, session };
  }
}

function checkTime(session: Session, nowSeconds: number): VerifyResult {
  if (session.exp + CLOCK_LEEWAY_SECONDS <= nowSeconds) return { ok: false, problem: 'expired' };
  if (session.nbf !== undefined && session.nbf - CLOCK_LEEWAY_SECONDS > nowSeconds) return { ok: false, problem: 'not_yet_valid' };
  return { ok: true, session };
}

function toSession(payload: Record<string, unknown>): Session | undefined {
  const { sub, email, exp, nbf } = payload;
  if (typeof sub !== 'string' || sub === '' || typeof exp !== 'number') return undefined;
  if (email !== undefined && typeof email !== 'string') return undefined;
  if (nbf !== undefined && typeof nbf !== 'number') return undefined;
  return { sub, email, exp, nbf };
}

function problemOf(err: unknown): TokenProblem {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'nbf' ? 'not_yet_valid' : 'bad_claims';
  return 'malformed';
}
