/**
 * Provider presets, as Airy Core (Spring Security's CommonOAuth2Provider) had them. Explicit URI
 * keys in the config override these, which is how GitHub Enterprise is configured.
 */
export type Protocol = 'oidc' | 'oauth2';
export type ClientAuth = 'basic' | 'post' | 'none';
export type UserInfoAuth = 'header' | 'form' | 'query';

export interface Preset {
  /** The provider's proper name, for the sign-in button. */
  readonly displayName: string;
  /**
   * Anyone can make an account here, so `allowedEmailPatterns: "*"` admits the world (`check
   * --strict` says so): how to narrow it beyond email addresses.
   */
  readonly openSignup?: string;
  readonly protocol: Protocol;
  readonly scopes: readonly string[];
  readonly userNameAttribute: string;
  readonly clientAuth: ClientAuth;
  readonly authorizationUri?: string;
  readonly tokenUri?: string;
  readonly userInfoUri?: string;
  readonly issuerUri?: string;
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  github: {
    displayName: 'GitHub',
    openSignup: 'require an org with allowedGroups',
    protocol: 'oauth2',
    scopes: ['read:user', 'user:email'],
    userNameAttribute: 'id',
    clientAuth: 'basic',
    authorizationUri: 'https://github.com/login/oauth/authorize',
    tokenUri: 'https://github.com/login/oauth/access_token',
    userInfoUri: 'https://api.github.com/user',
  },
  google: {
    displayName: 'Google',
    protocol: 'oidc',
    scopes: ['openid', 'profile', 'email'],
    userNameAttribute: 'sub',
    clientAuth: 'basic',
    issuerUri: 'https://accounts.google.com',
  },
  facebook: {
    displayName: 'Facebook',
    protocol: 'oauth2',
    scopes: ['public_profile', 'email'],
    userNameAttribute: 'id',
    clientAuth: 'post',
    authorizationUri: 'https://www.facebook.com/v2.8/dialog/oauth',
    tokenUri: 'https://graph.facebook.com/v2.8/oauth/access_token',
    userInfoUri: 'https://graph.facebook.com/me?fields=id,name,email',
  },
  okta: {
    displayName: 'Okta',
    protocol: 'oidc',
    scopes: ['openid', 'profile', 'email'],
    userNameAttribute: 'sub',
    clientAuth: 'basic',
  },
};
