/** The Airy session cookie's name, as Airy Core set it. */
export const SESSION_COOKIE = 'airy_auth_token';

/**
 * The user name reported for the system token; never any part of the secret. No session may
 * carry it as its subject, so the upstream can tell the system token from every person.
 */
export const SYSTEM_TOKEN_USER = 'system-token';

/** Seconds of clock skew tolerated on `exp` and `nbf`. */
export const CLOCK_LEEWAY_SECONDS = 30;

/** Airy Core's default session lifetime. */
export const DEFAULT_SESSION_TTL_SECONDS = 30 * 86400;

/**
 * A login provider's name, and so what the `idp` claim may be: one path segment of the callback
 * (`/login/oauth2/code/NAME`) and a metric label.
 */
export const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** What a verified session JWT tells the decision. */
export interface Session {
  readonly sub: string;
  readonly email: string | undefined;
  /** The `groups` claim: IdP groups or GitHub orgs and teams. Airy Core's tokens have none. */
  readonly groups: readonly string[] | undefined;
  readonly exp: number;
  readonly nbf: number | undefined;
  /** When it was issued (seconds): a renewal's time for a renewed session. */
  readonly iat: number | undefined;
  /**
   * `auth_time`: when the person logged in (seconds), carried unchanged through renewals, so a
   * cut-off (`sessionsNotBefore`, the revocation list) set after a renewal still ends the session.
   * Absent (Airy Core's sessions): `iat` stands for it. Airy Core ignores the claim.
   */
  readonly authTime?: number | undefined;
  /** `rck`: after this (seconds), the session is re-checked with the provider (sessionRecheck). */
  readonly recheckAt?: number | undefined;
  /** The session's own id (`jti`): one session can be revoked alone by it. */
  readonly jti?: string | undefined;
  /** The provider's session id (`sid`) the session was minted from: a back-channel logout names it. */
  readonly sid?: string | undefined;
  /**
   * The `idp` claim: which provider signed the person in (a name under `security.providers`, or
   * the `security.oidc` provider). Airy Core ignores it; absent from its tokens.
   */
  readonly provider?: string | undefined;
}

/** Why a token was refused: codes for untrusted input, never thrown. */
export type TokenProblem = 'malformed' | 'alg_not_allowed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'bad_claims';

export type VerifyResult = { readonly ok: true; readonly session: Session } | { readonly ok: false; readonly problem: TokenProblem };
