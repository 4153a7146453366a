import type { Policy } from '../config/policy.js';
import { normalizeOrigin } from '../config/origins.js';
import { SYSTEM_TOKEN_USER, type Decision } from './decision.js';
import type { Facts } from './facts.js';
import { normalizePath } from './normalize-path.js';
import { secretEquals } from './secret-digest.js';
import type { Session } from '../session/claims.js';

const BEARER = /^bearer[ \t]+/i;

/**
 * The one authorization decision, shared by every gateway adapter. Pure: the policy and the
 * clock are passed in, and it reads nothing else. Async only because HMAC verification is.
 */
export async function decide(facts: Facts, policy: Policy | undefined, nowMs: number): Promise<Decision> {
  if (policy === undefined) return { status: 503, reason: 'no_config' };
  if (!policy.enabled) return { status: 200, reason: 'auth_disabled' };

  if (facts.origin !== undefined && !originAllowed(facts, policy)) return { status: 403, reason: 'origin_not_allowed' };

  const path = normalizePath(facts.path);
  if (path !== undefined && policy.publicPaths.matches(path)) return { status: 200, reason: 'public_path' };

  if (facts.authorization !== undefined) {
    const presented = facts.authorization.replace(BEARER, '').trim();
    if (presented !== '' && policy.systemToken && secretEquals(presented, policy.systemToken)) {
      return { status: 200, reason: 'system_token', user: SYSTEM_TOKEN_USER };
    }
    const result = policy.sessions ? await policy.sessions.verify(presented, nowMs) : undefined;
    if (!result?.ok) return { status: 401, reason: 'invalid_token', tokenProblem: result?.problem ?? 'malformed' };
    return allowSession(result.session, 'session_token', policy);
  }

  if (facts.sessionCookies.length > 0) {
    let firstProblem: Extract<Decision, { status: 401 }>['tokenProblem'];
    for (const cookie of facts.sessionCookies) {
      const result = policy.sessions ? await policy.sessions.verify(cookie, nowMs) : undefined;
      if (result?.ok) return allowSession(result.session, 'session_cookie', policy);
      firstProblem ??= result?.problem ?? 'malformed';
    }
    return { status: 401, reason: 'invalid_cookie', tokenProblem: firstProblem };
  }

  return { status: 401, reason: 'no_credentials' };
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
  return session.email === undefined
    ? { status: 200, reason, user: session.sub }
    : { status: 200, reason, user: session.sub, email: session.email };
}
