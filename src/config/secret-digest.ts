import { createHash, hash, timingSafeEqual } from 'node:crypto';

/** A secret kept only as its SHA-256, so comparing takes the same time whatever the input's length. */
export interface SecretDigest {
  readonly digest: Buffer;
}

export function secretDigest(secret: string): SecretDigest {
  return { digest: createHash('sha256').update(secret, 'utf8').digest() };
}

/**
 * The longest secret a configuration may hold (checked when it is compiled). A bound the same for
 * every secret and written here in public, so refusing a longer candidate without hashing it says
 * nothing about the secret: and hashing a 24 KB session token on every request cost 676,000
 * instructions (bench P3), more than the rest of the decision.
 */
export const SECRET_MAX_CHARS = 4096;

/**
 * Constant-time: both sides are 32-byte digests, compared with timingSafeEqual. The one-shot
 * `hash` is used on the request path: a Hash object per request cost thousands of instructions.
 */
export function secretEquals(candidate: string, expected: SecretDigest): boolean {
  if (candidate.length > SECRET_MAX_CHARS) return false;
  return timingSafeEqual(hash('sha256', candidate, 'buffer'), expected.digest);
}
