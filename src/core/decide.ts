import { comparableEmail, type EmailMatcher } from '../config/emails.js';
import { normalizeOrigin } from '../config/origins.js';
import type { LoginProvider, Policy, Revocation } from '../config/policy.js';
import type { RouteRule } from '../config/route-rules.js';
import { POLICY_KEY_PREFIX } from '../config/route-rules.js';
import type { Session, TokenProblem } from '../session/claims.js';
import { type Decision, SYSTEM_TOKEN_USER } from './decision.js';
import type { CredentialReason, CredentialResult, Evaluator } from './evaluator.js';
import type { Facts } from './facts.js';
import type { MaybePromise } from './maybe-async.js';
import { normalizePath } from './normalize-path.js';
import { revokedByList } from './revoked.js';
import type { Trace } from './trace.js';

const BEARER = /^bearer[ \t]+/i;

/**
 * The one authorization decision, shared by every gateway adapter. Pure: the evaluator (the
 * policy and its credential verifiers) and the clock are passed in, and it reads nothing else. It
 * answers synchronously unless a token must be verified for the first time (HMAC through
 * WebCrypto is asynchronous, an issuer's keys may have to be fetched).
 *
 * A route may bring its own rule (a named policy, oauth2-proxy's query parameters): it narrows
 * every global rule and never widens one, and a rule that cannot be read refuses the request.
 *
 * `trace` (for `airy-auth explain`) is told each check in order; the server passes none, and an
 * optional call builds no step then. A refusal names the key of the rule that refused (`ruleKey`).
 */
export function decide(facts: Facts, evaluator: Evaluator | undefined, nowMs: number, trace?: Trace): MaybePromise<Decision> {
  if (evaluator === undefined) {
    trace?.({ step: 'config', ok: false, detail: 'no valid configuration is loaded: every request is refused' });
    return { status: 503, reason: 'no_config' };
  }
  const policy = evaluator.policy;
  if (!policy.enabled) {
    trace?.({ step: 'config', ok: true, detail: `authentication is OFF (${policy.disabledBecause}): every request is allowed` });
    return { status: 200, reason: 'auth_disabled' };
  }
  trace?.({ step: 'config', ok: true, detail: 'authentication is on' });

  let rule: RouteRule | undefined;
  if (facts.ruleQuery !== undefined) {
    const resolved = policy.routeRules.resolve(facts.ruleQuery);
    if ('problem' in resolved) {
      trace?.({ step: 'route_rule', ok: false, key: AUTH_URL_QUERY, detail: `${resolved.problem}; ${resolved.fix}` });
      return { status: 403, reason: 'invalid_rule', ruleProblem: `${resolved.problem}; ${resolved.fix}`, ruleKey: AUTH_URL_QUERY };
    }
    rule = resolved;
  }
  trace?.(
    rule === undefined
      ? { step: 'route_rule', ok: true, detail: 'the auth URL names no rule: the global rules apply' }
      : rule.label === 'query'
        ? { step: 'route_rule', ok: true, key: AUTH_URL_QUERY, detail: 'the rules on the auth URL narrow the global rules' }
        : { step: 'route_rule', ok: true, key: `${POLICY_KEY_PREFIX}${rule.label}`, detail: `policy "${rule.label}" narrows the global rules` },
  );
  const label = rule === undefined ? {} : { rule: rule.label };

  if (facts.origin === undefined) trace?.({ step: 'origin', ok: true, detail: 'no Origin header: not a cross-origin call' });
  else {
    const refusedBy = originRefusal(facts, policy, rule);
    trace?.(
      refusedBy === undefined
        ? { step: 'origin', ok: true, detail: "the Origin is the request's own or an allowed one" }
        : { step: 'origin', ok: false, key: refusedBy, detail: 'the Origin is not allowed' },
    );
    if (refusedBy !== undefined) return { status: 403, reason: 'origin_not_allowed', ruleKey: refusedBy, ...label };
  }
  // A preflight carries no credentials by design. Its Origin must be listed, not merely the
  // request's own: a browser never preflights a same-origin request, so such a "preflight" is forged.
  if (
    policy.skipPreflight &&
    facts.preflight === true &&
    facts.method === 'OPTIONS' &&
    facts.origin !== undefined &&
    listedOrigin(facts.origin, policy, rule)
  ) {
    trace?.({ step: 'preflight', ok: true, key: 'security.skipPreflight', detail: 'a CORS preflight from a listed Origin needs no credentials' });
    return { status: 200, reason: 'preflight', ...label };
  }

  if (policy.publicPaths.patterns.length > 0) {
    const path = normalizePath(facts.path);
    // Public only where both the global rules and the route's (when it names public paths) say so.
    if (path !== undefined && policy.publicPaths.matches(path) && (rule?.publicPaths === undefined || rule.publicPaths.matches(path))) {
      trace?.({ step: 'public_path', ok: true, key: publicPathsKey(rule), detail: 'a public path: no credentials needed' });
      return { status: 200, reason: 'public_path', ...label };
    }
    trace?.({ step: 'public_path', ok: true, key: publicPathsKey(rule), detail: 'not a public path: credentials needed' });
  }

  // The Authorization header, when sent, is the credential: a bad one is not made good by a cookie.
  if (facts.authorization !== undefined) return fromAuthorization(facts.authorization.replace(BEARER, '').trim(), 0, evaluator, rule, nowMs, trace);
  if (facts.sessionCookies.length > 0) return fromCookies(facts.sessionCookies, 0, 0, undefined, evaluator, rule, nowMs, trace);
  trace?.({ step: 'credential', ok: false, detail: 'no Authorization header and no airy_auth_token cookie' });
  return { status: 401, reason: 'no_credentials', ...label };
}

/** How the query rules of an auth URL are named in refusals. */
const AUTH_URL_QUERY = 'auth URL query';

function publicPathsKey(rule: RouteRule | undefined): string {
  return rule?.publicPaths === undefined ? 'security.publicPaths' : `security.publicPaths, ${POLICY_KEY_PREFIX}${rule.label}.publicPaths`;
}

/** The verifiers in turn, until one takes the credential: it allows it, or refuses it for good. */
function fromAuthorization(
  presented: string,
  i: number,
  evaluator: Evaluator,
  rule: RouteRule | undefined,
  nowMs: number,
  trace: Trace | undefined,
): MaybePromise<Decision> {
  const verifier = evaluator.bearerVerifiers[i];
  if (verifier === undefined) {
    trace?.({ step: 'credential', ok: false, detail: 'the Authorization header holds no credential this config knows' });
    return { status: 401, reason: 'invalid_token', tokenProblem: 'malformed', ...(rule ? { rule: rule.label } : {}) };
  }
  const result = verifier.verify(presented, nowMs);
  return result instanceof Promise
    ? result.then((r) => authorizationResult(r, presented, i, evaluator, rule, nowMs, trace))
    : authorizationResult(result, presented, i, evaluator, rule, nowMs, trace);
}

const CREDENTIAL_WORDS: Readonly<Record<string, string>> = {
  system_token: 'the systemToken',
  session_token: 'an Airy session JWT',
  session_cookie: 'an Airy session JWT',
  machine_token: 'a machine token of a configured issuer',
};

function authorizationResult(
  result: CredentialResult,
  presented: string,
  i: number,
  evaluator: Evaluator,
  rule: RouteRule | undefined,
  nowMs: number,
  trace: Trace | undefined,
): MaybePromise<Decision> {
  if (result.ok) {
    const reason = evaluator.bearerVerifiers[i]!.reason;
    trace?.({ step: 'credential', ok: true, detail: `the Authorization header holds ${CREDENTIAL_WORDS[reason]}, verified` });
    if (result.session !== undefined) return allowSession(result.session, reason, evaluator, rule, nowMs, trace);
    // The shared token is no person: a route that names people does not admit it unless its policy says so.
    if (rule !== undefined && !rule.systemTokenAllowed) {
      const key = rule.label === 'query' ? AUTH_URL_QUERY : `${POLICY_KEY_PREFIX}${rule.label}.allowSystemToken`;
      trace?.({ step: 'identity', ok: false, key, detail: 'the route names people, and the systemToken is no person' });
      return { status: 403, reason: 'system_token_not_allowed', rule: rule.label, ruleKey: key };
    }
    return {
      status: 200,
      reason: 'system_token',
      user: SYSTEM_TOKEN_USER,
      email: undefined,
      groups: undefined,
      rule: rule?.label,
      jti: undefined,
      provider: undefined,
    };
  }
  if (result.otherKind === true && i + 1 < evaluator.bearerVerifiers.length) return fromAuthorization(presented, i + 1, evaluator, rule, nowMs, trace);
  trace?.({ step: 'credential', ok: false, detail: `the Authorization header is refused: ${result.detail ?? result.problem}` });
  const label = rule === undefined ? {} : { rule: rule.label };
  return result.detail === undefined
    ? { status: 401, reason: 'invalid_token', tokenProblem: result.problem, ...label }
    : { status: 401, reason: 'invalid_token', tokenProblem: result.problem, detail: result.detail, ...label };
}

/**
 * Browsers send every cookie of the name whose path matches; the first one that verifies wins.
 * Each cookie goes through the cookie verifiers (`j`) as a header's token does; a refusal names
 * the first cookie's problem.
 */
function fromCookies(
  cookies: readonly string[],
  i: number,
  j: number,
  firstProblem: TokenProblem | undefined,
  evaluator: Evaluator,
  rule: RouteRule | undefined,
  nowMs: number,
  trace: Trace | undefined,
): MaybePromise<Decision> {
  const verifier = evaluator.cookieVerifiers[j];
  if (i >= cookies.length || verifier === undefined) {
    trace?.({ step: 'credential', ok: false, detail: `no airy_auth_token cookie of ${cookies.length} verifies (the first: ${firstProblem ?? 'malformed'})` });
    return { status: 401, reason: 'invalid_cookie', tokenProblem: firstProblem ?? 'malformed', ...(rule ? { rule: rule.label } : {}) };
  }
  const result = verifier.verify(cookies[i]!, nowMs);
  return result instanceof Promise
    ? result.then((r) => cookieResult(r, cookies, i, j, firstProblem, evaluator, rule, nowMs, trace))
    : cookieResult(result, cookies, i, j, firstProblem, evaluator, rule, nowMs, trace);
}

function cookieResult(
  result: CredentialResult,
  cookies: readonly string[],
  i: number,
  j: number,
  firstProblem: TokenProblem | undefined,
  evaluator: Evaluator,
  rule: RouteRule | undefined,
  nowMs: number,
  trace: Trace | undefined,
): MaybePromise<Decision> {
  // A cookie is never the system token: only an identity from a cookie verifier counts.
  if (result.ok) {
    if (result.session !== undefined) {
      trace?.({ step: 'credential', ok: true, detail: `airy_auth_token cookie ${i + 1} of ${cookies.length} holds an Airy session JWT, verified` });
      return allowSession(result.session, 'session_cookie', evaluator, rule, nowMs, trace);
    }
    return fromCookies(cookies, i + 1, 0, firstProblem ?? 'malformed', evaluator, rule, nowMs, trace);
  }
  if (result.otherKind === true && j + 1 < evaluator.cookieVerifiers.length) return fromCookies(cookies, i, j + 1, firstProblem, evaluator, rule, nowMs, trace);
  return fromCookies(cookies, i + 1, 0, firstProblem ?? result.problem, evaluator, rule, nowMs, trace);
}

/** The key of the origin rule that refuses the request's Origin, or undefined when it is allowed. */
function originRefusal(facts: Facts, policy: Policy, rule: RouteRule | undefined): string | undefined {
  const origin = normalizeOrigin(facts.origin ?? '');
  if (origin === undefined) return 'security.allowedOrigins';
  if (origin === normalizeOrigin(`${facts.scheme}://${facts.host}`)) return undefined;
  if (!policy.origins.matches(origin)) return 'security.allowedOrigins';
  return rule?.origins === undefined || rule.origins.matches(origin) ? undefined : `${POLICY_KEY_PREFIX}${rule.label}.allowedOrigins`;
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

/** The route's email rules: exact addresses or domains (either admits), and its patterns. The key of the one that refuses, or undefined. */
function emailRuleRefusal(email: string | undefined, rule: RouteRule): string | undefined {
  if (rule.emails !== undefined || rule.emailDomains !== undefined) {
    const key = 'auth URL allowed_emails, allowed_email_domains';
    // `eve@evil.com@example.com` ends in an allowed domain, and `\u212A` folds into `k`: neither matches.
    if (email === undefined || !comparableEmail(email)) return key;
    const lower = email.toLowerCase();
    const domain = lower.slice(lower.indexOf('@') + 1);
    if (!(rule.emails?.has(lower) || rule.emailDomains?.has(domain))) return key;
  }
  return rule.emailPatterns === undefined || (email !== undefined && rule.emailPatterns.matches(email))
    ? undefined
    : `${POLICY_KEY_PREFIX}${rule.label}.allowedEmailPatterns`;
}

/** The configured providers (in config order) that the global `allowedProviders` and the route's `providers` both admit. */
function acceptedProviders(policy: Policy, rule: RouteRule | undefined): string[] {
  const out: string[] = [];
  for (const name of policy.providers.keys()) {
    if ((policy.allowedProviders === undefined || policy.allowedProviders.has(name)) && (rule?.providers === undefined || rule.providers.has(name)))
      out.push(name);
  }
  return out;
}

/**
 * For an Airy session that names no provider (Airy Core's, `airy-auth token`'s, an older one) when
 * there are no global email patterns: the patterns of any provider. Without them such a session
 * would pass with no email check at all, while every login is held to its provider's patterns.
 */
function anyProviderEmails(policy: Policy): EmailMatcher | undefined {
  const matchers = [...policy.providers.values()].map((p) => p.emails);
  if (matchers.length === 0) return undefined;
  return {
    patterns: matchers.flatMap((m) => m?.patterns ?? []),
    matches: (email) => matchers.some((m) => m?.matches(email) === true),
  };
}

/** In each of the provider sets that is set (a session without a provider is in none): the key of the set it is not in, or undefined. */
function providerRefusal(provider: string | undefined, policy: Policy, rule: RouteRule | undefined): string | undefined {
  if (policy.allowedProviders !== undefined && (provider === undefined || !policy.allowedProviders.has(provider))) return 'security.allowedProviders';
  if (rule?.providers !== undefined && (provider === undefined || !rule.providers.has(provider))) return `${POLICY_KEY_PREFIX}${rule.label}.providers`;
  return undefined;
}

/**
 * Emails, groups and providers are re-checked on every request, so removing one locks its users
 * out at once. The order: the identity must be presentable, not revoked, from a provider still
 * configured and not due for a re-check; then the provider rules (a person from the wrong provider
 * is offered the right ones rather than told their email or groups do not fit), then emails and
 * groups (the provider's own email patterns, else the global ones).
 */
function allowSession(
  session: Session,
  reason: CredentialReason | 'session_cookie',
  evaluator: Evaluator,
  rule: RouteRule | undefined,
  nowMs: number,
  trace: Trace | undefined,
): Decision {
  const policy = evaluator.policy;
  const label = rule === undefined ? {} : { rule: rule.label };
  // A subject or email that HTTP would trim on its way upstream (" admin " arrives as "admin") or
  // that names no one is not an identity this service can pass on or revoke.
  if (!presentableIdentity(session)) {
    trace?.({ step: 'identity', ok: false, detail: 'the subject is empty, or the subject or email has white space at an end' });
    return { status: 401, reason: reason === 'session_cookie' ? 'invalid_cookie' : 'invalid_token', tokenProblem: 'bad_claims', ...label };
  }
  trace?.({ step: 'identity', ok: true, detail: identityWords(session) });
  const list = evaluator.revocations?.current;
  const revokedBy =
    policy.revocation !== undefined && revoked(session, policy.revocation)
      ? revocationKey(session, policy.revocation)
      : list !== undefined && revokedByList(session, list, nowMs / 1000)
        ? 'the revocation list (serve --revocations)'
        : undefined;
  if (revokedBy !== undefined) {
    trace?.({ step: 'revocation', ok: false, key: revokedBy, detail: 'this session is revoked' });
    return { status: 401, reason: 'session_revoked', jti: session.jti, ruleKey: revokedBy, ...label };
  }
  trace?.({ step: 'revocation', ok: true, detail: list === undefined ? 'not revoked by the config' : 'not revoked by the config or the revocation list' });
  let provider: LoginProvider | undefined;
  if (session.provider !== undefined) {
    provider = policy.providers.get(session.provider);
    // Signed in through a provider that is no longer configured: a 401 sends a browser through the login again.
    if (provider === undefined) {
      trace?.({ step: 'provider', ok: false, key: 'security.providers', detail: `signed in through "${session.provider}", which is no longer configured` });
      return { status: 401, reason: 'provider_removed', jti: session.jti, ...label };
    }
  }
  // Due for a re-check with the provider: a 401 sends a browser through /login, which renews it.
  const recheckSeconds = provider?.sessionRecheckSeconds ?? policy.sessionRecheckSeconds;
  if (recheckSeconds !== undefined && session.recheckAt !== undefined && session.recheckAt <= nowMs / 1000) {
    trace?.({
      step: 'recheck',
      ok: false,
      key: 'sessionRecheck',
      detail: 'due for a re-check with the provider: a browser goes through /login, which renews it',
    });
    return { status: 401, reason: 'recheck_due', ...label };
  }
  const providerRefusedBy = providerRefusal(session.provider, policy, rule);
  if (providerRefusedBy !== undefined) {
    trace?.({
      step: 'provider',
      ok: false,
      key: providerRefusedBy,
      detail: `${session.provider === undefined ? 'the session names no provider' : `signed in through "${session.provider}"`}; accepted: ${
        acceptedProviders(policy, rule).join(', ') || 'none'
      }`,
    });
    return {
      ruleKey: providerRefusedBy,
      status: 403,
      reason: 'provider_not_allowed',
      user: session.sub,
      ...(session.email === undefined ? {} : { email: session.email }),
      ...(session.provider === undefined ? {} : { provider: session.provider }),
      acceptedProviders: acceptedProviders(policy, rule),
      ...label,
    };
  }
  if (trace && (policy.allowedProviders !== undefined || rule?.providers !== undefined))
    trace({ step: 'provider', ok: true, detail: `signed in through "${session.provider}", which this route accepts` });
  const emails = provider?.emails ?? policy.emails ?? (reason === 'machine_token' ? undefined : anyProviderEmails(policy));
  if (session.email !== undefined && emails && !emails.matches(session.email)) {
    const key =
      emails === policy.emails ? 'security.allowedEmailPatterns' : `security.providers.${provider === undefined ? '*' : session.provider}.allowedEmailPatterns`;
    trace?.({ step: 'emails', ok: false, key, detail: `${session.email} matches none of ${emails.patterns.join(', ')}` });
    return { status: 403, reason: 'email_not_allowed', user: session.sub, email: session.email, ruleKey: key, ...label };
  }
  const emailRefusedBy = rule === undefined ? undefined : emailRuleRefusal(session.email, rule);
  if (emailRefusedBy !== undefined) {
    trace?.({ step: 'emails', ok: false, key: emailRefusedBy, detail: `${session.email ?? 'a session without an email'} is not admitted by the route` });
    return session.email === undefined
      ? { status: 403, reason: 'email_not_allowed', user: session.sub, ruleKey: emailRefusedBy, ...label }
      : { status: 403, reason: 'email_not_allowed', user: session.sub, email: session.email, ruleKey: emailRefusedBy, ...label };
  }
  trace?.({ step: 'emails', ok: true, detail: session.email === undefined ? 'no email to check' : `${session.email} is allowed` });
  const groupSets = policy.groups ? [policy.groups, ...(rule?.groupSets ?? [])] : (rule?.groupSets ?? []);
  for (let g = 0; g < groupSets.length; g++) {
    const allowed = groupSets[g]!;
    if (!inAnyGroup(session.groups, allowed)) {
      const key = policy.groups ? (g === 0 ? 'security.allowedGroups' : rule!.groupSetKeys[g - 1]!) : rule!.groupSetKeys[g]!;
      trace?.({
        step: 'groups',
        ok: false,
        key,
        detail: `in none of ${[...allowed].join(', ')} (the session's groups: ${session.groups?.join(', ') || 'none'})`,
      });
      return {
        ruleKey: key,
        status: 403,
        reason: 'group_not_allowed',
        user: session.sub,
        missingGroups: [...allowed],
        ...(session.email === undefined ? {} : { email: session.email }),
        ...label,
      };
    }
  }
  if (trace && groupSets.length > 0) trace({ step: 'groups', ok: true, detail: `in a group of each group rule (${groupSets.length})` });
  // Every field named, none spread: one object shape for every allow, cheaper to build and to read.
  return {
    status: 200,
    reason,
    user: session.sub,
    email: session.email,
    groups: session.groups,
    rule: rule?.label,
    jti: session.jti,
    provider: session.provider,
  };
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

function identityWords(session: Session): string {
  const parts = [`user ${session.sub}`];
  if (session.email !== undefined) parts.push(`email ${session.email}`);
  parts.push(session.groups === undefined ? 'no groups claim' : `groups ${session.groups.join(', ') || '(none)'}`);
  if (session.provider !== undefined) parts.push(`signed in through ${session.provider}`);
  return parts.join(', ');
}

/** Which revocation key refuses the session (revoked() said one does). */
function revocationKey(session: Session, r: Revocation): string {
  const loggedIn = session.authTime ?? session.iat;
  if (r.notBefore !== undefined && (loggedIn === undefined || loggedIn < r.notBefore)) return 'security.sessionsNotBefore';
  return r.subjects.has(session.sub) ? 'security.revokedSubjects' : 'security.revokedEmails';
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
