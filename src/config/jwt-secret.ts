import { createSecretKey, type KeyObject } from 'node:crypto';
import type { IssueList } from './issues.js';

const MIN_SECRET_BYTES = 32;
const GENERATE = 'generate one with `openssl rand -base64 48` (or `head -c 48 /dev/urandom | base64`)';

/**
 * Decodes `jwtSecret` the way Airy Core did (base64 → HMAC key bytes), so tokens are interchangeable
 * with an Airy Core install that uses the same secret. Accepts the standard or the url-safe
 * alphabet, with or without padding, but not a mix of both alphabets.
 */
export function decodeJwtSecret(secret: string, path: string, issues: IssueList): KeyObject | undefined {
  const standard = /^[A-Za-z0-9+/]+={0,2}$/.test(secret);
  const urlSafe = /^[A-Za-z0-9_-]+={0,2}$/.test(secret);
  if (!standard && !urlSafe) {
    issues.error(path, 'is not base64 (only A-Z, a-z, 0-9 and either "+/" or "-_", with optional "=" padding)', { fix: GENERATE });
    return undefined;
  }
  const unpadded = secret.replace(/=+$/, '');
  if (unpadded.length % 4 === 1 || (secret.includes('=') && secret.length % 4 !== 0)) {
    issues.error(path, 'has a base64 length that cannot be decoded (bad padding or a missing character)', { fix: GENERATE });
    return undefined;
  }
  const bytes = Buffer.from(unpadded, urlSafe && !standard ? 'base64url' : 'base64');
  if (bytes.length < MIN_SECRET_BYTES) {
    issues.error(path, `decodes to ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are needed for HS256`, { fix: GENERATE });
    return undefined;
  }
  return createSecretKey(bytes);
}
