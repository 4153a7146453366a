import * as client from 'openid-client';
import type { OidcSettings } from '../config/oidc-settings.js';
import type { Policy } from '../config/policy.js';
import { classifyIdpError } from './classify-error.js';
import { groupsOf, type Identity, identityFromClaims, identityFromGithub, parseGithubEmails } from './identity.js';
import { LoginError } from './login-error.js';
import { openLoginState, STATE_COOKIE_MAX_BYTES, sealLoginState, stateCookieName } from './login-state.js';
import type { ProviderClient } from './provider-client.js';

/** The callback path of the seed: `{host}/login/oauth2/code/{provider}`. */
export function callbackPath(provider: string): string {
  return `/login/oauth2/code/${provider}`;
}

export interface StartedLogin {
  readonly location: string;
  readonly state: string;
  readonly sealedState: string;
  /** The landing URL kept in the state: `rd`, or a shorter form of it when `rd` was too long for the cookie. */
  readonly rd: string;
}

/** Shorter and shorter forms of a landing URL: itself, without query and fragment, the root. */
function landingCandidates(rd: string): string[] {
  const bare = rd.replace(/[?#].*$/s, '');
  return [...new Set([rd, bare === '' ? '/' : bare, '/'])];
}

/** Builds the provider's authorization URL (state, nonce for OIDC, PKCE S256) and the sealed state. */
export async function startLogin(policy: Policy, pc: ProviderClient, externalOrigin: string, rd: string, nowMs: number): Promise<StartedLogin> {
  const settings = pc.settings;
  const config = await pc.configuration();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = settings.protocol === 'oidc' ? client.randomNonce() : undefined;
  const redirectUri = `${externalOrigin}${callbackPath(settings.provider)}`;
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: settings.scopes.join(' '),
    state,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    response_type: 'code',
  };
  if (nonce !== undefined) params.nonce = nonce;
  const location = client.buildAuthorizationUrl(config, params).href;
  // The sealed state holds rd; a deep link too long for the cookie loses its query (then its path)
  // rather than the whole login: a cookie over the limit is dropped by the browser.
  const room = STATE_COOKIE_MAX_BYTES - stateCookieName(state).length - 1;
  for (const candidate of landingCandidates(rd)) {
    const sealedState = await sealLoginState(
      policy.sessionKey!,
      { state, nonce, codeVerifier, rd: candidate, provider: settings.provider, redirectUri },
      nowMs,
    );
    if (sealedState.length <= room) return { location, state, sealedState, rd: candidate };
  }
  throw new LoginError('idp_error', 'the login state does not fit in a cookie');
}

/**
 * The callback: checks the sealed state, exchanges the code (openid-client validates the ID token's
 * signature, issuer, audience, nonce and expiry), reads userinfo, and returns who logged in.
 * Throws LoginError only.
 */
export async function finishLogin(
  policy: Policy,
  pc: ProviderClient,
  query: URLSearchParams,
  sealed: string | undefined,
  nowMs: number,
): Promise<{ identity: Identity; rd: string; refreshToken: string | undefined }> {
  const settings = pc.settings;
  const idpError = query.get('error');
  if (idpError !== null) {
    const description = query.get('error_description');
    const detail = `the provider answered "${idpError}"${description ? `: ${description.slice(0, 200)}` : ''}`;
    throw new LoginError(idpError === 'access_denied' ? 'cancelled' : 'idp_error', detail);
  }
  if (sealed === undefined) throw new LoginError('state_missing', 'this login was not started in this browser, or it took more than 10 minutes');
  const opened = await openLoginState(policy.sessionKey!, sealed, nowMs);
  if (!opened.ok)
    throw new LoginError(
      opened.problem === 'expired' ? 'state_expired' : 'state_invalid',
      opened.problem === 'expired' ? 'this login took more than 10 minutes' : 'the login state cookie is not valid',
    );
  const st = opened.state;
  if (st.state !== query.get('state') || st.provider !== settings.provider)
    throw new LoginError('state_invalid', 'the answer does not belong to the login this browser started');

  let config: client.Configuration;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    config = await pc.configuration();
    const currentUrl = new URL(st.redirectUri);
    currentUrl.search = query.toString();
    tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: st.codeVerifier,
      expectedState: st.state,
      ...(st.nonce === undefined ? {} : { expectedNonce: st.nonce }),
      idTokenExpected: settings.protocol === 'oidc',
    });
  } catch (err) {
    throw classifyIdpError(err, 'code exchange');
  }

  const identity = await identityFromTokens(policy, pc, config, tokens);
  return { identity, rd: st.rd, refreshToken: tokens.refresh_token };
}

/**
 * A session renewed without the person: the refresh token for new tokens, then the same identity
 * and the same checks as a login. Throws LoginError only; `session_ended` when the provider refuses
 * the refresh token (a disabled user, a revoked grant).
 */
export async function refreshLogin(
  policy: Policy,
  pc: ProviderClient,
  refreshToken: string,
): Promise<{ identity: Identity; refreshToken: string | undefined }> {
  let config: client.Configuration;
  let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
  try {
    config = await pc.configuration();
    tokens = await client.refreshTokenGrant(config, refreshToken);
  } catch (err) {
    const e = classifyIdpError(err, 'refresh');
    if (err instanceof client.ResponseBodyError && err.error === 'invalid_grant') {
      throw new LoginError('session_ended', 'the provider ended this session (the account may be disabled, or its access revoked)', undefined, { cause: err });
    }
    throw e;
  }
  return { identity: await identityFromTokens(policy, pc, config, tokens), refreshToken: tokens.refresh_token ?? refreshToken };
}

/** Who the tokens are for: ID token claims and userinfo (or GitHub's endpoints), and the login's checks. */
async function identityFromTokens(
  policy: Policy,
  pc: ProviderClient,
  config: client.Configuration,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
): Promise<Identity> {
  const settings = pc.settings;
  const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
  const userInfoUri = pc.userInfoUri(config);
  let attrs: Record<string, unknown> = idClaims;
  if (userInfoUri) {
    const info = await fetchJson(pc, userInfoUri, tokens.access_token, settings.userInfoAuth, 'userinfo');
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new LoginError('idp_error', 'userinfo did not return a JSON object');
    const userinfo = info as Record<string, unknown>;
    if (settings.protocol === 'oidc' && idClaims.sub !== undefined && userinfo.sub !== idClaims.sub)
      throw new LoginError('id_token_invalid', 'userinfo "sub" differs from the ID token\'s');
    attrs = { ...idClaims, ...userinfo };
  }
  let identity: Identity;
  if (settings.emailsUri) {
    const emails = parseGithubEmails(await fetchJson(pc, settings.emailsUri, tokens.access_token, 'header', 'emails'));
    identity = identityFromGithub(attrs, emails, settings, (e) => policy.emails?.matches(e) ?? false);
    if (settings.orgsUri && settings.teamsUri) {
      const orgs = await fetchAllPages(pc, settings.orgsUri, tokens.access_token, 'orgs');
      const teams = await fetchAllPages(pc, settings.teamsUri, tokens.access_token, 'teams');
      identity = { ...identity, groups: githubGroups(orgs, teams) };
    }
  } else {
    identity = { ...identityFromClaims(attrs, settings), groups: groupsOf(attrs[policy.groupsClaim]) };
  }
  if (typeof idClaims.sid === 'string' && idClaims.sid !== '' && idClaims.sid.length <= 255) identity = { ...identity, sid: idClaims.sid };
  if (policy.revocation?.subjects.has(identity.sub) || policy.revocation?.emails.has(identity.email.toLowerCase())) {
    throw new LoginError('email_not_allowed', `${identity.email} may no longer log in (revoked)`, identity.email);
  }
  if (!policy.emails?.matches(identity.email)) {
    throw new LoginError('email_not_allowed', `${identity.email} is not in the list of allowed email addresses`, identity.email);
  }
  return identity;
}

/** `uri` with one more query parameter, after any query it already has. */
function withQueryParam(uri: string, name: string, value: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

/** At most this many pages of 100 are read: 1,000 orgs or teams is more than any rule needs. */
const MAX_PAGES = 10;

/** Every item of a paginated GitHub list, following `Link: <...>; rel="next"`. */
async function fetchAllPages(pc: ProviderClient, uri: string, accessToken: string, step: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | undefined = withQueryParam(uri, 'per_page', '100');
  for (let page = 0; next !== undefined && page < MAX_PAGES; page++) {
    const { body, link } = await fetchJsonWithLink(pc, next, accessToken, step);
    if (!Array.isArray(body)) throw new LoginError('idp_error', `GitHub ${step} did not return a list`);
    items.push(...body);
    next = /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];
    // Only ever follow links to the same API host, whatever the answer says.
    if (next !== undefined && new URL(next).origin !== new URL(uri).origin) next = undefined;
  }
  return items;
}

/** GitHub's orgs and teams as oauth2-proxy names them: `org` and `org:team-slug`. */
function githubGroups(orgs: readonly unknown[], teams: readonly unknown[]): string[] {
  const groups = new Set<string>();
  for (const o of orgs) {
    const login = (o as { login?: unknown } | null)?.login;
    if (typeof login === 'string' && login !== '') groups.add(login);
  }
  for (const t of teams) {
    const slug = (t as { slug?: unknown } | null)?.slug;
    const org = (t as { organization?: { login?: unknown } } | null)?.organization?.login;
    if (typeof slug === 'string' && slug !== '' && typeof org === 'string' && org !== '') groups.add(`${org}:${slug}`);
  }
  return [...groups];
}

async function fetchJsonWithLink(pc: ProviderClient, url: string, accessToken: string, step: string): Promise<{ body: unknown; link: string | undefined }> {
  let res: Response;
  try {
    res = await pc.fetch(url, {
      headers: { accept: 'application/vnd.github+json', 'user-agent': 'airy-auth', authorization: `Bearer ${accessToken}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw classifyIdpError(err, step);
  }
  if (!res.ok) throw new LoginError('idp_error', `${step}: the provider answered ${res.status}`);
  try {
    return { body: await res.json(), link: res.headers.get('link') ?? undefined };
  } catch {
    throw new LoginError('idp_error', `${step}: the answer is not JSON`);
  }
}

/** A protected resource call with the access token sent the configured way (header, form or query). */
async function fetchJson(pc: ProviderClient, uri: string, accessToken: string, how: OidcSettings['userInfoAuth'], step: string): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'airy-auth' };
  let url = uri;
  let method = 'GET';
  let body: string | undefined;
  if (how === 'header') headers.authorization = `Bearer ${accessToken}`;
  else if (how === 'query') url = withQueryParam(uri, 'access_token', accessToken);
  else {
    method = 'POST';
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams({ access_token: accessToken }).toString();
  }
  let res: Response;
  try {
    res = await pc.fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw classifyIdpError(err, step);
  }
  if (!res.ok) throw new LoginError('idp_error', `${step}: the provider answered ${res.status}`);
  try {
    return await res.json();
  } catch {
    throw new LoginError('idp_error', `${step}: the answer is not JSON`);
  }
}

/** The provider's end_session_endpoint with client_id and post_logout_redirect_uri, or undefined when it has none. */
export async function endSessionUrl(pc: ProviderClient, postLogoutRedirectUri: string): Promise<string | undefined> {
  const config = await pc.configuration();
  if (!config.serverMetadata().end_session_endpoint) return undefined;
  return client.buildEndSessionUrl(config, { client_id: pc.settings.clientId, post_logout_redirect_uri: postLogoutRedirectUri }).href;
}

/**
 * Revokes a refresh token at the provider's revocation_endpoint (RFC 7009), so a logout ends the
 * grant too: refresh tokens outlive the session cookie at most providers. False when the provider
 * publishes no such endpoint; throws LoginError when it fails.
 */
export async function revokeRefreshToken(pc: ProviderClient, refreshToken: string): Promise<boolean> {
  try {
    const config = await pc.configuration();
    if (!config.serverMetadata().revocation_endpoint) return false;
    await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  } catch (err) {
    throw classifyIdpError(err, 'revocation');
  }
}
