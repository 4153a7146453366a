import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Identity } from '../oidc/identity.js';
import { describeCause, LoginError, statusOf } from '../oidc/login-error.js';
import { callbackPath, endSessionUrl, finishLogin, refreshLogin, startLogin } from '../oidc/login-flow.js';
import { LOGIN_STATE_TTL_SECONDS, openRefreshToken, REFRESH_COOKIE, REFRESH_COOKIE_PATH, sealRefreshToken, stateCookieName } from '../oidc/login-state.js';
import { providerClient } from '../oidc/provider-client.js';
import { SESSION_COOKIE } from '../session/claims.js';
import { cookieValues, serializeCookie } from '../session/cookies.js';
import { mintSession } from '../session/mint.js';
import type { Handler, ServerDeps } from './deps.js';
import { externalOrigin } from './external-origin.js';
import { landingAfter } from './landing.js';
import { confirmLogoutPage, loginErrorPage, loginNotConfiguredPage, plain, unknownProviderPage } from './pages.js';

function query(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
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
  if (!policy.oidc || !policy.sessionKey) {
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

/** GET /login?rd=URL → /oauth2/authorization/{provider}?rd=URL (Airy Core's path). */
const login: Handler = async (req, res, deps) => {
  const ctx = loginContext(req, res, deps);
  if (!ctx) return;
  const rd = landing(query(req).get('rd'), ctx.origin, ctx.policy);
  if (await renewed(req, res, deps, ctx, rd)) return;
  redirect(res, `${ctx.origin}/oauth2/authorization/${ctx.policy.oidc!.provider}?rd=${encodeURIComponent(rd)}`);
};

/**
 * sessionRecheck: a browser whose session is due comes back through /login with its sealed
 * refresh token, and is renewed without any interaction; when the provider refuses (a disabled
 * user), the session ends here and the page says so. True when the answer has been written.
 */
async function renewed(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, ctx: { policy: Policy; origin: string }, rd: string): Promise<boolean> {
  const { policy, origin } = ctx;
  const sealed = cookieValues(req.headers.cookie, REFRESH_COOKIE)[0];
  if (policy.sessionRecheckSeconds === undefined || sealed === undefined) return false;
  const refreshToken = await openRefreshToken(policy.sessionKey!, sealed, deps.now());
  if (refreshToken === undefined) return false;
  const oidc = policy.oidc!;
  const secure = origin.startsWith('https:');
  try {
    const renewal = await refreshLogin(policy, providerClient(oidc, { metrics: deps.metrics }), refreshToken);
    const token = await sessionThatFits(policy, renewal.identity, deps);
    const cookies = [
      serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds: policy.sessionTtlSeconds, secure, domain: policy.cookieDomain }),
      ...(await refreshCookie(policy, renewal.refreshToken, secure, deps)),
    ];
    deps.metrics.logins.inc({ provider: oidc.provider, result: 'renewed' });
    deps.logger.log('info', 'session renewed with the provider', { provider: oidc.provider, user: renewal.identity.sub, email: renewal.identity.email });
    redirect(res, rd, cookies);
    return true;
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the session could not be renewed', undefined, { cause: err });
    deps.metrics.logins.inc({ provider: oidc.provider, result: e.problem });
    deps.logger.log('info', 'session renewal refused', { provider: oidc.provider, reason: e.problem, detail: e.detail });
    if (statusOf(e.problem) === 502) return false; // the provider failed: let the person log in again
    const end = { maxAgeSeconds: 0, secure };
    showLoginError(res, e, [
      serializeCookie(SESSION_COOKIE, '', { ...end, domain: policy.cookieDomain }),
      serializeCookie(REFRESH_COOKIE, '', { ...end, path: REFRESH_COOKIE_PATH }),
    ]);
    return true;
  }
}

/** The sealed refresh token as a cookie for the login paths, when sessions are re-checked and it fits. */
async function refreshCookie(policy: Policy, refreshToken: string | undefined, secure: boolean, deps: ServerDeps): Promise<string[]> {
  if (policy.sessionRecheckSeconds === undefined || refreshToken === undefined) return [];
  const sealed = await sealRefreshToken(policy.sessionKey!, refreshToken, policy.sessionTtlSeconds, deps.now());
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
  const oidc = ctx.policy.oidc!;
  if (!isConfiguredProvider(req, res, '/oauth2/authorization/', oidc.provider)) return;
  const rd = landing(query(req).get('rd'), ctx.origin, ctx.policy);
  try {
    const started = await startLogin(ctx.policy, providerClient(oidc, { metrics: deps.metrics }), ctx.origin, rd, deps.now());
    deps.metrics.logins.inc({ provider: oidc.provider, result: 'started' });
    deps.logger.log('info', 'login started', { provider: oidc.provider });
    if (started.rd !== rd)
      deps.logger.log('info', 'login target too long for the state cookie; landing on a shorter form', { provider: oidc.provider, rdLength: rd.length });
    const cookie = serializeCookie(stateCookieName(started.state), started.sealedState, {
      maxAgeSeconds: LOGIN_STATE_TTL_SECONDS,
      secure: ctx.origin.startsWith('https:'),
      path: callbackPath(oidc.provider),
    });
    redirect(res, started.location, [cookie]);
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the login could not be started', undefined, { cause: err });
    deps.metrics.logins.inc({ provider: oidc.provider, result: e.problem });
    deps.logger.log('warn', 'login start failed', { provider: oidc.provider, problem: e.problem, detail: e.detail, cause: describeCause(e.cause) });
    showLoginError(res, e);
  }
};

/** GET /login/oauth2/code/{provider}: the redirect URI registered with the provider. */
const callback: Handler = async (req, res, deps) => {
  const ctx = loginContext(req, res, deps);
  if (!ctx) return;
  const oidc = ctx.policy.oidc!;
  if (!isConfiguredProvider(req, res, '/login/oauth2/code/', oidc.provider)) return;
  const q = query(req);
  const secure = ctx.origin.startsWith('https:');
  const stateName = stateCookieName(q.get('state') ?? '');
  const sealed = q.get('state') ? cookieValues(req.headers.cookie, stateName)[0] : undefined;
  const dropState = serializeCookie(stateName, '', { maxAgeSeconds: 0, secure, path: callbackPath(oidc.provider) });
  try {
    const { identity, rd, refreshToken } = await finishLogin(ctx.policy, providerClient(oidc, { metrics: deps.metrics }), q, sealed, deps.now());
    const token = await sessionThatFits(ctx.policy, identity, deps);
    const session = serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds: ctx.policy.sessionTtlSeconds, secure, domain: ctx.policy.cookieDomain });
    const refresh = await refreshCookie(ctx.policy, refreshToken, secure, deps);
    deps.metrics.logins.inc({ provider: oidc.provider, result: 'success' });
    deps.logger.log('info', 'login succeeded', { provider: oidc.provider, user: identity.sub, email: identity.email });
    // rd was checked when the login started and is sealed since; check again against today's policy.
    redirect(res, landing(rd, ctx.origin, ctx.policy), [session, ...refresh, dropState]);
  } catch (err) {
    const e = err instanceof LoginError ? err : new LoginError('idp_error', 'the login could not be finished', undefined, { cause: err });
    if (e.cause !== undefined) deps.logger.log('error', 'login callback failed unexpectedly', { error: describeCause(e.cause) });
    deps.metrics.logins.inc({ provider: oidc.provider, result: e.problem });
    // A refusal of the person (not allowed, cancelled, an old state) is an ordinary event; the provider failing is not.
    deps.logger.log(statusOf(e.problem) === 502 ? 'warn' : 'info', 'login refused', {
      provider: oidc.provider,
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
 * same-site navigation (or one the person typed), a POST unless the browser says it came from
 * elsewhere. Anything else could be another site logging the person out.
 */
function sameSiteLogout(req: IncomingMessage, origin: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (req.method === 'GET' || req.method === 'HEAD') return typeof site === 'string' && SAME_SITE_FETCH.has(site);
  if (typeof site === 'string') return SAME_SITE_FETCH.has(site);
  const from = req.headers.origin;
  return from === undefined || from === origin;
}

/** POST /logout, or GET from this site (as Airy Core had it): clear the session cookie and go to `rd` or logoutSuccessUrl. */
const logout: Handler = async (req, res, deps) => {
  const policy = deps.policies.current;
  if (!policy) return plain(res, 503, 'no valid config loaded\n');
  const origin = externalOrigin(req, policy) ?? 'http://invalid';
  if (!sameSiteLogout(req, origin)) return confirmLogoutPage(res);
  const clear = serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: origin.startsWith('https:'), domain: policy.cookieDomain });
  const landing = landingAfter('logout', query(req).get('rd'), origin, policy);
  redirect(res, (await providerLogout(policy, new URL(landing, origin).href, deps)) ?? landing, [clear]);
};

/**
 * RP-initiated logout: when the provider has an end_session_endpoint, the browser goes there too
 * (client_id and post_logout_redirect_uri) and comes back to logoutSuccessUrl, so the person is
 * logged out of the IdP and not logged straight back in. Any failure falls back to the local logout.
 */
async function providerLogout(policy: Policy, landing: string, deps: ServerDeps): Promise<string | undefined> {
  if (policy.oidc?.protocol !== 'oidc') return undefined;
  try {
    return await endSessionUrl(providerClient(policy.oidc, { metrics: deps.metrics }), landing);
  } catch (err) {
    deps.logger.log('warn', 'provider logout skipped: the provider could not be reached; logged out locally', { error: describeCause(err) });
    return undefined;
  }
}

/** The provider named in the path must be the configured one; otherwise a 404 page says which is. */
function isConfiguredProvider(req: IncomingMessage, res: ServerResponse, prefix: string, provider: string): boolean {
  if ((req.url ?? '').split('?', 1)[0]!.slice(prefix.length) === provider) return true;
  unknownProviderPage(res, provider);
  return false;
}

/** The handlers of the login routes; the ingress sends these paths to airy-auth directly, without auth. */
export const loginHandlers = { login, logout, authorize, callback };

/** Browsers drop a cookie whose name and value exceed 4096 bytes; the session must never be one. */
const COOKIE_LIMIT = 4096;

/**
 * The session token, within the cookie limit: when the user's groups would not fit, only the
 * groups some rule of the configuration names are kept (and that is logged); a query rule naming
 * another group then refuses this user until the groups are fewer.
 */
async function sessionThatFits(policy: Policy, identity: Identity, deps: ServerDeps): Promise<string> {
  const mint = (groups: readonly string[] | undefined) =>
    mintSession(policy.sessionKey!, { ...identity, groups, recheckAfterSeconds: policy.sessionRecheckSeconds }, policy.sessionTtlSeconds, deps.now());
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
