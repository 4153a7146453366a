import { comparableEmail } from '../config/emails.js';
import { normalizeOrigin } from '../config/origins.js';
import type { Policy, Revocation } from '../config/policy.js';
import type { RouteRule } from '../config/route-rules.js';
import { secretEquals } from '../config/secret-digest.js';
import type { Session, TokenProblem, VerifyResult } from '../session/claims.js';
import type { RevocationList } from '../session/revocation-list.js';
import { type Decision, SYSTEM_TOKEN_USER } from './decision.js';
import type { Facts } from './facts.js';
import type { MachineTokenVerifier } from './machine-token.js';
import { andThen, type MaybePromise } from './maybe-async.js';
import { normalizePath } from './normalize-path.js';
import { revokedByList } from './revoked.js';

const BEARER = /^bearer[ \t]+/i;

/**
 * The one authorization decision, shared by every gateway adapter. Pure: the policy and the
 * clock are passed in, and it reads nothing else. It answers synchronously unless a token must
 * be verified for the first time (HMAC through WebCrypto is asynchronous).
 *
 * A route may bring its own rule (a named policy, oauth2-proxy's query parameters): it narrows
 * every global rule and never widens one, and a rule that cannot be read refuses the request.
 * `revocations` is the cluster's revocation list (`serve --revocations`), as data.
 */
export function decide(
  facts: Facts,
  policy: Policy | undefined,
  nowMs: number,
  machine?: MachineTokenVerifier,
  revocations?: RevocationList,
): MaybePromise<Decision> {
  if (policy === undefined) return { status: 503, reason: 'no_config' };
  if (!policy.enabled) return { status: 200, reason: 'auth_disabled' };

  let rule: RouteRule | undefined;
  if (facts.ruleQuery !== undefined) {
    const resolved = policy.routeRules.resolve(facts.ruleQuery);
    if ('problem' in resolved) return { status: 403, reason: 'invalid_rule', ruleProblem: `${resolved.problem}; ${resolved.fix}` };
    rule = resolved;
  }
  const label = rule === undefined ? {} : { rule: rule.label };

  if (facts.origin !== undefined && !originAllowed(facts, policy, rule)) return { status: 403, reason: 'origin_not_allowed', ...label };
  // A preflight carries no credentials by design. Its Origin must be listed, not merely the
  // request's own: a browser never preflights a same-origin request, so such a "preflight" is forged.
  if (
    policy.skipPreflight &&
    facts.preflight === true &&
    facts.method === 'OPTIONS' &&
    facts.origin !== undefined &&
    listedOrigin(facts.origin, policy, rule)
  ) {
    return { status: 200, reason: 'preflight', ...label };
  }

  if (policy.publicPaths.patterns.length > 0) {
    const path = normalizePath(facts.path);
    // Public only where both the global rules and the route's (when it names public paths) say so.
    if (path !== undefined && policy.publicPaths.matches(path) && (rule?.publicPaths === undefined || rule.publicPaths.matches(path))) {
      return { status: 200, reason: 'public_path', ...label };
    }
  }

  if (facts.authorization !== undefined) {
    const presented = facts.authorization.replace(BEARER, '').trim();
    if (presented !== '' && policy.systemToken && secretEquals(presented, policy.systemToken)) {
      // The shared token is no person: a route that names people does not admit it unless its policy says so.
      if (rule !== undefined && !rule.systemTokenAllowed) return { status: 403, reason: 'system_token_not_allowed', rule: rule.label };
      return { status: 200, reason: 'system_token', user: SYSTEM_TOKEN_USER, email: undefined, groups: undefined, rule: rule?.label };
    }
    return andThen(verify(policy, presented, nowMs), (result): MaybePromise<Decision> => {
      if (result.ok) return allowSession(result.session, 'session_token', policy, rule, nowMs, revocations);
      // Not HS256, so not an Airy session: a machine token from a configured issuer, perhaps.
      if (machine !== undefined && result.problem === 'alg_not_allowed') {
        return andThen(
          machine.verify(presented, nowMs),
          (m): Decision =>
            m.ok
              ? allowSession(m.session, 'machine_token', policy, rule, nowMs, revocations)
              : { status: 401, reason: 'invalid_token', tokenProblem: m.problem, ...('detail' in m ? { detail: m.detail } : {}), ...label },
        );
      }
      return { status: 401, reason: 'invalid_token', tokenProblem: result.problem, ...label };
    });
  }

  if (facts.sessionCookies.length > 0) return firstValidCookie(facts.sessionCookies, 0, undefined, policy, rule, nowMs, revocations);

  return { status: 401, reason: 'no_credentials', ...label };
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
  rule: RouteRule | undefined,
  nowMs: number,
  revocations: RevocationList | undefined,
): MaybePromise<Decision> {
  if (i >= cookies.length) return { status: 401, reason: 'invalid_cookie', tokenProblem: firstProblem ?? 'malformed', ...(rule ? { rule: rule.label } : {}) };
  return andThen(verify(policy, cookies[i]!, nowMs), (result) =>
    result.ok
      ? allowSession(result.session, 'session_cookie', policy, rule, nowMs, revocations)
      : firstValidCookie(cookies, i + 1, firstProblem ?? result.problem, policy, rule, nowMs, revocations),
  );
}

function originAllowed(facts: Facts, policy: Policy, rule: RouteRule | undefined): boolean {
  const origin = normalizeOrigin(facts.origin ?? '');
  if (origin === undefined) return false;
  if (origin === normalizeOrigin(`${facts.scheme}://${facts.host}`)) return true;
  return policy.origins.matches(origin) && (rule?.origins === undefined || rule.origins.matches(origin));
}

/** An Origin in allowedOrigins (and the route's, when it names some): what skipPreflight lets through. */
function listedOrigin(text: string, policy: Policy, rule: RouteRule | undefined): boolean {
  const origin = normalizeOrigin(text);
  return origin !== undefined && policy.origins.matches(origin) && (rule?.origins === undefined || rule.origins.matches(origin));
}

/**
 * A session's groups as a set, made once per verified token (the verifier's memo keeps the same
 * array), so a rule of one group costs one look-up even for a user in a thousand groups.
 */
const groupSetOf = new WeakMap<readonly string[], ReadonlySet<string>>();

/** In at least one group of `allowed`: the smaller side is walked, the other looked up. */
function inAnyGroup(groups: readonly string[] | undefined, allowed: ReadonlySet<string>): boolean {
  if (groups === undefined) return false;
  if (groups.length <= allowed.size) {
    for (const g of groups) if (allowed.has(g)) return true;
    return false;
  }
  let mine = groupSetOf.get(groups);
  if (mine === undefined) {
    mine = new Set(groups);
    groupSetOf.set(groups, mine);
  }
  for (const g of allowed) if (mine.has(g)) return true;
  return false;
}

/** The route's email rules: exact addresses or domains (either admits), and its patterns. */
function emailAllowedByRule(email: string | undefined, rule: RouteRule): boolean {
  if (rule.emails !== undefined || rule.emailDomains !== undefined) {
    // `eve@evil.com@example.com` ends in an allowed domain, and `\u212A` folds into `k`: neither matches.
    if (email === undefined || !comparableEmail(email)) return false;
    const lower = email.toLowerCase();
    const domain = lower.slice(lower.indexOf('@') + 1);
    if (!(rule.emails?.has(lower) || rule.emailDomains?.has(domain))) return false;
  }
  return rule.emailPatterns === undefined || (email !== undefined && rule.emailPatterns.matches(email));
}

/** Emails and groups are re-checked on every request, so removing one locks its users out at once. */
function allowSession(
  session: Session,
  reason: 'session_token' | 'session_cookie' | 'machine_token',
  policy: Policy,
  rule: RouteRule | undefined,
  nowMs: number,
  revocations: RevocationList | undefined,
): Decision {
  const label = rule === undefined ? {} : { rule: rule.label };
  // A subject or email that HTTP would trim on its way upstream (" admin " arrives as "admin") or
  // that names no one is not an identity this service can pass on or revoke.
  if (!presentableIdentity(session)) {
    return { status: 401, reason: reason === 'session_cookie' ? 'invalid_cookie' : 'invalid_token', tokenProblem: 'bad_claims', ...label };
  }
  if (
    (policy.revocation !== undefined && revoked(session, policy.revocation)) ||
    (revocations !== undefined && revokedByList(session, revocations, nowMs / 1000))
  )
    return { status: 401, reason: 'session_revoked', jti: session.jti, ...label };
  // Due for a re-check with the provider: a 401 sends a browser through /login, which renews it.
  if (policy.sessionRecheckSeconds !== undefined && session.recheckAt !== undefined && session.recheckAt <= nowMs / 1000)
    return { status: 401, reason: 'recheck_due', ...label };
  if (session.email !== undefined && policy.emails && !policy.emails.matches(session.email)) {
    return { status: 403, reason: 'email_not_allowed', user: session.sub, email: session.email, ...label };
  }
  if (rule !== undefined && !emailAllowedByRule(session.email, rule)) {
    return session.email === undefined
      ? { status: 403, reason: 'email_not_allowed', user: session.sub, ...label }
      : { status: 403, reason: 'email_not_allowed', user: session.sub, email: session.email, ...label };
  }
  const groupSets = policy.groups ? [policy.groups, ...(rule?.groupSets ?? [])] : (rule?.groupSets ?? []);
  for (const allowed of groupSets) {
    if (!inAnyGroup(session.groups, allowed)) {
      return {
        status: 403,
        reason: 'group_not_allowed',
        user: session.sub,
        missingGroups: [...allowed],
        ...(session.email === undefined ? {} : { email: session.email }),
        ...label,
      };
    }
  }
  // Every field named, none spread: one object shape for every allow, cheaper to build and to read.
  return { status: 200, reason, user: session.sub, email: session.email, groups: session.groups, rule: rule?.label, jti: session.jti };
}

const SPACE = /^\s$/;

/**
 * White space or a control character at either end. Two character codes decide almost always
 * (this runs on every allow); only a non-ASCII end character is tested as Unicode white space.
 */
function edgeSpace(text: string): boolean {
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first <= 0x20 || last <= 0x20) return true;
  return (first >= 0x7f && SPACE.test(text[0]!)) || (last >= 0x7f && SPACE.test(text[text.length - 1]!));
}

/** A non-empty subject, and a subject and email without white space at either end. */
function presentableIdentity(session: Session): boolean {
  return session.sub !== '' && !edgeSpace(session.sub) && (session.email === undefined || session.email === '' || !edgeSpace(session.email));
}

/**
 * Revoked by time (logged in before notBefore, or with no time), by subject or by email. The login
 * time (`auth_time`, kept through renewals) is compared, so a session renewed after the login
 * does not outlive a cut-off set after its renewal; sessions without it are judged by `iat`.
 */
function revoked(session: Session, r: Revocation): boolean {
  const loggedIn = session.authTime ?? session.iat;
  if (r.notBefore !== undefined && (loggedIn === undefined || loggedIn < r.notBefore)) return true;
  return r.subjects.has(session.sub) || (session.email !== undefined && r.emails.has(session.email.toLowerCase()));
}
