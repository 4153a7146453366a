import type { ConfigIssue } from './issues.js';
import type { Policy } from './policy.js';
import { PRESETS } from './presets.js';

/**
 * Settings that are valid, and Airy Core's defaults in places, but that a production deployment
 * should not carry: `check --strict` reports them (a running airy-auth does not, so a seed config
 * keeps loading without noise).
 */
export function strictFindings(policy: Policy): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const provider of policy.providers.values()) {
    // Anyone can make an account at a public provider; only an organisation's own IdP vouches for its people.
    const narrower = provider.settings.preset === undefined ? undefined : PRESETS[provider.settings.preset]?.openSignup;
    if (narrower === undefined || !provider.emails?.patterns.includes('*')) continue;
    const own = provider.emails !== policy.emails;
    out.push({
      severity: 'warning',
      path: own ? `security.providers.${provider.name}.allowedEmailPatterns` : 'security.allowedEmailPatterns',
      problem: `"*" with ${provider.displayName} login lets every ${provider.displayName} account in: anyone can make one`,
      fix: `list your addresses or domains ("*@example.com"), or ${narrower}`,
    });
  }
  if (policy.origins.any) {
    out.push({
      severity: 'warning',
      path: 'security.allowedOrigins',
      problem: '"*" lets every web site call the API cross-origin with the browser\'s session',
      fix: 'list the origins of your own front ends, such as https://app.example.com',
    });
  }
  if (policy.publicUrl?.startsWith('http:')) {
    out.push({
      severity: 'warning',
      path: 'security.publicUrl',
      problem: `${policy.publicUrl} is plain http: the login callback and the session cookie cross the network readable`,
      fix: 'serve the login over https and write https:// here',
    });
  }
  return out;
}
