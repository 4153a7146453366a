import { compileAiryYaml } from '../../src/config/load.js';
import type { Policy } from '../../src/config/policy.js';
import { securityYaml } from './policies.js';

export interface ProviderSpec {
  /** `github` is the GitHub preset; any other name is a generic OpenID Connect provider. */
  readonly name: string;
  readonly displayName?: string;
  /** allowedEmailPatterns of this provider. */
  readonly emails?: string;
  /** sessionRecheck of this provider, as the config writes it (`1h`). */
  readonly sessionRecheck?: string;
}

/**
 * A compiled config of `fields` with login providers under `security.providers`, `allowedProviders`,
 * and named policies (name → the rules of its inline mapping), of which those in `ruleProviders`
 * also name providers. Fails the test loudly when the config is invalid.
 */
export function policyWithProviders(
  fields: Record<string, string | undefined>,
  policies: Readonly<Record<string, string>>,
  specs: readonly ProviderSpec[],
  options: { readonly allowed?: readonly string[]; readonly ruleProviders?: Readonly<Record<string, readonly string[]>> } = {},
): Policy {
  const lines = ['  providers:'];
  for (const p of specs) {
    lines.push(`    ${p.name}:`);
    if (p.name !== 'github') lines.push(`      issuerUri: "https://${p.name}.example.com"`);
    lines.push(`      clientId: "${p.name}-client"`, `      clientSecret: "${p.name}-secret-0123456789"`);
    if (p.displayName !== undefined) lines.push(`      displayName: ${JSON.stringify(p.displayName)}`);
    if (p.emails !== undefined) lines.push(`      allowedEmailPatterns: ${JSON.stringify(p.emails)}`);
    if (p.sessionRecheck !== undefined) lines.push(`      sessionRecheck: ${JSON.stringify(p.sessionRecheck)}`);
  }
  if (options.allowed !== undefined) lines.push(`  allowedProviders: ${JSON.stringify(options.allowed.join(','))}`);
  const named = Object.entries(policies);
  if (named.length > 0) lines.push('  policies:');
  for (const [name, rules] of named) {
    const providers = options.ruleProviders?.[name];
    lines.push(`    ${name}: {${rules}${providers === undefined ? '' : `, providers: ${JSON.stringify(providers.join(','))}`}}`);
  }
  const result = compileAiryYaml(`${securityYaml(fields)}${lines.join('\n')}\n`);
  if (!result.policy) throw new Error(`test config invalid: ${JSON.stringify(result.issues)}`);
  return result.policy;
}
