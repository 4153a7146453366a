import type { Policy } from './policy.js';

/** One paragraph for `check`: what this config will do, in words, without any secret. */
export function summarize(policy: Policy): string {
  const parts: string[] = [];
  if (!policy.enabled) {
    parts.push(`Authentication is OFF because ${policy.disabledBecause}: every request will be allowed.`);
  } else {
    const how = [
      policy.systemToken && policy.sessionKey ? 'the systemToken' : undefined,
      policy.sessionKey ? 'Airy session JWTs (header or airy_auth_token cookie)' : undefined,
      policy.providers.size > 0 ? `OIDC login via ${[...policy.providers.keys()].join(' or ')}` : undefined,
    ].filter(Boolean);
    parts.push(`Authentication is ON: requests need ${how.join(', or ')}.`);
  }
  parts.push(
    policy.origins.any
      ? 'Cross-origin requests are allowed from any origin.'
      : policy.origins.patterns.length > 0
        ? `Cross-origin requests are allowed from ${policy.origins.patterns.join(', ')}.`
        : 'Cross-origin requests are refused (allowedOrigins is empty).',
  );
  if (policy.providers.size > 0) {
    const hours = Math.round(policy.sessionTtlSeconds / 3600);
    for (const { settings, name } of policy.providers.values()) {
      const { protocol, scopes } = settings;
      parts.push(
        `Login: ${name} (${protocol === 'oidc' ? 'OpenID Connect' : 'OAuth 2.0'}, scopes ${scopes.join(' ')}), callback path /login/oauth2/code/${name}` +
          (policy.providers.size > 1 ? '.' : `, sessions last ${hours} h.`),
      );
    }
    if (policy.providers.size > 1) parts.push(`Sessions last ${hours} h; /login lets the person choose a provider.`);
    if (policy.allowedProviders !== undefined) parts.push(`Only sessions from ${[...policy.allowedProviders].join(' or ')} are admitted.`);
  } else {
    parts.push('OIDC login is not configured.');
  }
  if (policy.emails) parts.push(`Emails allowed: ${policy.emails.patterns.join(', ')}.`);
  if (policy.publicPaths.patterns.length > 0) parts.push(`Public paths (no credentials): ${policy.publicPaths.patterns.join(', ')}.`);
  return parts.join(' ');
}
