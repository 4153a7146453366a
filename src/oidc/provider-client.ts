import * as client from 'openid-client';
import type { OidcSettings } from '../config/oidc-settings.js';
import type { Metrics } from '../metrics/metrics.js';
import { createIdpFetch, type IdpFetch } from './idp-fetch.js';
import { LoginError } from './login-error.js';
import { providerKind } from './providers/index.js';

/** An openid-client Configuration for one provider, plus the fetch that goes with it. */
export interface ProviderClient {
  readonly settings: OidcSettings;
  readonly fetch: IdpFetch;
  configuration(): Promise<client.Configuration>;
  userInfoUri(config: client.Configuration): string | undefined;
}

export interface ProviderClientOptions {
  readonly metrics: Metrics;
  readonly timeoutMs?: number;
}

/** Config validation allows plain http only on loopback (development); openid-client must be told. */
function usesHttp(s: OidcSettings): boolean {
  return [s.issuerUri, s.authorizationUri, s.tokenUri, s.userInfoUri, s.jwkSetUri].some((u) => u?.startsWith('http:'));
}

function clientAuth(settings: OidcSettings): client.ClientAuth {
  switch (settings.clientAuth) {
    case 'post':
      return client.ClientSecretPost(settings.clientSecret);
    case 'none':
      return client.None();
    default:
      return client.ClientSecretBasic(settings.clientSecret);
  }
}

/** Discovery is skipped when every endpoint is given; explicit keys override what discovery says. */
function explicitMetadata(s: OidcSettings): Partial<client.ServerMetadata> {
  const m: { -readonly [K in keyof client.ServerMetadata]?: client.ServerMetadata[K] } = {};
  if (s.authorizationUri) m.authorization_endpoint = s.authorizationUri;
  if (s.tokenUri) m.token_endpoint = s.tokenUri;
  if (s.userInfoUri) m.userinfo_endpoint = s.userInfoUri;
  if (s.jwkSetUri) m.jwks_uri = s.jwkSetUri;
  return m;
}

/**
 * A client for one provider's settings: its discovery (or the preset's endpoints), the fetch that
 * labels its calls for the IdP metrics, and nothing cached across settings (provider-clients.ts
 * keeps clients across reloads). A failed discovery is not cached: the next login tries again.
 */
export function createProviderClient(settings: OidcSettings, options: ProviderClientOptions): ProviderClient {
  const urls = new Map<string, string>();
  const labelOf = (url: string) => urls.get(url.split('?', 1)[0]!) ?? (url.includes('/.well-known/') ? 'discovery' : 'other');
  const fetch = createIdpFetch(settings.provider, options.metrics, labelOf, options.timeoutMs);
  let pending: Promise<client.Configuration> | undefined;

  const build = async (): Promise<client.Configuration> => {
    const explicit = explicitMetadata(settings);
    const execute = usesHttp(settings) ? [client.allowInsecureRequests] : [];
    let config: client.Configuration;
    const complete = explicit.authorization_endpoint && explicit.token_endpoint && (settings.protocol === 'oauth2' || explicit.jwks_uri);
    if (settings.protocol === 'oidc' && settings.issuerUri && !complete) {
      const discovered = await client.discovery(new URL(settings.issuerUri), settings.clientId, undefined, clientAuth(settings), {
        [client.customFetch]: fetch as client.CustomFetch,
        execute,
        timeout: Math.ceil((options.timeoutMs ?? 10_000) / 1000),
      });
      config = new client.Configuration({ ...discovered.serverMetadata(), ...explicit }, settings.clientId, undefined, clientAuth(settings));
    } else {
      const issuer = settings.issuerUri ?? new URL(settings.authorizationUri!).origin;
      config = new client.Configuration({ issuer, ...explicit }, settings.clientId, undefined, clientAuth(settings));
    }
    config[client.customFetch] = fetch as client.CustomFetch;
    config.timeout = Math.ceil((options.timeoutMs ?? 10_000) / 1000);
    for (const f of execute) f(config);
    // The ID token arrives over TLS from the token endpoint, where OpenID Connect lets clients
    // skip its signature; airy-auth checks it anyway (JWKS by discovery or jwkSetUri).
    if (settings.protocol === 'oidc') client.enableNonRepudiationChecks(config);
    const md = config.serverMetadata();
    for (const [label, url] of [
      ['token', md.token_endpoint],
      ['userinfo', md.userinfo_endpoint],
      ['jwks', md.jwks_uri],
      ['revocation', md.revocation_endpoint],
      ...providerKind(settings).extraEndpoints(settings),
    ] as const) {
      if (url) urls.set(url.split('?', 1)[0]!, label);
    }
    return config;
  };

  const pc: ProviderClient = {
    settings,
    fetch,
    configuration() {
      pending ??= build().catch((err: unknown) => {
        pending = undefined;
        throw new LoginError('idp_unreachable', `discovery at ${settings.issuerUri} failed: ${describeError(err)}`, undefined, { cause: err });
      });
      return pending;
    },
    userInfoUri(config) {
      return config.serverMetadata().userinfo_endpoint;
    },
  };
  return pc;
}

/** A short, secret-free description of an IdP failure, for the 502 page and the log. */
export function describeError(err: unknown): string {
  if (err instanceof client.ResponseBodyError)
    return `the provider answered ${err.status} ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    return `${err.message}${causeText}`.slice(0, 300);
  }
  return 'unknown error';
}
