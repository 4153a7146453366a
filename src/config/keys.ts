import { PROVIDER_NAME } from '../session/claims.js';

/**
 * The catalogue of configuration keys. Everything that names a key (validation, `check`, the
 * ConfigMap writer and reader, the Helm chart's schema and ConfigMap template via
 * `npm run chart:sync`, "did you mean") reads it from here so the list exists once.
 */
export interface KeySpec {
  /** One or two sentences for the configuration reference (docs/configuration.md is generated from these). */
  readonly description: string;
  /** What applies when the key is unset, in words. */
  readonly default: string;
  /** Secret values never appear in logs, summaries or ConfigMaps written with a Secret. */
  readonly secret?: boolean;
  readonly allowed?: readonly string[];
  /**
   * How the value is written, for every writer and reader that is not the compiler (the ConfigMap
   * writer, the chart's schema and template): `string` (the default when unset), `list` (a
   * comma-separated string or a YAML list of strings), `boolean` (`true`/`false`, also as strings),
   * or `named` (a mapping of names, each a mapping of `fields`; flat form `KEY.NAME.FIELD`).
   */
  readonly type?: KeyType;
  /** For `type: named`: the fields of each entry. */
  readonly fields?: Readonly<Record<string, KeySpec>>;
  /** For `type: named`: what an entry's name may be (the chart's schema checks it too). */
  readonly names?: RegExp;
}

export type KeyType = 'string' | 'list' | 'boolean' | 'named';

/** The type of a key, with the default spelled out. */
export function keyType(spec: KeySpec): KeyType {
  return spec.type ?? 'string';
}

/** A policy name: also one path segment of `/envoy-policy/NAME` and one label of a metric, hence so narrow. */
export const POLICY_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A login provider's name (the session's `idp` claim, the callback path segment), as `oidc.provider` always was. */
export { PROVIDER_NAME } from '../session/claims.js';

/** The fields of one named policy (`security.policies.NAME`). */
export const POLICY_FIELDS = {
  allowedEmailPatterns: { description: 'Email globs of this policy.', default: 'the global rules only', type: 'list' },
  allowedGroups: { description: 'Groups of this policy; a session must be in one of them.', default: 'the global rules only', type: 'list' },
  allowedOrigins: { description: 'Origins of this policy.', default: 'the global rules only', type: 'list' },
  publicPaths: { description: 'Path globs of this policy that need no credentials.', default: 'the global rules only', type: 'list' },
  providers: {
    description: 'Login providers (names under `security.providers`, or the `security.oidc` provider) whose sessions this policy admits.',
    default: 'the global rules only',
    type: 'list',
  },
  allowSystemToken: {
    description: 'Admit the shared systemToken although this policy names people (emails, groups or providers).',
    default: 'false',
    type: 'boolean',
  },
} as const satisfies Record<string, KeySpec>;

/** Keys that live directly under `security:`. */
export const SECURITY_KEYS = {
  systemToken: {
    description:
      'Static API token, accepted as `Authorization: Bearer <token>` and as the raw header value (what the airy CLI sends). ' +
      'Compared in constant time; at most 4096 characters. Upstreams see the user `system-token`.',
    default: 'unset',
    secret: true,
  },
  jwtSecret: {
    description:
      'Base64 key (standard or url-safe alphabet, at least 32 decoded bytes) that signs session JWTs (HS256). ' +
      'The decoded bytes are the HMAC key, as in Airy Core.',
    default: 'unset',
    secret: true,
  },
  allowedOrigins: {
    type: 'list',
    description:
      'Comma-separated origins allowed to call cross-origin: exact (`https://app.example.com`) or with a `*` label standing for one or more labels ' +
      '(`https://*.example.com`; two fixed labels must follow). `*` alone allows any origin; `null` is never allowed.',
    default: 'none',
  },
  publicPaths: {
    type: 'list',
    description:
      'Comma-separated path globs (`*` within a segment, `**` across segments) that need no credentials, such as webhooks. ' +
      'Matched against the decoded, dot-segment-resolved path, never the query.',
    default: 'none',
  },
  publicUrl: { description: '`https://host` of airy-auth as browsers see it; pins the login redirect URI.', default: 'from the request' },
  allowedGroups: {
    type: 'list',
    description:
      'Comma-separated groups (IdP groups, GitHub `org` or `org:team`); a session must be in one of them. ' +
      'Airy Core tokens, which carry no groups, are refused.',
    default: 'none (no group rule)',
  },
  policies: {
    type: 'named',
    description:
      'Named per-app policies: `NAME: {allowedEmailPatterns, allowedGroups, allowedOrigins, publicPaths, providers, allowSystemToken}`. ' +
      'A policy narrows the global rules, never widens them; select one with `?policy=NAME` on the auth URL ' +
      '(or `/envoy-policy/NAME`, `/gateway-api-policy/NAME`). ' +
      'In a ConfigMap: keys `policies.NAME.KEY`. A route whose policy or auth URL names people (emails, domains, groups, providers) refuses the ' +
      'systemToken unless its policy sets `allowSystemToken: true`.',
    default: 'none',
    fields: POLICY_FIELDS,
  },
  providers: {
    type: 'named',
    description:
      'Several login providers at once: `NAME: {KEY: value}` with the keys of `security.oidc` (but `provider`, whose place the name takes, ' +
      'and the global loginSuccessUrl, logoutSuccessUrl, sessionTtl) plus `displayName`. A preset name (github, google, facebook, okta) ' +
      'selects that preset; the callback is `/login/oauth2/code/NAME`. allowedEmailPatterns, groupsClaim and sessionRecheck default to the ' +
      'global keys. In a ConfigMap: keys `providers.NAME.KEY`, the client secret in the Secret as `providers.NAME.clientSecret`. ' +
      'Not together with `security.oidc`.',
    default: 'none',
    names: PROVIDER_NAME,
    // A getter: the fields are the OIDC keys, which are declared below.
    get fields(): Readonly<Record<string, KeySpec>> {
      return PROVIDER_FIELDS;
    },
  },
  allowedProviders: {
    type: 'list',
    description: 'Comma-separated login providers whose sessions every route admits; a session from another provider is refused (403).',
    default: 'none (every configured provider)',
  },
  cookieDomain: {
    description:
      'Domain of the session cookie, such as `.example.com`: one login for every host under it. With `publicUrl` naming one login host, ' +
      "only that host's callback is registered with the provider.",
    default: 'the host that served the login',
  },
  redirectDomains: {
    type: 'list',
    description: 'Comma-separated hosts (`app.example.com`) or `*.example.com` that a login on the login host may return to.',
    default: 'none (only the login host and allowedOrigins)',
  },
  machineTokenAudience: {
    description:
      'Accept `Authorization: Bearer` JWTs issued by the login provider (asymmetric signatures, keys from its JWKS) whose `aud` is this: ' +
      'machine tokens from the client credentials grant. With several providers, list their issuers in extraJwtIssuers instead.',
    default: 'none (machine tokens off)',
  },
  extraJwtIssuers: {
    type: 'list',
    description: 'More machine token issuers, comma-separated `ISSUER=AUDIENCE` or `ISSUER=AUDIENCE=JWKS_URI` (the JWKS is discovered otherwise).',
    default: 'none',
  },
  machineSubjectClaim: { description: 'The machine token claim that names the caller.', default: '`sub`' },
  machineEmailClaim: { description: 'The machine token claim with an email, checked against the email rules when present.', default: '`email`' },
  sessionsNotBefore: {
    description:
      'Revokes every session issued before this time (RFC 3339, such as `2026-11-29T10:00:00Z`), without rotating jwtSecret; applied on the next request.',
    default: 'none',
  },
  revokedSubjects: { type: 'list', description: 'Comma-separated session subjects (user ids) that are refused, whatever their session says.', default: 'none' },
  revokedEmails: { type: 'list', description: 'Comma-separated emails whose sessions are refused, and who cannot log in again.', default: 'none' },
  skipPreflight: {
    type: 'boolean',
    description:
      'Allow CORS preflights without credentials: an `OPTIONS` request with `Access-Control-Request-Method` whose Origin is in allowedOrigins. ' +
      'For gateways that, unlike ingress-nginx with `enable-cors`, send preflights to auth.',
    default: '`false`',
    allowed: ['true', 'false'],
  },
} as const satisfies Record<string, KeySpec>;

/** Keys of the OIDC login. Accepted under `security.oidc:` and, as the seed page lists them, directly under `security:`. */
export const OIDC_KEYS = {
  allowedEmailPatterns: {
    type: 'list',
    description:
      'Comma-separated email globs allowed to log in (`*@example.com`), case-insensitive. `*` allows every verified email. ' +
      'Re-checked on every request: removing a pattern locks its users out at once.',
    default: 'none; required with OIDC',
  },
  provider: {
    description: '`github`, `google`, `facebook`, `okta`, or a name of your own for any OpenID Connect provider. Setting it turns login on.',
    default: 'unset',
  },
  clientId: { description: 'The OAuth client id.', default: 'unset' },
  clientSecret: { description: 'The OAuth client secret; may be left out only with `clientAuthenticationMethod: none`.', default: 'unset', secret: true },
  logoutSuccessUrl: {
    description:
      'Where `/logout` without `rd=` lands: a path, or a URL on an allowed origin or `redirectDomains` host. ' +
      'On a login host, `/` means the first `redirectDomains` host, or a "signed out" page.',
    default: '`/`',
  },
  loginSuccessUrl: {
    description:
      'Where a login without `rd=` lands: a path, or a URL on an allowed origin or `redirectDomains` host. ' +
      'On a login host, `/` means the first `redirectDomains` host, or a "signed in" page.',
    default: '`/`',
  },
  sessionTtl: { description: 'Session lifetime, such as `30d`, `12h`, `90m`.', default: '`30d`' },
  sessionRecheck: {
    description:
      'After this long (`1h`, `15m`), a session is re-checked with the provider: the next page load goes through /login, which renews it ' +
      'with the refresh token (no user interaction) or ends it when the provider refuses.',
    default: 'off',
  },
  scope: {
    type: 'list',
    description: 'Comma-separated scopes; a generic provider must include `openid`.',
    default: "the preset's, else `openid,email,profile`",
  },
  clientAuthenticationMethod: {
    description: 'How the client authenticates at the token endpoint (`none`: PKCE only).',
    default: '`basic` (facebook: `post`)',
    allowed: ['basic', 'post', 'none'],
  },
  authorizationGrantType: {
    description: 'The OAuth grant; only `authorization_code` logs a person in, and `check` explains why the others cannot.',
    default: '`authorization_code`',
    allowed: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials', 'password'],
  },
  authorizationUri: {
    description: 'Authorization endpoint; overrides discovery and the preset (GitHub Enterprise: set the three URIs).',
    default: 'discovery or preset',
  },
  tokenUri: { description: 'Token endpoint; overrides discovery and the preset.', default: 'discovery or preset' },
  userInfoUri: { description: 'Userinfo endpoint; overrides discovery and the preset.', default: 'discovery or preset' },
  userInfoAuthenticationMethod: { description: 'How the access token is sent to userinfo.', default: '`header`', allowed: ['header', 'form', 'query'] },
  userNameAttributeName: { description: "The claim that identifies the user; it becomes the session's `sub`.", default: '`sub` (github, facebook: `id`)' },
  issuerUri: {
    description: "Issuer for discovery and for the ID token's `iss` check; required for generic providers and okta.",
    default: "the preset's",
  },
  jwkSetUri: { description: 'JWKS for ID token signatures when there is no discovery.', default: 'discovery' },
  groupsClaim: {
    description: "The ID token or userinfo claim with the user's groups (an array of strings; anything else is no groups).",
    default: '`groups`',
  },
} as const satisfies Record<string, KeySpec>;

/** OIDC keys that stay global with several providers: where a login lands, and how long its session lives. */
export const GLOBAL_LOGIN_KEYS = ['provider', 'loginSuccessUrl', 'logoutSuccessUrl', 'sessionTtl'] as const;

/** The fields of one provider (`security.providers.NAME`): the OIDC keys that describe one provider, and its display name. */
export const PROVIDER_FIELDS: Readonly<Record<string, KeySpec>> = {
  displayName: { description: 'The name on the sign-in button ("Sign in with NAME").', default: "the preset's proper name (GitHub), else the provider's name" },
  ...Object.fromEntries(Object.entries(OIDC_KEYS).filter(([k]) => !(GLOBAL_LOGIN_KEYS as readonly string[]).includes(k))),
};

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
export function keySpec(name: SettingKey): KeySpec {
  return isOidcKey(name) ? OIDC_KEYS[name] : SECURITY_KEYS[name];
}
export function isSecretKey(name: SettingKey): boolean {
  return keySpec(name).secret === true;
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
