import type { IssueList } from './issues.js';
import { isOidcKey, OIDC_KEYS, type OidcKey, PROVIDER_NAME, suggestKey } from './keys.js';
import { type ClientAuth, PRESETS, type Protocol, type UserInfoAuth } from './presets.js';
import type { Settings } from './settings.js';
import { listValue, stringValue } from './values.js';

/** The compiled login settings: a preset merged with explicit keys, validated. */
export interface OidcSettings {
  readonly provider: string;
  readonly preset: string | undefined;
  readonly protocol: Protocol;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly scopes: readonly string[];
  readonly clientAuth: ClientAuth;
  readonly userInfoAuth: UserInfoAuth;
  readonly userNameAttribute: string;
  readonly authorizationUri: string | undefined;
  readonly tokenUri: string | undefined;
  readonly userInfoUri: string | undefined;
  readonly issuerUri: string | undefined;
  readonly jwkSetUri: string | undefined;
  /**
   * Some rule of the configuration names a group. A provider whose groups cost an extra API call
   * and scope (GitHub's orgs and teams under `read:org`) reads them only then.
   */
  readonly groupRules: boolean;
}

const CLIENT_AUTH_ALIASES: Record<string, ClientAuth> = {
  basic: 'basic',
  client_secret_basic: 'basic',
  post: 'post',
  client_secret_post: 'post',
  none: 'none',
};

/** True when the config asks for a login at all (any identifying OIDC key is set). */
export function oidcRequested(settings: Settings): boolean {
  return (['provider', 'clientId', 'clientSecret', 'issuerUri', 'authorizationUri'] as const).some((k) => {
    const v = settings.get(k)?.value;
    return typeof v === 'string' ? v.trim() !== '' : v !== undefined && v !== null;
  });
}

/**
 * Where a key is, or would be written: its own path, else beside the OIDC keys that are set (so
 * a missing key of a `security.oidc:` block is reported as `security.oidc.KEY`).
 */
function pathOf(settings: Settings, key: OidcKey): string {
  const own = settings.get(key)?.path;
  if (own !== undefined) return own;
  for (const [other, raw] of settings) {
    if (isOidcKey(other) && raw.path.endsWith(other)) return `${raw.path.slice(0, -other.length)}${key}`;
  }
  return `security.${key}`;
}

export function compileOidc(settings: Settings, issues: IssueList): OidcSettings | undefined {
  const str = (k: OidcKey) => stringValue(settings.get(k), issues);
  const provider = str('provider');
  if (provider === undefined) {
    if (isBlank(settings, 'provider'))
      issues.error(pathOf(settings, 'provider'), 'is required when other OIDC keys are set', {
        allowed: `${Object.keys(PRESETS).join(', ')}, or a name of your own for any OpenID Connect provider`,
      });
    return undefined;
  }
  if (!PROVIDER_NAME.test(provider)) {
    issues.error(pathOf(settings, 'provider'), `"${provider}" cannot be used in the callback path /login/oauth2/code/{provider}`, {
      allowed: 'letters, digits, "-" and "_"',
    });
  }
  const presetName = Object.hasOwn(PRESETS, provider.toLowerCase()) ? provider.toLowerCase() : undefined;
  const preset = presetName ? PRESETS[presetName] : undefined;
  // A provider of one's own needs an issuer; without one, a name close to a preset is a typo.
  const typo = preset || !isBlank(settings, 'issuerUri') || !isBlank(settings, 'authorizationUri') ? undefined : suggestKey(provider, Object.keys(PRESETS));
  if (typo !== undefined) {
    issues.error(pathOf(settings, 'provider'), `"${provider}" is not a preset, and no issuerUri is set for a provider of your own`, {
      allowed: Object.keys(PRESETS).join(', '),
      fix: `did you mean "${typo}"?`,
    });
    return undefined;
  }
  const protocol: Protocol = preset?.protocol ?? 'oidc';

  const clientId = str('clientId');
  if (clientId === undefined && isBlank(settings, 'clientId'))
    issues.error(pathOf(settings, 'clientId'), 'is required for a login', { fix: "copy the client id from your provider's app settings" });

  const clientAuth = enumSetting(settings, 'clientAuthenticationMethod', CLIENT_AUTH_ALIASES, preset?.clientAuth ?? 'basic', issues);
  const userInfoAuth = enumSetting(settings, 'userInfoAuthenticationMethod', { header: 'header', form: 'form', query: 'query' }, 'header', issues);
  const clientSecret = str('clientSecret');
  if (clientSecret === undefined && isBlank(settings, 'clientSecret') && clientAuth !== 'none') {
    issues.error(pathOf(settings, 'clientSecret'), `is required with clientAuthenticationMethod "${clientAuth}"`, {
      fix: 'set the client secret, or clientAuthenticationMethod: "none" for a public client (PKCE only)',
    });
  }

  const grant = str('authorizationGrantType');
  if (grant !== undefined && grant !== 'authorization_code') {
    const allowed = OIDC_KEYS.authorizationGrantType.allowed.join(', ');
    const why: Record<string, string> = {
      implicit: 'implicit puts tokens in the browser URL and is deprecated (OAuth 2.0 Security BCP); airy-auth uses the code flow with PKCE',
      refresh_token: 'refresh_token renews a login that already happened; it cannot start one',
      client_credentials: 'client_credentials authenticates a machine, not a person; give machines the systemToken or a token from `airy-auth token`',
      password: "password sends the user's password through airy-auth and is deprecated; it cannot do multi-factor login",
    };
    issues.error(pathOf(settings, 'authorizationGrantType'), `"${grant}" cannot log a person in: ${why[grant] ?? 'unknown grant type'}`, {
      allowed,
      fix: 'set authorizationGrantType: "authorization_code" or remove the key',
    });
  }

  const explicitScopes = listValue(settings.get('scope'), issues);
  const scopes = explicitScopes.length > 0 ? explicitScopes : [...(preset?.scopes ?? ['openid', 'email', 'profile'])];
  if (protocol === 'oidc' && !scopes.includes('openid')) {
    issues.error(pathOf(settings, 'scope'), `"${scopes.join(',')}" does not include "openid", so the provider returns no ID token`, {
      fix: `write "openid,${scopes.join(',')}"`,
    });
  }
  if (protocol === 'oidc' && !scopes.includes('email')) {
    issues.warn(pathOf(settings, 'scope'), 'does not include "email"; many providers then return no email and every login is refused', {
      fix: `add "email": "${scopes.join(',')},email"`,
    });
  }

  const uri = (k: OidcKey) => uriSetting(settings, k, issues);
  const issuerUri = uri('issuerUri') ?? preset?.issuerUri;
  const authorizationUri = uri('authorizationUri') ?? preset?.authorizationUri;
  const tokenUri = uri('tokenUri') ?? preset?.tokenUri;
  const userInfoUri = uri('userInfoUri') ?? preset?.userInfoUri;
  const jwkSetUri = uri('jwkSetUri');
  uriSetting(settings, 'logoutSuccessUrl', issues, true);
  uriSetting(settings, 'loginSuccessUrl', issues, true);

  if (protocol === 'oidc' && issuerUri === undefined && isBlank(settings, 'issuerUri')) {
    issues.error(
      pathOf(settings, 'issuerUri'),
      `is required for ${preset ? `the ${presetName} preset` : 'an OpenID Connect provider'}: it is used for discovery and to check the ID token's "iss"`,
      {
        fix: 'set it to the issuer URL your provider documents (https://..., without /.well-known/openid-configuration)',
      },
    );
  }
  if (protocol === 'oauth2' && (authorizationUri === undefined || tokenUri === undefined || userInfoUri === undefined)) {
    issues.error(pathOf(settings, 'provider'), 'needs authorizationUri, tokenUri and userInfoUri');
  }
  const userNameAttribute = str('userNameAttributeName') ?? preset?.userNameAttribute ?? 'sub';

  if (clientId === undefined) return undefined;
  return {
    provider,
    preset: presetName,
    protocol,
    clientId,
    clientSecret,
    scopes,
    clientAuth,
    userInfoAuth,
    userNameAttribute,
    authorizationUri,
    tokenUri,
    userInfoUri,
    issuerUri,
    jwkSetUri,
    groupRules: false,
  };
}

/** Unset or empty, as opposed to set to something of the wrong type (which is reported on its own). */
function isBlank(settings: Settings, key: OidcKey): boolean {
  const v = settings.get(key)?.value;
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function enumSetting<T extends string>(settings: Settings, key: OidcKey, values: Record<string, T>, fallback: T, issues: IssueList): T {
  const text = stringValue(settings.get(key), issues);
  if (text === undefined) return fallback;
  const v = values[text.toLowerCase()];
  if (v === undefined) {
    issues.error(pathOf(settings, key), `"${text}" is not one of the allowed values`, { allowed: [...new Set(Object.values(values))].join(', ') });
    return fallback;
  }
  return v;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');
}

/**
 * An absolute https URL (http only on loopback, for development). With `relativeOk`, a path that
 * starts with a single "/" is accepted too (for the post-login and post-logout targets).
 */
function uriSetting(settings: Settings, key: OidcKey, issues: IssueList, relativeOk = false): string | undefined {
  const text = stringValue(settings.get(key), issues);
  if (text === undefined) return undefined;
  if (relativeOk && text.startsWith('/') && !text.startsWith('//') && !text.includes('\\')) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    issues.error(pathOf(settings, key), `"${text}" is not an absolute URL`, {
      allowed: relativeOk ? 'a path such as /home, or https://host/path' : 'https://host/path',
    });
    return undefined;
  }
  // Browser redirect targets may be plain http (the origin check applies at run time); the
  // provider's endpoints, which carry secrets, must be https outside loopback.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (relativeOk || isLoopback(url.hostname)))) {
    issues.error(pathOf(settings, key), `"${text}" must use https (plain http is accepted only on localhost)`);
    return undefined;
  }
  if (url.username || url.password) {
    issues.error(pathOf(settings, key), 'must not contain credentials', { fix: 'use clientId and clientSecret instead' });
    return undefined;
  }
  return text;
}
