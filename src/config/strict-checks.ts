import type { ConfigIssue } from './issues.js';
import type { Policy } from './policy.js';

/**
 * Settings that are valid, and Airy Core's defaults in places, but that a production deployment
 * should not carry: `check --strict` reports them (a running airy-auth does not, so a seed config
 * keeps loading without noise).
 */
export function strictFindings(policy: Policy): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (policy.oidc?.preset === 'github' && policy.emails?.patterns.includes('*')) {
    out.push({
      severity: 'warning',
      path: 'security.allowedEmailPatterns',
      problem: '"*" with GitHub login lets every GitHub account in: anyone can make one',
      fix: 'list your addresses or domains ("*@example.com"), or require an org with allowedGroups',
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
