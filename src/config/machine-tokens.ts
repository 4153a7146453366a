import type { IssueList } from './issues.js';
import type { OidcSettings } from './oidc-settings.js';
import type { MachineIssuer, Policy } from './policy.js';
import { type Settings, settingPath } from './settings.js';
import { listValue, stringValue } from './values.js';

/** JWT access tokens accepted from machines: whose, and which claims name the caller. */
export interface MachineTokens {
  readonly machineIssuers: MachineIssuer[];
  readonly machineClaims: Policy['machineClaims'];
}

export function compileMachineTokens(settings: Settings, providers: readonly OidcSettings[], issues: IssueList): MachineTokens {
  const machineIssuers = compileMachineIssuers(settings, providers, issues);
  const subject = stringValue(settings.get('machineSubjectClaim'), issues) ?? 'sub';
  const email = stringValue(settings.get('machineEmailClaim'), issues) ?? 'email';
  return { machineIssuers, machineClaims: { subject, email } };
}

/** Issuers whose JWT access tokens are accepted from machines: the login provider's, and extra ones. */
function compileMachineIssuers(settings: Settings, providers: readonly OidcSettings[], issues: IssueList): MachineIssuer[] {
  const out: MachineIssuer[] = [];
  const audience = stringValue(settings.get('machineTokenAudience'), issues);
  const oidc = providers.length === 1 ? providers[0] : undefined;
  if (audience !== undefined) {
    if (providers.length > 1) {
      // Which provider's tokens is not for airy-auth to guess: each issuer is named on its own.
      issues.error(settingPath(settings, 'machineTokenAudience'), 'names the login provider whose tokens machines send, and several are configured', {
        fix: 'list each issuer whose machine tokens are accepted in extraJwtIssuers (ISSUER=AUDIENCE)',
      });
    } else if (oidc?.issuerUri === undefined) {
      issues.error(settingPath(settings, 'machineTokenAudience'), 'needs an OpenID Connect login provider with an issuer, whose tokens it accepts', {
        fix: 'configure the provider and issuerUri, or list the issuer in extraJwtIssuers',
      });
    } else out.push({ issuer: oidc.issuerUri, audience, jwksUri: oidc.jwkSetUri });
  }
  for (const entry of listValue(settings.get('extraJwtIssuers'), issues)) {
    // ISSUER=AUDIENCE[=JWKS_URI]: a configuration entry, not a query string.
    const [issuer, aud, jwksUri, ...rest] = entry.split('=');
    const urlOk = (u: string | undefined) => u !== undefined && /^https?:\/\/[^\s/]+/.test(u);
    if (!urlOk(issuer) || !aud || rest.length > 0 || (jwksUri !== undefined && !urlOk(jwksUri))) {
      issues.error(settingPath(settings, 'extraJwtIssuers'), `"${entry}" is not ISSUER=AUDIENCE[=JWKS_URI]`, { allowed: 'https://idp.example.com=my-api' });
      continue;
    }
    out.push({ issuer: issuer!, audience: aud, jwksUri });
  }
  return out;
}
