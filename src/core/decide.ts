import { normalizeOrigin } from '../config/origins.js';
import type { Policy } from '../config/policy.js';
import { secretEquals } from '../config/secret-digest.js';
import type { Session, TokenProblem, VerifyResult } from '../session/claims.js';
import { type Decision, SYSTEM_TOKEN_USER } from './decision.js';
import type { Facts } from './facts.js';
import { andThen, type MaybePromise } from './maybe-async.js';
import { normalizePath } from './normalize-path.js';

const BEARER = /^bearer[ \t]+/i;

/**
 * The one authorization decision, shared by every gateway adapter. Pure: the policy and the
 * clock are passed in, and it reads nothing else. It answers synchronously unless a token must
 * be verified for the first time (HMAC through WebCrypto is asynchronous).
 */
export function decide(facts: Facts, policy: Policy | undefined, nowMs: number): MaybePromise<Decision> {
  if (policy === undefined) return { status: 503, reason: 'no_config' };
  if (!policy.enabled) return { status: 200, reason: 'auth_disabled' };

  if (facts.origin !== undefined && !originAllowed(facts, policy)) return { status: 403, reason: 'origin_not_allowed' };
  // A preflight carries no credentials by design; its Origin was just checked.
  if (policy.skipPreflight && facts.preflight === true && facts.method === 'OPTIONS' && facts.origin !== undefined) return { status: 200, reason: 'preflight' };

  if (policy.publicPaths.patterns.length > 0) {
    const path = normalizePath(facts.path);
    if (path !== undefined && policy.publicPaths.matches(path)) return { status: 200, reason: 'public_path' };
  }

  if (facts.authorization !== undefined) {
    const presented = facts.authorization.replace(BEARER, '').trim();
    if (presented !== '' && policy.systemToken && secretEquals(presented, policy.systemToken)) {
      return { status: 200, reason: 'system_token', user: SYSTEM_TOKEN_USER };
    }
    return andThen(
      verify(policy, presented, nowMs),
      (result): Decision =>
        result.ok ? allowSession(result.session, 'session_token', policy) : { status: 401, reason: 'invalid_token', tokenProblem: result.problem },
    );
  }

  if (facts.sessionCookies.length > 0) return firstValidCookie(facts.sessionCookies, 0, undefined, policy, nowMs);

  return { status: 401, reason: 'no_credentials' };
}

function verify(policy: Policy, token: string, nowMs: number): MaybePromise<VerifyResult> {
  return policy.sessions ? policy.sessions.verify(token, nowMs) : { ok: false, problem: 'malformed' };
}

/** Browsers send every cookie of the name whose path matches; the first one that verifies wins. */
function firstValidCookie(
  cookies: readonly string[],
  i: number,
  firstProblem: TokenProblem | undefined,
  policy: Policy,
  nowMs: number,
): MaybePromise<Decision> {
  if (i >= cookies.length) return { status: 401, reason: 'invalid_cookie', tokenProblem: firstProblem ?? 'malformed' };
  return andThen(verify(policy, cookies[i]!, nowMs), (result) =>
    result.ok ? allowSession(result.session, 'session_cookie', policy) : firstValidCookie(cookies, i + 1, firstProblem ?? result.problem, policy, nowMs),
  );
}

function originAllowed(facts: Facts, policy: Policy): boolean {
  const origin = normalizeOrigin(facts.origin ?? '');
  if (origin === undefined) return false;
  if (origin === normalizeOrigin(`${facts.scheme}://${facts.host}`)) return true;
  return policy.origins.matches(origin);
}

/** Emails are re-checked on every request, so removing a pattern locks its users out at once. */
function allowSession(session: Session, reason: 'session_token' | 'session_cookie', policy: Policy): Decision {
  if (session.email !== undefined && policy.emails && !policy.emails.matches(session.email)) {
    return { status: 403, reason: 'email_not_allowed', email: session.email };
  }
  return session.email === undefined ? { status: 200, reason, user: session.sub } : { status: 200, reason, user: session.sub, email: session.email };
}
