import { compileEmails } from '../../src/config/emails.js';
import { IssueList } from '../../src/config/issues.js';
import { compileAiryYaml } from '../../src/config/load.js';
import type { LoginProvider, Policy } from '../../src/config/policy.js';
import type { RouteRule } from '../../src/config/route-rules.js';
import { oidcYaml, securityYaml, TEST_JWT_SECRET } from './policies.js';

export interface ProviderSpec {
  readonly name: string;
  readonly displayName?: string;
  /** allowedEmailPatterns of this provider. */
  readonly emails?: string;
  readonly sessionRecheckSeconds?: number;
}

const oidcSettings = compileAiryYaml(
  `${securityYaml({ jwtSecret: TEST_JWT_SECRET, allowedEmailPatterns: '*@example.com' })}${oidcYaml('keycloak', 'https://login.example.com')}`,
).policy!.oidc!;

/**
 * `policy` with login providers, `allowedProviders`, and providers on named policies (which then
 * no longer admit the system token, as a policy that names providers does not). Built by hand
 * from a compiled policy, so the decision can be tested apart from how the config is read.
 */
export function withProviders(
  policy: Policy,
  specs: readonly ProviderSpec[],
  options: { readonly allowed?: readonly string[]; readonly ruleProviders?: Readonly<Record<string, readonly string[]>> } = {},
): Policy {
  const providers = new Map<string, LoginProvider>(
    specs.map((p) => [
      p.name,
      {
        name: p.name,
        displayName: p.displayName ?? p.name,
        settings: oidcSettings,
        emails: p.emails === undefined ? undefined : compileEmails(p.emails.split(','), `providers.${p.name}.allowedEmailPatterns`, new IssueList()),
        groupsClaim: 'groups',
        sessionRecheckSeconds: p.sessionRecheckSeconds,
      },
    ]),
  );
  const ruleProviders = options.ruleProviders ?? {};
  const routeRules = {
    ...policy.routeRules,
    resolve(query: string) {
      const rule = policy.routeRules.resolve(query);
      if ('problem' in rule) return rule;
      const named = ruleProviders[rule.label];
      return named === undefined ? rule : ({ ...rule, providers: new Set(named), systemTokenAllowed: false } satisfies RouteRule);
    },
  };
  return Object.freeze({ ...policy, providers, allowedProviders: options.allowed === undefined ? undefined : new Set(options.allowed), routeRules });
}
