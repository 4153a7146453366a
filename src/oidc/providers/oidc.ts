import { groupsOf, type Identity, identityFromClaims } from '../identity.js';
import { LoginError } from '../login-error.js';
import type { ProviderKind } from './kind.js';
import { fetchUserInfo } from './resource-fetch.js';

/**
 * Any OpenID Connect provider (and a plain OAuth 2.0 one with a userinfo endpoint): the identity
 * from the ID token's claims and userinfo, the groups from the provider's groups claim.
 */
export const oidcKind: ProviderKind = {
  kind: 'oidc',
  scopes: (settings) => settings.scopes,
  extraEndpoints: () => [],
  async identity({ provider, pc, config, tokens, idClaims }): Promise<Identity> {
    const settings = provider.settings;
    const userInfoUri = pc.userInfoUri(config);
    let attrs: Record<string, unknown> = { ...idClaims };
    if (userInfoUri) {
      const userinfo = await fetchUserInfo(pc, userInfoUri, tokens.access_token);
      if (settings.protocol === 'oidc' && idClaims.sub !== undefined && userinfo.sub !== idClaims.sub)
        throw new LoginError('id_token_invalid', 'userinfo "sub" differs from the ID token\'s');
      attrs = { ...idClaims, ...userinfo };
    }
    return { ...identityFromClaims(attrs, settings), groups: groupsOf(attrs[provider.groupsClaim]) };
  },
};
