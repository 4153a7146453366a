import type { OidcSettings } from '../config/oidc-settings.js';
import { SYSTEM_TOKEN_USER } from '../session/claims.js';
import { LoginError } from './login-error.js';

/** Who logged in, as the session will record it. */
export interface Identity {
  readonly sub: string;
  /** From the provider's groups claim (`groupsClaim`); undefined when it is missing or not a list of strings. */
  readonly groups?: readonly string[] | undefined;
  readonly email: string;
  readonly name: string | undefined;
  readonly avatarUrl: string | undefined;
  /** The ID token's `sid`: the provider's session, which a back-channel logout names. */
  readonly sid?: string | undefined;
}

/** Exactly one "@", something on both sides, no white space or control characters. */
export function wellFormedEmail(email: string): boolean {
  const at = email.indexOf('@');
  return at > 0 && at === email.lastIndexOf('@') && at < email.length - 1 && !/[\s\x00-\x1f\x7f<>]/.test(email) && email.length <= 254;
}

/** A non-empty string claim, else undefined. */
export function textClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The user id from `userNameAttributeName`; a numeric id (GitHub's, Facebook's) becomes its decimal string. */
export function subjectOf(attrs: Record<string, unknown>, attribute: string): string {
  const v = attrs[attribute];
  if (v === SYSTEM_TOKEN_USER) throw new LoginError('identity_missing', `the provider's user id "${SYSTEM_TOKEN_USER}" is reserved for the system token`);
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new LoginError('identity_missing', `the provider's answer has no "${attribute}" (userNameAttributeName)`);
}

/**
 * Identity from ID token claims and/or userinfo (OIDC and plain OAuth 2 providers). The email must
 * be present, well formed, and not marked unverified.
 */
export function identityFromClaims(attrs: Record<string, unknown>, settings: OidcSettings): Identity {
  const sub = subjectOf(attrs, settings.userNameAttribute);
  const email = textClaim(attrs.email);
  if (email === undefined) throw new LoginError('email_missing', 'the provider returned no email address; add the "email" scope');
  if (!wellFormedEmail(email)) throw new LoginError('email_malformed', 'the provider returned a malformed email address', email);
  if (attrs.email_verified === false || attrs.email_verified === 'false') {
    throw new LoginError('email_unverified', 'the provider says this email address is not verified', email);
  }
  return {
    sub,
    email,
    name: textClaim(attrs.name) ?? textClaim(attrs.preferred_username) ?? textClaim(attrs.login),
    avatarUrl: textClaim(attrs.picture) ?? textClaim(attrs.avatar_url),
  };
}

/** A groups claim: a list of strings, or no groups at all (a string, a number, a list with anything else). */
export function groupsOf(claim: unknown): readonly string[] | undefined {
  return Array.isArray(claim) && claim.every((g) => typeof g === 'string' && g !== '') ? (claim as string[]) : undefined;
}
