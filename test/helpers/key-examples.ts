import yaml from 'js-yaml';
import { isOidcKey, OIDC_KEYS, type SettingKey } from '../../src/config/keys.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from './policies.js';

/**
 * Valid values for every key of the catalogue, in the shapes airy.yaml allows (strings, YAML
 * lists, booleans, mappings), each valid on top of LOGIN_BASE. Tests walk the catalogue and fail
 * for a key that has none here, so a new key cannot skip the round trips.
 */
export const KEY_EXAMPLES: Record<SettingKey, readonly unknown[]> = {
  systemToken: [TEST_SYSTEM_TOKEN, 'another-system-token-0123456789abcdef'],
  jwtSecret: [TEST_JWT_SECRET, Buffer.alloc(40, 7).toString('base64url')],
  allowedOrigins: ['https://app.example.com', ['https://a.example.com', 'https://*.example.org'], 'https://a.example.com, https://b.example.com:8443', '*'],
  publicPaths: ['/webhooks/**', ['/healthz', '/status/*'], '/a/**,/b'],
  publicUrl: ['https://auth.example.com', 'https://login.example.com/'],
  allowedGroups: ['sre', ['acme:sre', 'support'], 'a, b'],
  policies: [
    { grafana: { allowedGroups: 'acme:sre' } },
    {
      inbox: { allowedGroups: ['support'], allowedOrigins: 'https://inbox.example.com' },
      admin: { allowedEmailPatterns: 'boss@example.com,cto@example.com', publicPaths: ['/public/**'] },
    },
    { 'empty-1': {} },
    { deploy: { allowedGroups: 'acme:sre', allowSystemToken: true }, strict: { allowedEmailPatterns: '*@example.com', allowSystemToken: false } },
    { staff: { providers: 'corp' }, 'staff-ops': { providers: ['corp'], allowedGroups: 'ops', allowSystemToken: true } },
  ],
  // Every example names `corp`, the provider of LOGIN_BASE, so allowedProviders and policies' providers stay valid with it.
  providers: [
    {
      corp: { issuerUri: 'https://idp.example.com', clientId: 'airy', clientSecret: 'corp-secret-1', groupsClaim: 'roles' },
      github: { clientId: 'gh-client', clientSecret: 'gh-secret-1', allowedEmailPatterns: '*@example.com', displayName: 'GitHub (contractors)' },
    },
    {
      corp: {
        issuerUri: 'https://idp.example.com',
        clientId: 'airy',
        clientSecret: 'corp-secret-2',
        scope: ['openid', 'email', 'groups'],
        sessionRecheck: '15m',
        allowedEmailPatterns: ['*@example.com', 'boss@partner.io'],
        clientAuthenticationMethod: 'post',
        userInfoAuthenticationMethod: 'form',
        userNameAttributeName: 'preferred_username',
        jwkSetUri: 'https://idp.example.com/jwks',
        authorizationUri: 'https://idp.example.com/authorize',
        tokenUri: 'https://idp.example.com/token',
        userInfoUri: 'https://idp.example.com/userinfo',
      },
    },
    {
      corp: {
        issuerUri: 'https://idp.example.com',
        clientId: 'public-client',
        clientAuthenticationMethod: 'none',
        authorizationGrantType: 'authorization_code',
      },
      google: { clientId: 'g-client', clientSecret: 'g-secret-3' },
      'partner-okta': { issuerUri: 'https://partner.okta.com', clientId: 'p', clientSecret: 'p-secret-3', displayName: 'Partner & Co <SSO>' },
    },
  ],
  allowedProviders: ['corp', ['corp']],
  cookieDomain: ['.example.com', 'example.com'],
  redirectDomains: ['app.example.com', ['*.apps.example.com', 'app.example.com']],
  machineTokenAudience: ['my-api'],
  extraJwtIssuers: ['https://other.example.com=api', ['https://a.example.com=x=https://a.example.com/jwks', 'https://b.example.com=y']],
  machineSubjectClaim: ['client_id'],
  machineEmailClaim: ['mail'],
  sessionsNotBefore: ['2026-11-29T10:00:00Z', '2026-01-02T03:04:05+01:00'],
  revokedSubjects: ['u1,u2', ['u3']],
  revokedEmails: ['ann@example.com', ['bob@example.com', 'eve@example.com']],
  skipPreflight: [true, 'true', false, 'false'],
  allowedEmailPatterns: ['*@example.com', ['*@example.com', 'boss@partner.io']],
  provider: ['corp', 'keycloak'],
  clientId: ['airy', 'client-2'],
  clientSecret: ['csecret-123', 'another client secret'],
  logoutSuccessUrl: ['/bye', 'https://app.example.com/'],
  loginSuccessUrl: ['/welcome', 'https://app.example.com/home'],
  sessionTtl: ['12h', '30d'],
  sessionRecheck: ['1h', '15m'],
  scope: ['openid,email,profile', ['openid', 'email', 'groups']],
  clientAuthenticationMethod: ['basic', 'post', 'none'],
  authorizationGrantType: ['authorization_code'],
  authorizationUri: ['https://idp.example.com/authorize'],
  tokenUri: ['https://idp.example.com/token'],
  userInfoUri: ['https://idp.example.com/userinfo'],
  userInfoAuthenticationMethod: ['header', 'form', 'query'],
  userNameAttributeName: ['preferred_username'],
  issuerUri: ['https://idp.example.com', 'https://idp2.example.com/realms/x'],
  jwkSetUri: ['https://idp.example.com/jwks'],
  groupsClaim: ['roles'],
};

/** A login with an issuer (machine tokens need one) and both secrets: every example is valid on top of it. */
export const LOGIN_BASE: Partial<Record<SettingKey, string>> = {
  systemToken: TEST_SYSTEM_TOKEN,
  jwtSecret: TEST_JWT_SECRET,
  provider: 'corp',
  clientId: 'airy',
  clientSecret: 'csecret-base',
  issuerUri: 'https://idp.example.com',
  allowedEmailPatterns: '*@example.com',
};

/** A config as keys with their place: directly under `security:`, or under `security.oidc:`. */
export type KeyConfig = Map<SettingKey, { value: unknown; at: 'security' | 'oidc' }>;

/** The OIDC keys that configure the single provider of `security.oidc`, which `security.providers` replaces. */
const SINGLE_PROVIDER_KEYS = new Set<SettingKey>(
  (Object.keys(OIDC_KEYS) as SettingKey[]).filter(
    (k) => !['allowedEmailPatterns', 'groupsClaim', 'sessionRecheck', 'loginSuccessUrl', 'logoutSuccessUrl', 'sessionTtl'].includes(k),
  ),
);

/**
 * Sets one key of a config made from LOGIN_BASE (replacing it when set). `providers` replaces the
 * base's single provider, which may not stand beside it; once it is set, a key of the single
 * provider is left out.
 */
export function setKey(config: KeyConfig, key: SettingKey, value: unknown, at: 'security' | 'oidc'): void {
  if (key === 'providers') for (const single of SINGLE_PROVIDER_KEYS) config.delete(single);
  else if (SINGLE_PROVIDER_KEYS.has(key) && config.has('providers')) return;
  config.delete(key);
  config.set(key, { value, at });
}

/** LOGIN_BASE, with the OIDC keys under `security.oidc:`. */
export function baseConfig(): KeyConfig {
  return new Map(Object.entries(LOGIN_BASE).map(([k, v]) => [k as SettingKey, { value: v, at: isOidcKey(k) ? 'oidc' : 'security' }]));
}

/** The config as a whole airy.yaml (with a section other than security, as real ones have). */
export function configYaml(config: KeyConfig): string {
  const security: Record<string, unknown> = {};
  const oidc: Record<string, unknown> = {};
  for (const [key, { value, at }] of config) (at === 'oidc' ? oidc : security)[key] = value;
  if (Object.keys(oidc).length > 0) security.oidc = oidc;
  return yaml.dump({ kubernetes: { appImageTag: 'latest' }, security });
}
