import { describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

/**
 * A GitHub user's groups are the names of their orgs and teams, which anyone can create: an org
 * named `staff` gives its owner the group `staff`. A group rule meant for the corp IdP's groups,
 * without `providers`, admits them.
 */
const yaml = (extra: string) => `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*"
  providers:
    corp:
      issuerUri: "https://login.example.com"
      clientId: "airy"
      clientSecret: "corp-secret-0123"
      groupsClaim: "roles"
    github:
      clientId: "gh-client"
      clientSecret: "gh-secret-0123"
${extra}`;

const warnings = (extra: string) =>
  compileAiryYaml(yaml(extra))
    .issues.filter((i) => i.severity === 'warning')
    .map((i) => `${i.path}: ${i.problem}`);

describe('red team: group names a GitHub user can choose', () => {
  it('a policy with allowedGroups and no providers is warned about', () => {
    const w = warnings('  policies:\n    internal:\n      allowedGroups: "staff"\n');
    expect(w.filter((x) => x.startsWith('security.policies.internal'))).toHaveLength(1);
    expect(w.join('\n')).toMatch(/github/);
  });

  it('the global allowedGroups with github admitted is warned about', () => {
    const w = warnings('  allowedGroups: "staff"\n');
    expect(w.filter((x) => x.startsWith('security.allowedGroups'))).toHaveLength(1);
  });

  it('no warning once the rule names its providers, or allowedProviders leaves github out of group rules', () => {
    expect(warnings('  policies:\n    internal:\n      allowedGroups: "staff"\n      providers: corp\n').join('\n')).not.toMatch(/org/);
    expect(warnings('  allowedGroups: "staff"\n  allowedProviders: corp\n').filter((x) => x.startsWith('security.allowedGroups'))).toEqual([]);
  });
});
