import { compileAiryYaml } from '../../src/config/load.js';
import type { Policy } from '../../src/config/policy.js';

/** A secret of 48 bytes, base64: what `openssl rand -base64 48` would give. */
export const TEST_JWT_SECRET = Buffer.from('test-jwt-secret-0123456789abcdef-0123456789abcd').toString('base64');
export const TEST_SYSTEM_TOKEN = 'test-system-token-5f0c2a9e4b7d';

export function securityYaml(fields: Record<string, string | undefined>): string {
  const lines = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return `security:\n${lines.join('\n')}\n`;
}

/** An `oidc:` block for `securityYaml`'s output: the test provider's issuer, client `airy` and its secret. */
export function oidcYaml(provider: string, issuerUri: string): string {
  return `  oidc:\n    provider: ${provider}\n    issuerUri: "${issuerUri}"\n    clientId: airy\n    clientSecret: airy-secret-0123456789\n`;
}

/** Compiles a config that must be valid; fails the test loudly otherwise. */
export function policyOf(fields: Record<string, string | undefined>): Policy {
  const result = compileAiryYaml(securityYaml(fields));
  if (!result.policy) throw new Error(`test config invalid: ${JSON.stringify(result.issues)}`);
  return result.policy;
}

export const PROTECTED = {
  systemToken: TEST_SYSTEM_TOKEN,
  jwtSecret: TEST_JWT_SECRET,
  allowedOrigins: 'https://app.example.com,https://*.example.org',
  allowedEmailPatterns: '*@example.com,boss@partner.io',
  publicPaths: '/webhooks/**,/healthz',
};
