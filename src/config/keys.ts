/**
 * The catalogue of configuration keys. Everything that names a key (validation, `check`, the
 * ConfigMap writer, "did you mean") reads it from here so the list exists once.
 */
export interface KeySpec {
  readonly description: string;
  /** Secret values never appear in logs, summaries or ConfigMaps written with a Secret. */
  readonly secret?: boolean;
  readonly allowed?: readonly string[];
}

/** Keys that live directly under `security:`. */
export const SECURITY_KEYS = {
  systemToken: { description: 'static API token, sent as "Authorization: Bearer <token>" or raw', secret: true },
  jwtSecret: { description: 'base64 HMAC key for session JWTs (at least 32 decoded bytes)', secret: true },
  allowedOrigins: { description: 'comma-separated origins allowed to call cross-origin; "*" for any' },
  publicPaths: { description: 'comma-separated path globs that need no credentials' },
  publicUrl: { description: 'external scheme and host, e.g. https://airy.example.com (pins login redirects)' },
} as const satisfies Record<string, KeySpec>;

/** Keys of the OIDC login. Accepted under `security.oidc:` and, as the seed page lists them, directly under `security:`. */
export const OIDC_KEYS = {
  allowedEmailPatterns: { description: 'comma-separated email globs allowed to log in, e.g. "*@example.com"' },
  provider: { description: 'preset (github, google, facebook, okta) or your provider name' },
  clientId: { description: 'OAuth client id' },
  clientSecret: { description: 'OAuth client secret', secret: true },
  logoutSuccessUrl: { description: 'where /logout redirects (default "/")' },
  loginSuccessUrl: { description: 'where a login without rd= lands (default "/")' },
  sessionTtl: { description: 'session lifetime, e.g. 30d, 12h, 90m (default 30d)' },
  scope: { description: 'comma-separated scopes; must include "openid" for a generic provider' },
  clientAuthenticationMethod: { description: 'how the client authenticates at the token endpoint', allowed: ['basic', 'post', 'none'] },
  authorizationGrantType: {
    description: 'OAuth grant; only authorization_code logs a person in',
    allowed: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials', 'password'],
  },
  authorizationUri: { description: 'authorization endpoint (overrides discovery or preset)' },
  tokenUri: { description: 'token endpoint (overrides discovery or preset)' },
  userInfoUri: { description: 'userinfo endpoint (overrides discovery or preset)' },
  userInfoAuthenticationMethod: { description: 'how the access token is sent to userinfo', allowed: ['header', 'form', 'query'] },
  userNameAttributeName: { description: 'claim that identifies the user (default "sub", github "id")' },
  issuerUri: { description: 'issuer for OpenID discovery' },
  jwkSetUri: { description: 'JWKS for ID token signatures when there is no discovery' },
} as const satisfies Record<string, KeySpec>;

export type SecurityKey = keyof typeof SECURITY_KEYS;
export type OidcKey = keyof typeof OIDC_KEYS;
export type SettingKey = SecurityKey | OidcKey;

export const ALL_KEYS: readonly SettingKey[] = [...(Object.keys(SECURITY_KEYS) as SecurityKey[]), ...(Object.keys(OIDC_KEYS) as OidcKey[])];

export function isOidcKey(name: string): name is OidcKey {
  return Object.hasOwn(OIDC_KEYS, name);
}
export function isSecurityKey(name: string): name is SecurityKey {
  return Object.hasOwn(SECURITY_KEYS, name);
}
export function isSecretKey(name: SettingKey): boolean {
  const spec: KeySpec = isOidcKey(name) ? OIDC_KEYS[name] : SECURITY_KEYS[name];
  return spec.secret === true;
}

/** The closest known key to a misspelt one, or undefined when nothing is close. */
export function suggestKey(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 4));
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
