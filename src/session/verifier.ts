import type { KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { CLOCK_LEEWAY_SECONDS, PROVIDER_NAME, type Session, SYSTEM_TOKEN_USER, type VerifyResult } from './claims.js';
import { joseFailure } from './jose-failure.js';
import { TokenMemo } from './token-memo.js';

export interface SessionVerifier {
  /**
   * `nowMs` is passed in, so the caller's clock (and the tests') decides what is expired. A token
   * seen before is answered synchronously; only a first verification is asynchronous (WebCrypto).
   */
  verify(token: string, nowMs: number): VerifyResult | Promise<VerifyResult>;
}

/**
 * Compact JWS in base64url; anything else is refused before any crypto runs. The signature may
 * be that of an RSA key of up to 8192 bits (1366 characters): a machine token signed with a
 * 4096-bit key (683) is not a session, but it must reach the machine verifier as one.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,1024}\.[A-Za-z0-9_-]{2,30000}\.[A-Za-z0-9_-]{2,1366}$/;
/**
 * The memo keeps whole tokens (to compare them exactly), so it is bounded by their total size,
 * not by their count: distinct large tokens cannot grow the process past its memory limit.
 */
const MEMO_MAX_CHARS = 8 * 1024 * 1024;
/** No session is issued for longer than this; a later `exp` (or an infinite one) is not a real session. */
export const MAX_LIFETIME_SECONDS = 10 * 366 * 86400;

/**
 * Verifies Airy session JWTs: HS256 only, `exp` and `sub` required, 30 s leeway.
 *
 * Signature checks are memoized per token. The memo belongs to this verifier, which belongs to
 * one compiled policy, so a new jwtSecret (a new policy) starts with an empty memo; and time
 * claims are re-checked against `nowMs` on every call, so a memo entry never outlives `exp`.
 */
export function createSessionVerifier(key: KeyObject): SessionVerifier {
  const memo = new TokenMemo<Session>(MEMO_MAX_CHARS);
  return {
    verify(token, nowMs) {
      const nowSeconds = Math.floor(nowMs / 1000);
      const known = memo.get(token);
      if (known !== undefined) return checkTime(known, nowSeconds);
      // A header seen before with another algorithm (a machine token's, on every request) is
      // refused here without the pattern test over the whole token: it is not a session either way.
      const header = token.slice(0, token.indexOf('.'));
      const seenAlg = headerAlgs.get(header);
      if (seenAlg !== undefined && seenAlg !== 'HS256') return { ok: false, problem: 'alg_not_allowed' };
      if (!COMPACT_JWS.test(token)) return { ok: false, problem: 'malformed' };
      // Not HS256 (a machine token, or an attack): refused without the cost of jose throwing.
      if (headerAlg(header) !== 'HS256') return { ok: false, problem: 'alg_not_allowed' };
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
      return { ok: false, problem: joseFailure(err).problem };
    }
    const session = toSession(payload, nowSeconds);
    if (!session) return { ok: false, problem: 'bad_claims' };
    memo.set(token, session);
    return { ok: true, session };
  }
}

function checkTime(session: Session, nowSeconds: number): VerifyResult {
  if (session.exp + CLOCK_LEEWAY_SECONDS <= nowSeconds) return { ok: false, problem: 'expired' };
  if (session.nbf !== undefined && session.nbf - CLOCK_LEEWAY_SECONDS > nowSeconds) return { ok: false, problem: 'not_yet_valid' };
  return { ok: true, session };
}

/** A time claim is a finite number of seconds, not before 1970 and not absurdly far ahead. */
function sensibleTime(value: unknown, nowSeconds: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= nowSeconds + MAX_LIFETIME_SECONDS;
}

function toSession(payload: Record<string, unknown>, nowSeconds: number): Session | undefined {
  const { sub, email, exp, nbf, iat, groups, rck, jti, sid, auth_time, idp } = payload;
  if (typeof sub !== 'string' || sub === '' || sub === SYSTEM_TOKEN_USER || !sensibleTime(exp, nowSeconds)) return undefined;
  if (email !== undefined && typeof email !== 'string') return undefined;
  if (nbf !== undefined && !sensibleTime(nbf, nowSeconds)) return undefined;
  if (iat !== undefined && !sensibleTime(iat, nowSeconds)) return undefined;
  // Anything but an array of strings is no groups: a rule that asks for a group then refuses.
  const groupList = Array.isArray(groups) && groups.every((g) => typeof g === 'string') ? (groups as string[]) : undefined;
  if (rck !== undefined && !sensibleTime(rck, nowSeconds)) return undefined;
  if (auth_time !== undefined && !sensibleTime(auth_time, nowSeconds)) return undefined;
  return {
    sub,
    email,
    exp,
    nbf,
    iat,
    groups: groupList,
    ...(rck === undefined ? {} : { recheckAt: rck }),
    ...(auth_time === undefined ? {} : { authTime: auth_time }),
    jti: idClaim(jti),
    sid: idClaim(sid),
    ...(typeof idp === 'string' && PROVIDER_NAME.test(idp) ? { provider: idp } : {}),
  };
}

/** An id claim (`jti`, `sid`) that can name a session in a revocation; anything else is none. */
function idClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= 1024 ? value : undefined;
}

/** The `alg` of a JWS header segment; the few distinct headers seen are remembered. */
const headerAlgs = new Map<string, string | undefined>();
function headerAlg(segment: string): string | undefined {
  let alg = headerAlgs.get(segment);
  if (alg === undefined && !headerAlgs.has(segment)) {
    try {
      const parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as { alg?: unknown };
      alg = typeof parsed.alg === 'string' ? parsed.alg : undefined;
    } catch {
      alg = undefined;
    }
    if (headerAlgs.size >= 256) headerAlgs.clear();
    headerAlgs.set(segment, alg);
  }
  return alg;
}
