import { type KeyObject, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

export interface SessionSubject {
  /** Stable user id: the provider's `userNameAttributeName` value, or a service account name. */
  readonly sub: string;
  readonly email?: string | undefined;
  readonly name?: string | undefined;
  readonly avatarUrl?: string | undefined;
  /** Groups for per-app rules; left out of the token when undefined (Airy Core's shape). */
  readonly groups?: readonly string[] | undefined;
  /** Seconds after issue when the session is re-checked with the provider (an `rck` claim); Airy Core ignores it. */
  readonly recheckAfterSeconds?: number | undefined;
  /** The provider's session id (the ID token's `sid`), so a back-channel logout of it ends this session. */
  readonly sid?: string | undefined;
  /** When the person logged in (seconds; the `auth_time` claim), kept through renewals: cut-offs compare it. */
  readonly authTime?: number | undefined;
  /** The login provider that signed the person in (the `idp` claim); Airy Core ignores it. */
  readonly provider?: string | undefined;
}

/**
 * Mints an Airy session JWT: HS256, `jti`, `sub`, `iat`, `exp`, `principal` as a JSON string of
 * `{id, name, avatarUrl}` (Airy Core's shape, so Airy Core reads it), and `email`, the provider's `sid` and
 * the provider's name (`idp`) when known.
 */
export async function mintSession(key: KeyObject, subject: SessionSubject, ttlSeconds: number, nowMs: number): Promise<string> {
  if (!subject.sub) throw new TypeError('mintSession: sub must be a non-empty string');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('mintSession: ttlSeconds must be a positive integer');
  const iat = Math.floor(nowMs / 1000);
  const principal = JSON.stringify({ id: subject.sub, name: subject.name ?? subject.sub, avatarUrl: subject.avatarUrl ?? null });
  const claims: Record<string, unknown> = { principal };
  if (subject.email !== undefined) claims.email = subject.email;
  if (subject.groups !== undefined) claims.groups = [...subject.groups];
  if (subject.recheckAfterSeconds !== undefined) claims.rck = iat + subject.recheckAfterSeconds;
  if (subject.sid !== undefined) claims.sid = subject.sid;
  if (subject.authTime !== undefined) claims.auth_time = Math.min(subject.authTime, iat);
  if (subject.provider !== undefined) claims.idp = subject.provider;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(randomUUID())
    .setSubject(subject.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(key);
}
