import { createHash, hash, timingSafeEqual } from 'node:crypto';

/** A secret kept only as its SHA-256, so comparing takes the same time whatever the input's length. */
export interface SecretDigest {
  readonly digest: Buffer;
}

export function secretDigest(secret: string): SecretDigest {
  return { digest: createHash('sha256').update(secret, 'utf8').digest() };
}

/**
 * Constant-time: both sides are 32-byte digests, compared with timingSafeEqual. The one-shot
 * `hash` is used on the request path: a Hash object per request cost thousands of instructions.
 */
export function secretEquals(candidate: string, expected: SecretDigest): boolean {
  return timingSafeEqual(hash('sha256', candidate, 'buffer'), expected.digest);
}
