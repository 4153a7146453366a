import type { OidcSettings } from '../../config/oidc-settings.js';
import { githubKind } from './github.js';
import type { ProviderKind } from './kind.js';
import { oidcKind } from './oidc.js';

export type { ProviderKind } from './kind.js';

/**
 * The kinds of provider with an identity API of their own, by preset name. Every other provider
 * (google, okta, facebook, a name of one's own) is OpenID Connect or plain OAuth 2.0 with userinfo.
 */
const KINDS: Readonly<Record<string, ProviderKind>> = {
  github: githubKind,
};

export function providerKind(settings: OidcSettings): ProviderKind {
  return (settings.preset !== undefined ? KINDS[settings.preset] : undefined) ?? oidcKind;
}
