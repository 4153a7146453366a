import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { normalizeOrigin } from '../config/origins.js';
import type { LoginProvider, Policy } from '../config/policy.js';
import { loginRevokedByList } from '../core/revoked.js';
import type { Identity } from '../oidc/identity.js';
import { describeCause, LoginError, statusOf } from '../oidc/login-error.js';
import { callbackPath, endSessionUrl, finishLogin, type ProviderLogin, refreshLogin, revokeRefreshToken, startLogin } from '../oidc/login-flow.js';
import {
  LOGIN_STATE_TTL_SECONDS,
  logoutTicketMatches,
  openRefreshToken,
  REFRESH_COOKIE,
  REFRESH_COOKIE_PATH,
  type SealedRefresh,
  STATE_COOKIE_NAMES,
  sealLogoutTicket,
  sealRefreshToken,
  stateCookieName,
} from '../oidc/login-state.js';
import { providerClientOf } from '../oidc/provider-clients.js';
import { SESSION_COOKIE } from '../session/claims.js';
import { cookieValues, serializeCookie } from '../session/cookies.js';
import { mintSession } from '../session/mint.js';
import { revocationEntry } from '../session/revocation-list.js';
import type { Handler, ServerDeps } from './deps.js';
import { externalOrigin } from './external-origin.js';
import { landingAfter } from './landing.js';
import { confirmLogoutPage, loginErrorPage, loginNotConfiguredPage, plain, providerChooserPage, unknownProviderPage } from './pages.js';
import { queryOf } from './request-target.js';

function query(req: IncomingMessage): URLSearchParams {
  return new URLSearchParams(queryOf(req.url));
}

function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
  const headers: Record<string, string | string[]> = { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0' };
  if (cookies.length > 0) headers['Set-Cookie'] = cookies;
  res.writeHead(302, headers);
  res.end();
}

/** Common preconditions of every login route: a config, login configured, a usable origin. */
function loginContext(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): { policy: Policy; origin: string } | undefined {
  const policy = deps.policies.current;
  if (!policy) {
    plain(res, 503, 'no valid config loaded\n');
    return undefined;
  }
  if (policy.providers.size === 0 || !policy.sessionKey) {
    loginNotConfiguredPage(res);
    return undefined;
  }
  const origin = externalOrigin(req, policy);
  if (!origin) {
    plain(res, 400, 'malformed Host or X-Forwarded-Proto\n');
    return undefined;
  }
  return { policy, origin };
}

/** The redirect target after login: `rd` when it is safe, else loginSuccessUrl, else somewhere useful (landing.ts). */
function landing(rd: string | null, origin: string, policy: Policy): string {
  return landingAfter('login', rd, origin, policy);
}

function showLoginError(res: ServerResponse, err: LoginError, extraCookies: string[] = []): void {
  const headers: Record<string, string[]> = extraCookies.length > 0 ? { 'Set-Cookie': extraCookies } : {};
  loginErrorPage(res, statusOf(err.problem), err, headers);
}

/** A provider's login with its client, for the login flow. */
function loginWith(policy: Policy, provider: LoginProvider, deps: ServerDeps): ProviderLogin {
  return { policy, provider, pc: providerClientOf(policy, provider.name, { metrics: deps.metrics })! };
}

/**
 * GET /login?rd=URL → /oauth2/authorization/{provider}?rd=URL (Airy Core's path). With several
 * providers, a page to choose one, unless `provider=NAME` names it.
 */
const login: Handler = async (req, res, deps) => {
  const ctx = loginContext(req, res, deps);
  if (!ctx) return;
  const q = query(req);
  const ticket = q.get('logout');
  if (ticket !== null && (await logoutTicketMatches(ctx.policy.sessionKey!, ticket, cookieValues(req.headers.cookie, SESSION_COOKIE), deps.now()))) {
    return finishLogout(req, res, ctx.policy, ctx.origin, deps);
  }
  const rd = landing(q.get('rd'), ctx.origin, ctx.policy);
  const asked = q.get('provider');
  const providers = [...ctx.policy.providers.values()];
  const chosen = asked === null ? (providers.length === 1 ? providers[0] : undefined) : ctx.policy.providers.get(asked);
  if (asked !== null && chosen === undefined) return unknownProviderPage(res, [...ctx.policy.providers.keys()]);
  const renewal = await renewed(req, res, deps, ctx, rd, asked);
  if (renewal === 'answered') return;
  if (chosen === undefined) return providerChooserPage(res, providers, rd, renewal);
  redirect(res, `${ctx.origin}${authorizePath(chosen.name)}?rd=${encodeURIComponent(rd)}`, renewal);
};

/** Where a login with one provider starts (Airy Core's path). */
function authorizePath(provider: string): string {
  return `/oauth2/authorization/${provider}`;
}

/**
 * sessionRecheck: a browser whose session is due comes back through /login with its sealed
 * refresh token, and is renewed without any interaction. 'answered' when it was; otherwise the
 * cookies to send with the redirect to a fresh login: when the provider refuses the refresh token
 * (a disabled user, a revoked grant), the login it comes from is older than `sessionsNotBefore`,
 * or the cluster's revocation list names it (its subject, email, provider session or session id,
 * or an `all` cut-off after the login), the session and the refresh cookie are cleared and the
 * person logs in again: a renewal must never mint a session that no entry matches.
 */
async function renewed(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ServerDeps,
  ctx: { policy: Policy; origin: string },
  rd: string,
  asked: string | null,
): Promise<'answered' | string[]> {
  const { policy, origin } = ctx;
  const sealed = cookieValues(req.headers.cookie, REFRESH_COOKIE)[0];
  if (sealed === undefined) return [];
  const opened = await openRefreshToken(policy.sessionKey!, sealed, deps.now());
  if (opened === undefined) return [];
  // The provider that issued the refresh token renews it: never another one (a cookie of a
  // provider no longer configured, or without re-checks now, leads to a fresh login).
  const provider = issuerOf(policy, opened.provider);
  if (provider?.sessionRecheckSeconds === undefined) return [];
  // The person asked for another provider (`/login?provider=NAME`): a login with it, not a renewal.
  if (asked !== null && asked !== provider.name) return [];
  const secure = origin.startsWith('https:');
  const ended = () => [...clearSessionCookies(policy, secure), ...clearRefreshCookies(secure)];
  const notBefore = policy.revocation?.notBefore;
  if (notBefore !== undefined && (opened.loginTime === undefined || opened.loginTime < notBefore)) {
    // A renewal must not outlive a cut-off the session itself could not.
    deps.metrics.logins.inc({ provider: provider.name, result: 'session_ended' });
    deps.logger.log('info', 'session renewal refused', {
      provider: provider.name,
      reason: 'session_ended',
      detail: 'the login is older than sessionsNotBefore',
    });
    return ended();
  }
  const refusedByList = (identity?: Identity) => {
    const list = deps.revocations?.current;
    if (list === undefined) return false;
    const login = { loginTime: opened.loginTime, jti: opened.jti, sid: identity?.sid ?? opened.sid, sub: identity?.sub, email: identity?.email };
    if (!loginRevokedByList(login, list, deps.now() / 1000)) return false;
    deps.metrics.logins.inc({ provider: provider.name, result: 'session_ended' });
    deps.logger.log('info', 'session renewal refused', { provider: provider.name, reason: 'session_ended', detail: 'the revocation list names the login' });
    return true;
  };
  // What the cookie names (the session it went with, the provider session, the login time) is
  // checked before the provider is asked; the subject and email once it answered.
  if (refusedByList()) return ended();
  try {
    const renewal = await refreshLogin(loginWith(policy, provider, deps), opened.refreshToken);
    if (refusedByList(renewal.identity)) return ended();
    const identity = { ...renewal.identity, sid: renewal.identity.sid ?? opened.sid };
    const token = await sessionThatFits(policy, provider, identity, opened.loginTime, deps);
    const cookies = [
      serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds: policy.sessionTtlSeconds, secure, domain: policy.cookieDomain }),
      ...(await refreshCookies(
        policy,
        provider,
        { refreshToken: renewal.refreshToken ?? opened.refreshToken, loginTime: opened.loginTime, jti: jtiOf(token), sid: identity.sid },
        secure,
        deps,
      )),
    ];
    deps.metrics.logins.inc({ provider: provider.name, result: 'renewed' });
    deps.logger.log('info', 'session renewed with the provider', { provider: provider.name, user: renewal.identity.sub, email: renewal.identity.email });
    redirect(res, rd, cookies);
    return 'answered';
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the session could not be renewed', undefined, { cause: err });
    deps.metrics.logins.inc({ provider: provider.name, result: e.problem });
    deps.logger.log('info', 'session renewal refused', { provider: provider.name, reason: e.problem, detail: e.detail });
    // The provider failed: the refresh token may still be good, so it stays; either way the person logs in again.
    return statusOf(e.problem) === 502 ? [] : ended();
  }
}

/**
 * The provider a refresh cookie (or a session) names; a cookie from before providers were named
 * belongs to the one provider when there is only one.
 */
function issuerOf(policy: Policy, name: string | undefined): LoginProvider | undefined {
  if (name !== undefined) return policy.providers.get(name);
  return policy.providers.size === 1 ? policy.providers.values().next().value : undefined;
}

/** Clears the session cookie everywhere airy-auth may have set it: host-only, and for cookieDomain. */
function clearSessionCookies(policy: Policy, secure: boolean): string[] {
  const end = { maxAgeSeconds: 0, secure };
  const cookies = [serializeCookie(SESSION_COOKIE, '', end)];
  if (policy.cookieDomain !== undefined) cookies.push(serializeCookie(SESSION_COOKIE, '', { ...end, domain: policy.cookieDomain }));
  return cookies;
}

function clearRefreshCookies(secure: boolean): string[] {
  return [serializeCookie(REFRESH_COOKIE, '', { maxAgeSeconds: 0, secure, path: REFRESH_COOKIE_PATH })];
}

/** The sealed refresh token as a cookie for the login paths, when sessions are re-checked and it fits. */
async function refreshCookies(
  policy: Policy,
  provider: LoginProvider,
  refresh: Omit<SealedRefresh, 'refreshToken' | 'provider'> & { readonly refreshToken: string | undefined },
  secure: boolean,
  deps: ServerDeps,
): Promise<string[]> {
  if (provider.sessionRecheckSeconds === undefined || refresh.refreshToken === undefined) return [];
  const sealed = await sealRefreshToken(
    policy.sessionKey!,
    { ...refresh, refreshToken: refresh.refreshToken, provider: provider.name },
    policy.sessionTtlSeconds,
    deps.now(),
  );
  if (REFRESH_COOKIE.length + 1 + sealed.length > COOKIE_LIMIT) {
    deps.logger.log('warn', 'the refresh token is too large for a cookie; sessions will be re-checked by a new login instead', {});
    return [];
  }
  return [serializeCookie(REFRESH_COOKIE, sealed, { maxAgeSeconds: policy.sessionTtlSeconds, secure, path: REFRESH_COOKIE_PATH })];
}

/** GET /oauth2/authorization/{provider} → the provider, with the sealed state in a cookie. */
const authorize: Handler = async (req, res, deps) => {
  const ctx = loginContext(req, res, deps);
  if (!ctx) return;
  const provider = configuredProvider(req, res, '/oauth2/authorization/', ctx.policy);
  if (provider === undefined) return;
  const rd = landing(query(req).get('rd'), ctx.origin, ctx.policy);
  try {
    const started = await startLogin(loginWith(ctx.policy, provider, deps), ctx.origin, rd, deps.now());
    deps.metrics.logins.inc({ provider: provider.name, result: 'started' });
    deps.logger.log('info', 'login started', { provider: provider.name });
    if (started.rd !== rd)
      deps.logger.log('info', 'login target too long for the state cookie; landing on a shorter form', { provider: provider.name, rdLength: rd.length });
    const cookie = serializeCookie(stateCookieName(started.state), started.sealedState, {
      maxAgeSeconds: LOGIN_STATE_TTL_SECONDS,
      secure: ctx.origin.startsWith('https:'),
      path: callbackPath(provider.name),
    });
    redirect(res, started.location, [cookie]);
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the login could not be started', undefined, { cause: err });
    deps.metrics.logins.inc({ provider: provider.name, result: e.problem });
    deps.logger.log('warn', 'login start failed', { provider: provider.name, problem: e.problem, detail: e.detail, cause: describeCause(e.cause) });
    showLoginError(res, e);
  }
};

/** GET /login/oauth2/code/{provider}: the redirect URI registered with the provider. */
const callback: Handler = async (req, res, deps) => {
  const ctx = loginContext(req, res, deps);
  if (!ctx) return;
  const provider = configuredProvider(req, res, '/login/oauth2/code/', ctx.policy);
  if (provider === undefined) return;
  const q = query(req);
  const secure = ctx.origin.startsWith('https:');
  const stateName = stateCookieName(q.get('state') ?? '');
  const sealed = q.get('state') ? cookieValues(req.headers.cookie, stateName)[0] : undefined;
  const dropState = serializeCookie(stateName, '', { maxAgeSeconds: 0, secure, path: callbackPath(provider.name) });
  try {
    const { identity, rd, refreshToken } = await finishLogin(loginWith(ctx.policy, provider, deps), q, sealed, deps.now());
    const loginTime = Math.floor(deps.now() / 1000);
    const token = await sessionThatFits(ctx.policy, provider, identity, loginTime, deps);
    const session = serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds: ctx.policy.sessionTtlSeconds, secure, domain: ctx.policy.cookieDomain });
    const fresh = await refreshCookies(ctx.policy, provider, { refreshToken, loginTime, jti: jtiOf(token), sid: identity.sid }, secure, deps);
    // A refresh cookie of an earlier login (another provider's, perhaps) must not renew this one into it.
    const stale = fresh.length === 0 && cookieValues(req.headers.cookie, REFRESH_COOKIE).length > 0;
    const refresh = stale ? clearRefreshCookies(secure) : fresh;
    deps.metrics.logins.inc({ provider: provider.name, result: 'success' });
    deps.logger.log('info', 'login succeeded', { provider: provider.name, user: identity.sub, email: identity.email });
    // rd was checked when the login started and is sealed since; check again against today's policy.
    redirect(res, landing(rd, ctx.origin, ctx.policy), [session, ...refresh, dropState]);
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the login could not be finished', undefined, { cause: err });
    if (e.cause !== undefined) deps.logger.log('error', 'login callback failed unexpectedly', { error: describeCause(e.cause) });
    deps.metrics.logins.inc({ provider: provider.name, result: e.problem });
    // A refusal of the person (not allowed, cancelled, an old state) is an ordinary event; the provider failing is not.
    deps.logger.log(statusOf(e.problem) === 502 ? 'warn' : 'info', 'login refused', {
      provider: provider.name,
      reason: e.problem,
      detail: e.detail,
      email: e.email,
    });
    showLoginError(res, e, [dropState]);
  }
};

const SAME_SITE_FETCH = new Set(['same-origin', 'same-site', 'none']);

/**
 * Whether a logout request comes from this site: a GET only when the browser says it is a
 * same-site navigation (or one the person typed), a POST when the browser says same-origin or
 * none. A POST the browser calls same-site, or one without Fetch Metadata (plain http sites get
 * none), counts only when its Origin is this service, or a host that shares its session: under
 * cookieDomain or in redirectDomains (the app hosts of a login host). "Same site" covers every
 * sibling host of the registrable domain, which may be another party; anything else could be
 * another site logging the person out.
 */
function sameSiteLogout(req: IncomingMessage, origin: string, policy: Policy): boolean {
  const site = req.headers['sec-fetch-site'];
  if (req.method === 'GET' || req.method === 'HEAD') return typeof site === 'string' && SAME_SITE_FETCH.has(site);
  if (typeof site === 'string' && site !== 'same-site') return SAME_SITE_FETCH.has(site);
  const from = req.headers.origin;
  if (from === undefined || from === origin) return true;
  const normalized = normalizeOrigin(from);
  if (normalized === undefined) return false;
  const host = new URL(normalized).hostname;
  const domain = policy.cookieDomain?.replace(/^\./, '').toLowerCase();
  return (domain !== undefined && (host === domain || host.endsWith(`.${domain}`))) || policy.redirectDomains.matches(new URL(normalized));
}

/**
 * POST /logout, or GET from this site (as Airy Core had it). With sessionRecheck, the refresh
 * token lives in a cookie sent only to /login of the login host (one cookie, so the callback's
 * answer stays small), so the logout is finished there: the browser goes to /login with a ticket
 * bound to its session cookie. Otherwise, and for a browser without a session cookie, it is
 * finished here.
 */
const logout: Handler = async (req, res, deps) => {
  const policy = deps.policies.current;
  if (!policy) return plain(res, 503, 'no valid config loaded\n');
  const origin = externalOrigin(req, policy) ?? 'http://invalid';
  if (!sameSiteLogout(req, origin, policy)) {
    deps.logger.log('info', 'logout from another site: asked to confirm', {
      method: req.method,
      origin: String(req.headers.origin ?? '').slice(0, 200),
      fetchSite: String(req.headers['sec-fetch-site'] ?? '').slice(0, 40),
    });
    return confirmLogoutPage(res);
  }
  const session = cookieValues(req.headers.cookie, SESSION_COOKIE)[0];
  const rechecks = [...policy.providers.values()].some((p) => p.sessionRecheckSeconds !== undefined);
  if (rechecks && policy.sessionKey !== undefined && session !== undefined) {
    const ticket = await sealLogoutTicket(policy.sessionKey, session, deps.now());
    // A host-only session cookie of an app host (from a config without cookieDomain) is not sent
    // to the login host: it goes here. The shared one stays until /login has checked the ticket.
    const hostOnly = serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: origin.startsWith('https:') });
    const rd = query(req).get('rd');
    const location = `${origin}/login?logout=${ticket}${rd ? `&rd=${encodeURIComponent(rd)}` : ''}`;
    res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0', 'Set-Cookie': [hostOnly] });
    res.end();
    return;
  }
  await finishLogout(req, res, policy, origin, deps);
};

/**
 * Clears every cookie airy-auth set (the session, host-only and for cookieDomain; the refresh
 * token; the login state slots), revokes the refresh token at the provider when this request
 * carries it, and goes to the provider's logout or to logoutSuccessUrl.
 */
async function finishLogout(req: IncomingMessage, res: ServerResponse, policy: Policy, origin: string, deps: ServerDeps): Promise<void> {
  const secure = origin.startsWith('https:');
  const cleared = [...clearSessionCookies(policy, secure), ...clearRefreshCookies(secure)];
  for (const provider of policy.providers.keys()) {
    const path = callbackPath(provider);
    for (const name of STATE_COOKIE_NAMES) cleared.push(serializeCookie(name, '', { maxAgeSeconds: 0, secure, path }));
  }
  const refreshed = await revokeAtProvider(req, policy, deps);
  const issuer = issuerOf(policy, refreshed ?? (await sessionProvider(req, policy, deps)));
  await revokeInCluster(req, policy, deps);
  deps.logger.log('info', 'logged out', issuer === undefined ? {} : { provider: issuer.name });
  const landing = landingAfter('logout', query(req).get('rd'), origin, policy);
  redirect(res, (issuer && (await providerLogout(policy, issuer, new URL(landing, origin).href, deps))) ?? landing, cleared);
}

/** The provider that signed in the person of this request's session cookie (its `idp` claim), when it verifies. */
async function sessionProvider(req: IncomingMessage, policy: Policy, deps: ServerDeps): Promise<string | undefined> {
  if (policy.sessions === undefined) return undefined;
  for (const cookie of cookieValues(req.headers.cookie, SESSION_COOKIE).slice(0, 4)) {
    const verified = await policy.sessions.verify(cookie, deps.now());
    if (verified.ok && verified.session.provider !== undefined) return verified.session.provider;
  }
  return undefined;
}

/**
 * With the revocation list on (`serve --revocations`), the session itself is revoked by its `jti`
 * on every replica, so a copy of the cookie taken before the logout stops working too. Only a
 * session cookie that verifies names a `jti` (a forged one cannot make airy-auth revoke another's
 * session). The entry applies on this replica at once; a failed write is logged and the logout
 * goes on (the cookies are cleared either way), as for a back-channel logout.
 */
async function revokeInCluster(req: IncomingMessage, policy: Policy, deps: ServerDeps): Promise<void> {
  if (deps.revocations === undefined || policy.sessions === undefined) return;
  const nowMs = deps.now();
  const jtis = new Set<string>();
  for (const cookie of cookieValues(req.headers.cookie, SESSION_COOKIE).slice(0, 4)) {
    const verified = await policy.sessions.verify(cookie, nowMs);
    if (verified.ok && verified.session.jti !== undefined) jtis.add(verified.session.jti);
  }
  if (jtis.size === 0) return;
  const entries = [...jtis].map((jti) => revocationEntry('jti', jti, nowMs / 1000, policy.sessionTtlSeconds));
  try {
    await deps.revocations.record(entries);
    deps.logger.log('info', 'session revoked on every replica at logout', { sessions: entries.length });
  } catch (err) {
    deps.logger.log('warn', 'the session is revoked on this replica only: the revocation list could not be written', { error: describeCause(err) });
  }
}

/**
 * The refresh token this browser holds (its cookie at /login) is revoked at the provider's
 * revocation_endpoint, so nobody renews the session with it after the logout. A failure is
 * logged and the local logout goes on: the cookies are cleared either way.
 */
async function revokeAtProvider(req: IncomingMessage, policy: Policy, deps: ServerDeps): Promise<string | undefined> {
  const sealed = cookieValues(req.headers.cookie, REFRESH_COOKIE)[0];
  if (sealed === undefined || policy.sessionKey === undefined) return undefined;
  const opened = await openRefreshToken(policy.sessionKey, sealed, deps.now());
  const provider = opened === undefined ? undefined : issuerOf(policy, opened.provider);
  if (opened === undefined || provider === undefined) return undefined;
  try {
    const revoked = await revokeRefreshToken(loginWith(policy, provider, deps).pc, opened.refreshToken);
    deps.logger.log('info', revoked ? 'refresh token revoked at the provider' : 'the provider has no revocation_endpoint; the refresh cookie was cleared', {
      provider: provider.name,
    });
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'revocation failed', undefined, { cause: err });
    deps.logger.log('warn', 'the refresh token could not be revoked at the provider; the refresh cookie was cleared', {
      provider: provider.name,
      problem: e.problem,
      detail: e.detail,
    });
  }
  return provider.name;
}

/**
 * RP-initiated logout: when the provider has an end_session_endpoint, the browser goes there too
 * (client_id and post_logout_redirect_uri) and comes back to logoutSuccessUrl, so the person is
 * logged out of the IdP and not logged straight back in. Any failure falls back to the local logout.
 */
async function providerLogout(policy: Policy, provider: LoginProvider, landing: string, deps: ServerDeps): Promise<string | undefined> {
  if (provider.settings.protocol !== 'oidc') return undefined;
  try {
    return await endSessionUrl(loginWith(policy, provider, deps).pc, landing);
  } catch (err) {
    deps.logger.log('warn', 'provider logout skipped: the provider could not be reached; logged out locally', {
      provider: provider.name,
      error: describeCause(err),
    });
    return undefined;
  }
}

/** The provider named in the path, when it is configured; otherwise a 404 page lists the ones that are. */
function configuredProvider(req: IncomingMessage, res: ServerResponse, prefix: string, policy: Policy): LoginProvider | undefined {
  const name = (req.url ?? '').split('?', 1)[0]!.slice(prefix.length);
  const provider = policy.providers.get(name);
  if (provider === undefined) unknownProviderPage(res, [...policy.providers.keys()]);
  return provider;
}

/** The handlers of the login routes; the ingress sends these paths to airy-auth directly, without auth. */
export const loginHandlers = { login, logout, authorize, callback };

/** The `jti` of a session token airy-auth just minted (so the refresh cookie can name the session it goes with). */
function jtiOf(token: string): string | undefined {
  const jti = decodeJwt(token).jti;
  return typeof jti === 'string' ? jti : undefined;
}

/** Browsers drop a cookie whose name and value exceed 4096 bytes; the session must never be one. */
const COOKIE_LIMIT = 4096;

/**
 * The session token, within the cookie limit: when the user's groups would not fit, only the
 * groups some rule of the configuration names are kept (and that is logged); a query rule naming
 * another group then refuses this user until the groups are fewer.
 */
async function sessionThatFits(policy: Policy, provider: LoginProvider, identity: Identity, loginTime: number | undefined, deps: ServerDeps): Promise<string> {
  const mint = (groups: readonly string[] | undefined) =>
    mintSession(
      policy.sessionKey!,
      { ...identity, groups, recheckAfterSeconds: provider.sessionRecheckSeconds, authTime: loginTime, provider: provider.name },
      policy.sessionTtlSeconds,
      deps.now(),
    );
  const fits = (token: string) => SESSION_COOKIE.length + 1 + token.length <= COOKIE_LIMIT;
  const full = await mint(identity.groups);
  if (fits(full) || identity.groups === undefined) return full;
  const named = new Set([...(policy.groups ?? []), ...policy.routeRules.namedGroups]);
  const kept = identity.groups.filter((g) => named.has(g));
  const trimmed = await mint(kept);
  deps.logger.log('warn', 'the user has too many groups for the session cookie; keeping only those the configuration names', {
    user: identity.sub,
    groups: identity.groups.length,
    kept: kept.length,
  });
  return fits(trimmed) ? trimmed : mint(undefined);
}
