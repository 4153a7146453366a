import type * as client from 'openid-client';
import type { OidcSettings } from '../../config/oidc-settings.js';
import type { LoginProvider } from '../../config/policy.js';
import type { Identity } from '../identity.js';
import type { ProviderClient } from '../provider-client.js';

/** The provider's answer to a code exchange or a refresh, as openid-client returns it. */
export type TokenResponse = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/** What a kind of provider needs to say who the tokens are for. */
export interface IdentityRequest {
  readonly provider: LoginProvider;
  readonly pc: ProviderClient;
  readonly config: client.Configuration;
  readonly tokens: TokenResponse;
  /** The ID token's claims (OpenID Connect), else `{}`. */
  readonly idClaims: Readonly<Record<string, unknown>>;
}

/**
 * One kind of login provider: what is special about it, and nothing else. Discovery, the code
 * exchange and the refresh are openid-client's, configured from the provider's settings (its
 * preset's endpoints, or discovery); a kind adds the scopes it needs, the extra endpoints it calls
 * (named for the IdP metrics), and how identity and groups are read. A provider with its own
 * identity API (GitLab groups, Bitbucket) is one more module of this shape, registered in index.ts.
 */
export interface ProviderKind {
  /** For logs and tests: `oidc`, `github`. */
  readonly kind: string;
  /** The scopes asked for at login. */
  scopes(settings: OidcSettings): readonly string[];
  /** Endpoints beyond discovery, token, userinfo, JWKS and revocation, with their metric label. */
  extraEndpoints(settings: OidcSettings): readonly (readonly [label: string, url: string])[];
  /** Who the tokens are for (email checked well formed and verified, groups when known); throws LoginError. */
  identity(request: IdentityRequest): Promise<Identity>;
}
