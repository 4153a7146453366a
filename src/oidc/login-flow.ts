import * as client from 'openid-client';
import type { LoginProvider, Policy } from '../config/policy.js';
import { classifyIdpError } from './classify-error.js';
import type { Identity } from './identity.js';
import { LoginError } from './login-error.js';
import { openLoginState, STATE_COOKIE_MAX_BYTES, sealLoginState, stateCookieName } from './login-state.js';
import type { ProviderClient } from './provider-client.js';
import { providerKind } from './providers/index.js';
import type { TokenResponse } from './providers/kind.js';

/** A login with one provider: the policy it happens under (its session key, its revocations), the provider and its client. */
export interface ProviderLogin {
  readonly policy: Policy;
  readonly provider: LoginProvider;
  readonly pc: ProviderClient;
}

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
export async function startLogin(login: ProviderLogin, externalOrigin: string, rd: string, nowMs: number): Promise<StartedLogin> {
  const { policy, pc } = login;
  const settings = pc.settings;
  const config = await pc.configuration();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = settings.protocol === 'oidc' ? client.randomNonce() : undefined;
  const redirectUri = `${externalOrigin}${callbackPath(settings.provider)}`;
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: providerKind(settings).scopes(settings).join(' '),
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
  login: ProviderLogin,
  query: URLSearchParams,
  sealed: string | undefined,
  nowMs: number,
): Promise<{ identity: Identity; rd: string; refreshToken: string | undefined }> {
  const { policy, pc } = login;
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

  const identity = await identityFromTokens(login, config, tokens);
  return { identity, rd: st.rd, refreshToken: tokens.refresh_token };
}

/**
 * A session renewed without the person: the refresh token for new tokens, then the same identity
 * and the same checks as a login. Throws LoginError only; `session_ended` when the provider refuses
 * the refresh token (a disabled user, a revoked grant).
 */
export async function refreshLogin(login: ProviderLogin, refreshToken: string): Promise<{ identity: Identity; refreshToken: string | undefined }> {
  const { pc } = login;
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
  return { identity: await identityFromTokens(login, config, tokens), refreshToken: tokens.refresh_token ?? refreshToken };
}

/** Who the tokens are for (the provider's kind reads identity and groups), and the login's checks with the provider's rules. */
async function identityFromTokens(login: ProviderLogin, config: client.Configuration, tokens: TokenResponse): Promise<Identity> {
  const { policy, provider, pc } = login;
  const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
  let identity = await providerKind(provider.settings).identity({ provider, pc, config, tokens, idClaims });
  if (typeof idClaims.sid === 'string' && idClaims.sid !== '' && idClaims.sid.length <= 255) identity = { ...identity, sid: idClaims.sid };
  if (policy.revocation?.subjects.has(identity.sub) || policy.revocation?.emails.has(identity.email.toLowerCase())) {
    throw new LoginError('email_not_allowed', `${identity.email} may no longer log in (revoked)`, identity.email);
  }
  if (!provider.emails?.matches(identity.email)) {
    throw new LoginError('email_not_allowed', `${identity.email} is not in the list of allowed email addresses`, identity.email);
  }
  return identity;
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
