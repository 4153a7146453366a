import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createIdentitySigner, type IdentitySigner } from '../session/identity-assertion.js';
import { parseDuration } from './duration.js';
import type { IssueList } from './issues.js';
import { POLICY_NAME } from './keys.js';
import { type Settings, settingPath } from './settings.js';
import { booleanValue, stringValue } from './values.js';

/** Where `X-Auth-Request-Jwt` is added, and the signer. Absent from the Policy when no route asks for it. */
export interface SignedIdentity {
  /** `security.signedIdentity`: every allow with an identity carries it. */
  readonly everywhere: boolean;
  /** Named policies with `signedIdentity: true`: their routes' allows carry it. */
  readonly policies: ReadonlySet<string>;
  readonly signer: IdentitySigner;
}

const TTL = { min: 10, max: 600, fallback: 60 };
const GENERATE = 'generate one with `openssl ecparam -name prime256v1 -genkey -noout` (the chart generates one)';
const PEM_SHAPES = '-----BEGIN PRIVATE KEY----- (PKCS#8) or -----BEGIN EC PRIVATE KEY----- (SEC1), on curve P-256';

/**
 * The signed identity header: the flag (globally and per policy), the keys, the issuer and the
 * lifetime. A key that is set is checked even while the header is off, so turning it on later
 * cannot be the moment a bad key is found.
 */
export function compileSignedIdentity(settings: Settings, publicUrl: string | undefined, issues: IssueList): SignedIdentity | undefined {
  const everywhere = booleanValue(settings.get('signedIdentity'), issues);
  const policies = policiesWithSignedIdentity(settings, issues);
  const keyText = stringValue(settings.get('signingKey'), issues);
  const previousText = stringValue(settings.get('signingKeyPrevious'), issues);
  const privateKey = keyText === undefined ? undefined : signingKey(keyText, settingPath(settings, 'signingKey'), issues);
  const previousKey = previousText === undefined ? undefined : publishedKey(previousText, settingPath(settings, 'signingKeyPrevious'), issues);
  const ttlSeconds = ttlSetting(stringValue(settings.get('signedIdentityTtl'), issues), settingPath(settings, 'signedIdentityTtl'), issues);
  const issuerText = stringValue(settings.get('signedIdentityIssuer'), issues);
  if (issuerText !== undefined && !/^[\x21-\x7e]+$/.test(issuerText)) {
    issues.error(settingPath(settings, 'signedIdentityIssuer'), 'must be printable ASCII without spaces', { allowed: 'https://auth.example.com' });
  }
  if (!everywhere && policies.size === 0) return undefined;

  const where = everywhere ? settingPath(settings, 'signedIdentity') : `security.policies.${[...policies][0]}.signedIdentity`;
  if (keyText === undefined) {
    issues.error(settingPath(settings, 'signingKey'), `is required: ${where} is on`, { fix: `${GENERATE}, and put it into the Secret` });
  }
  const issuer = issuerText ?? publicUrl;
  if (issuer === undefined) {
    issues.error(settingPath(settings, 'signedIdentityIssuer'), `is required: ${where} is on and there is no publicUrl to take the issuer from`, {
      fix: 'set publicUrl (the issuer is then its origin) or signedIdentityIssuer',
    });
  }
  if (privateKey === undefined || issuer === undefined) return undefined;
  return { everywhere, policies, signer: createIdentitySigner({ privateKey, previousKey, issuer, ttlSeconds }) };
}

/** `security.policies.NAME.signedIdentity`; the policies' other fields are route-rules.ts's. */
function policiesWithSignedIdentity(settings: Settings, issues: IssueList): Set<string> {
  const out = new Set<string>();
  const raw = settings.get('policies');
  if (raw === undefined || typeof raw.value !== 'object' || raw.value === null || Array.isArray(raw.value)) return out;
  for (const [name, body] of Object.entries(raw.value as Record<string, unknown>)) {
    if (!POLICY_NAME.test(name) || typeof body !== 'object' || body === null || Array.isArray(body)) continue;
    const flag = (body as Record<string, unknown>).signedIdentity;
    if (flag !== undefined && booleanValue({ value: flag, path: `${raw.path}.${name}.signedIdentity` }, issues)) out.add(name);
  }
  return out;
}

function ttlSetting(text: string | undefined, path: string, issues: IssueList): number {
  if (text === undefined) return TTL.fallback;
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds < TTL.min || seconds > TTL.max) {
    issues.error(path, seconds === undefined ? `"${text}" is not a duration` : `${text} is out of range`, {
      allowed: `between ${TTL.min}s and ${TTL.max / 60}m, such as 60s or 2m`,
    });
    return TTL.fallback;
  }
  return seconds;
}

/** A P-256 key, or why not (naming the algorithm or curve found, never the key). */
function checkedP256(key: KeyObject, path: string, issues: IssueList): KeyObject | undefined {
  if (key.asymmetricKeyType !== 'ec') {
    issues.error(path, `is an ${key.asymmetricKeyType?.toUpperCase() ?? 'unknown'} key; ES256 needs an EC key on curve P-256`, { fix: GENERATE });
    return undefined;
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') {
    issues.error(path, `is an EC key on curve ${curve ?? 'unknown'}; ES256 needs P-256 (prime256v1)`, { fix: GENERATE });
    return undefined;
  }
  return key;
}

function signingKey(text: string, path: string, issues: IssueList): KeyObject | undefined {
  try {
    return checkedP256(createPrivateKey(text), path, issues);
  } catch {
    // createPublicKey takes a public key (and would take a private one, which failed above).
    if (isPublicKey(text)) issues.error(path, 'is a public key; airy-auth signs with the private key', { allowed: PEM_SHAPES, fix: GENERATE });
    else issues.error(path, 'is not an unencrypted PEM private key', { allowed: PEM_SHAPES, fix: GENERATE });
    return undefined;
  }
}

/** The previous key is only published: its private PEM (the old signingKey, moved over) or its public key. */
function publishedKey(text: string, path: string, issues: IssueList): KeyObject | undefined {
  try {
    return checkedP256(createPublicKey(text), path, issues);
  } catch {
    issues.error(path, 'is not a PEM key', { allowed: `the previous signingKey, or its -----BEGIN PUBLIC KEY-----` });
    return undefined;
  }
}

function isPublicKey(text: string): boolean {
  try {
    createPublicKey(text);
    return true;
  } catch {
    return false;
  }
}
