import { createHash, timingSafeEqual } from 'node:crypto';

/** A secret kept only as its SHA-256, so comparing takes the same time whatever the input's length. */
export interface SecretDigest {
  readonly digest: Buffer;
}

export function secretDigest(secret: string): SecretDigest {
  return { digest: createHash('sha256').update(secret, 'utf8').digest() };
}

/** Constant-time: both sides are 32-byte digests, compared with timingSafeEqual. */
export function secretEquals(candidate: string, expected: SecretDigest): boolean {
  return timingSafeEqual(createHash('sha256').update(candidate, 'utf8').digest(), expected.digest);
}
