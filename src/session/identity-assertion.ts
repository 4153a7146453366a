import { createHash, createPublicKey, type KeyObject, randomUUID, sign } from 'node:crypto';

/** Who an assertion names: the allow's identity, and the provider that vouched for it when the allow names one. */
export interface AssertedIdentity {
  readonly sub: string;
  readonly email: string | undefined;
  readonly groups: readonly string[] | undefined;
  readonly provider: string | undefined;
}

/**
 * Signs `X-Auth-Request-Jwt` (ES256) and publishes the keys that verify it. One per applied
 * policy: its cache of signed assertions goes when the policy is replaced.
 */
export interface IdentitySigner {
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** RFC 7638 thumbprint of the signing key: the `kid` of every assertion. */
  readonly kid: string;
  /** The JWKS document (current key, then the previous one during a rotation), as served. */
  readonly jwks: string;
  readonly jwksEtag: string;
  /** A signed assertion for this identity and audience, reused until a quarter of its lifetime is left. */
  assertion(identity: AssertedIdentity, audience: string, nowMs: number): string;
}

export interface SignerOptions {
  readonly privateKey: KeyObject;
  /** The key being rotated out (public, or the private key it was): published, never used to sign. */
  readonly previousKey?: KeyObject | undefined;
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** Bounds of the assertion cache (entries, and characters of keys and assertions together). */
  readonly cacheEntries?: number;
  readonly cacheChars?: number;
}

/** A reused assertion is re-signed once less than this share of its lifetime is left. */
const REFRESH_REMAINING = 0.25;
const CACHE_ENTRIES = 4096;
const CACHE_CHARS = 8 * 1024 * 1024;

interface PublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

function publicJwk(key: KeyObject): PublicJwk {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }) as { x?: string; y?: string };
  return { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '' };
}

/** RFC 7638: the SHA-256 of the required members in lexical order, without white space. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function createIdentitySigner(options: SignerOptions): IdentitySigner {
  const current = publicJwk(options.privateKey);
  const kid = jwkThumbprint(current);
  const keys = [{ ...current, kid, alg: 'ES256', use: 'sig' }];
  if (options.previousKey !== undefined) {
    const previous = publicJwk(options.previousKey);
    const previousKid = jwkThumbprint(previous);
    if (previousKid !== kid) keys.push({ ...previous, kid: previousKid, alg: 'ES256', use: 'sig' });
  }
  const jwks = JSON.stringify({ keys });
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid })).toString('base64url');
  const issuerJson = JSON.stringify(options.issuer);
  const { privateKey, ttlSeconds } = options;
  const cache = new AssertionCache(options.cacheEntries ?? CACHE_ENTRIES, options.cacheChars ?? CACHE_CHARS);

  const signNew = (identity: AssertedIdentity, audience: string, groupsJson: string | undefined, nowMs: number) => {
    const iat = Math.floor(nowMs / 1000);
    // Built as text: the issuer and groups are encoded once, and the member order is fixed.
    let payload = `{"iss":${issuerJson},"aud":${JSON.stringify(audience)},"sub":${JSON.stringify(identity.sub)}`;
    if (identity.email !== undefined) payload += `,"email":${JSON.stringify(identity.email)}`;
    if (groupsJson !== undefined) payload += `,"groups":${groupsJson}`;
    if (identity.provider !== undefined) payload += `,"idp":${JSON.stringify(identity.provider)}`;
    payload += `,"iat":${iat},"exp":${iat + ttlSeconds},"jti":"${randomUUID()}"}`;
    const input = `${header}.${Buffer.from(payload).toString('base64url')}`;
    // Synchronous, so an allow is answered in the same turn; P1363 is the r||s form JWS wants (RFC 7518 3.4).
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return { jwt: `${input}.${signature.toString('base64url')}`, refreshAtMs: (iat + ttlSeconds * (1 - REFRESH_REMAINING)) * 1000 };
  };

  return {
    issuer: options.issuer,
    ttlSeconds,
    kid,
    jwks,
    jwksEtag: `"${createHash('sha256').update(jwks).digest('base64url').slice(0, 22)}"`,
    assertion(identity, audience, nowMs) {
      const groupsJson = identity.groups === undefined ? undefined : groupsJsonOf(identity.groups);
      // JSON of every part: a `sub` with a separator in it can never pose as another identity's key.
      const cacheKey = JSON.stringify([audience, identity.sub, identity.email ?? null, identity.provider ?? null]) + (groupsJson ?? 'null');
      const hit = cache.get(cacheKey);
      if (hit !== undefined && hit.refreshAtMs > nowMs) return hit.jwt;
      const signed = signNew(identity, audience, groupsJson, nowMs);
      cache.put(cacheKey, signed, nowMs);
      return signed.jwt;
    },
  };
}

/** A session's groups as JSON, once per groups array (it belongs to the memoized session, as in the groups header). */
const groupsJsonMemo = new WeakMap<readonly string[], string>();
function groupsJsonOf(groups: readonly string[]): string {
  let json = groupsJsonMemo.get(groups);
  if (json === undefined) {
    json = JSON.stringify(groups);
    groupsJsonMemo.set(groups, json);
  }
  return json;
}

interface Entry {
  readonly jwt: string;
  readonly refreshAtMs: number;
  readonly chars: number;
}

/**
 * Signed assertions by identity and audience. The audience comes from the request's Host, which a
 * client may choose, so the cache is bounded in entries and in size: when full, entries due for
 * a refresh are dropped (oldest first: every entry lives as long, so insertion order is refresh
 * order), and when none is, a new assertion is signed and not kept.
 */
export class AssertionCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  put(key: string, value: { jwt: string; refreshAtMs: number }, nowMs: number): boolean {
    this.remove(key);
    const chars = key.length + value.jwt.length;
    if (this.entries.size >= this.maxEntries || this.chars + chars > this.maxChars) this.dropDue(nowMs);
    if (this.entries.size >= this.maxEntries || this.chars + chars > this.maxChars) return false;
    this.entries.set(key, { ...value, chars });
    this.chars += chars;
    return true;
  }

  private remove(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.chars -= old.chars;
  }

  private dropDue(nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.refreshAtMs > nowMs) return;
      this.entries.delete(key);
      this.chars -= entry.chars;
    }
  }
}
