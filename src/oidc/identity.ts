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

export interface GithubEmail {
  readonly email: string;
  readonly primary: boolean;
  readonly verified: boolean;
}

/** Exactly one "@", something on both sides, no white space or control characters. */
function wellFormedEmail(email: string): boolean {
  const at = email.indexOf('@');
  return at > 0 && at === email.lastIndexOf('@') && at < email.length - 1 && !/[\s\x00-\x1f\x7f<>]/.test(email) && email.length <= 254;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The user id from `userNameAttributeName`; GitHub's numeric id becomes its decimal string. */
function subjectOf(attrs: Record<string, unknown>, attribute: string): string {
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
  const email = str(attrs.email);
  if (email === undefined) throw new LoginError('email_missing', 'the provider returned no email address; add the "email" scope');
  if (!wellFormedEmail(email)) throw new LoginError('email_malformed', 'the provider returned a malformed email address', email);
  if (attrs.email_verified === false || attrs.email_verified === 'false') {
    throw new LoginError('email_unverified', 'the provider says this email address is not verified', email);
  }
  return { sub, email, name: str(attrs.name) ?? str(attrs.preferred_username) ?? str(attrs.login), avatarUrl: str(attrs.picture) ?? str(attrs.avatar_url) };
}

/**
 * GitHub: the email comes from /user/emails, verified ones only, the primary first; the first
 * verified address that the patterns allow is used, so a user whose primary address is not
 * verified can still log in with a verified one.
 */
export function identityFromGithub(
  user: Record<string, unknown>,
  emails: readonly GithubEmail[],
  settings: OidcSettings,
  allowed: (email: string) => boolean,
): Identity {
  const sub = subjectOf(user, settings.userNameAttribute);
  const verified = emails.filter((e) => e.verified === true && typeof e.email === 'string' && wellFormedEmail(e.email));
  if (verified.length === 0) {
    throw new LoginError('email_unverified', 'this GitHub account has no verified email address', str(emails.find((e) => e.primary)?.email));
  }
  verified.sort((a, b) => Number(b.primary) - Number(a.primary));
  const chosen = verified.find((e) => allowed(e.email)) ?? verified[0]!;
  return { sub, email: chosen.email, name: str(user.name) ?? str(user.login), avatarUrl: str(user.avatar_url) };
}

export function parseGithubEmails(body: unknown): GithubEmail[] {
  if (!Array.isArray(body)) throw new LoginError('idp_error', 'GitHub /user/emails did not return a list');
  return body.filter((e): e is GithubEmail => typeof e === 'object' && e !== null && typeof (e as GithubEmail).email === 'string');
}

/** A groups claim: a list of strings, or no groups at all (a string, a number, a list with anything else). */
export function groupsOf(claim: unknown): readonly string[] | undefined {
  return Array.isArray(claim) && claim.every((g) => typeof g === 'string' && g !== '') ? (claim as string[]) : undefined;
}
