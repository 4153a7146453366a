import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/config/issues.js';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import { readAiryYaml } from '../../src/config/read-airy-yaml.js';
import { strictFindings } from '../../src/config/strict-checks.js';
import { summarize } from '../../src/config/summary.js';
import { writeFlatData } from '../../src/config/write-flat.js';
import { providerKind } from '../../src/oidc/providers/index.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { policyView } from '../helpers/policy-view.js';

const errors = (issues: readonly ConfigIssue[]) => issues.filter((i) => i.severity === 'error');

/** Employees through the company IdP, contractors through GitHub: the setup of docs/login.md. */
const TWO = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  sessionRecheck: "1h"
  providers:
    corp:
      issuerUri: "https://login.example.com"
      clientId: "airy"
      clientSecret: "corp-secret-0123"
      groupsClaim: "roles"
    github:
      clientId: "gh-client"
      clientSecret: "gh-secret-0123"
      allowedEmailPatterns: "*@contractors.example.net"
      sessionRecheck: "15m"
`;

describe('security.providers', () => {
  it('compiles each provider in config order, with its own rules or the global ones, and the preset its name selects', () => {
    const r = compileAiryYaml(TWO);
    expect(errors(r.issues)).toEqual([]);
    const policy = r.policy!;
    expect([...policy.providers.keys()]).toEqual(['corp', 'github']);
    const corp = policy.providers.get('corp')!;
    const github = policy.providers.get('github')!;
    expect(corp).toMatchObject({ name: 'corp', displayName: 'corp', groupsClaim: 'roles', sessionRecheckSeconds: 3600 });
    expect(corp.settings).toMatchObject({ provider: 'corp', preset: undefined, protocol: 'oidc', issuerUri: 'https://login.example.com' });
    expect(corp.emails).toBe(policy.emails);
    expect(github).toMatchObject({ name: 'github', displayName: 'GitHub', groupsClaim: 'groups', sessionRecheckSeconds: 900 });
    expect(github.settings).toMatchObject({ preset: 'github', protocol: 'oauth2', clientSecret: 'gh-secret-0123' });
    expect(github.emails?.matches('ann@contractors.example.net')).toBe(true);
    expect(github.emails?.matches('ann@example.com')).toBe(false);
    expect(policy.emails?.matches('ann@example.com')).toBe(true);
    expect(policy.enabled).toBe(true);
    expect(summarize(policy)).toContain('callback path /login/oauth2/code/github');
  });

  it('takes displayName, and a preset name in any case', () => {
    const r = compileAiryYaml(`${TWO.replace('    github:\n', '    GitHub:\n      displayName: "GitHub (contractors)"\n')}`);
    expect(errors(r.issues)).toEqual([]);
    expect(r.policy!.providers.get('GitHub')).toMatchObject({ displayName: 'GitHub (contractors)', settings: { preset: 'github' } });
  });

  it('refuses security.oidc (or the flat OIDC keys) beside it, and says how to move', () => {
    const both = compileAiryYaml(`${TWO}  oidc:\n    provider: okta\n    clientId: x\n    issuerUri: "https://acme.okta.com"\n`);
    expect(both.policy).toBeUndefined();
    const [issue] = errors(both.issues);
    expect(issue).toMatchObject({ path: 'security.oidc.provider' });
    expect(issue!.problem).toContain('security.providers is set too');
    expect(issue!.fix).toContain('under security.providers.okta');
    const flat = compileAiryYaml(`${TWO}  clientId: "x"\n`);
    expect(errors(flat.issues).map((i) => i.path)).toEqual(['security.clientId']);
    // The global keys may stay under security.oidc: they apply to every provider.
    const globals = compileAiryYaml(`${TWO.replace('  allowedEmailPatterns: "*@example.com"\n', '')}  oidc:\n    allowedEmailPatterns: "*@example.com"\n`);
    expect(errors(globals.issues)).toEqual([]);
  });

  it('requires email patterns per provider or globally, and names the provider', () => {
    const r = compileAiryYaml(TWO.replace('  allowedEmailPatterns: "*@example.com"\n', ''));
    expect(errors(r.issues).map((i) => i.path)).toEqual(['security.providers.corp.allowedEmailPatterns']);
  });

  it('refuses bad names, unknown or global keys in an entry, and a missing client id, each with its path', () => {
    const r = compileAiryYaml(`security:
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*"
  providers:
    "bad/name":
      clientId: "x"
    corp:
      issuerUri: "https://login.example.com"
      clientSecret: "s"
      clientID: "x"
      sessionTtl: "1h"
      provider: "okta"
    Corp:
      issuerUri: "https://login.example.com"
      clientId: "x"
      clientSecret: "s"
    githb:
      clientId: "x"
      clientSecret: "s"
`);
    const found = errors(r.issues);
    expect(found.map((i) => i.path)).toEqual([
      'security.providers.bad/name',
      'security.providers.corp.clientID',
      'security.providers.corp.sessionTtl',
      'security.providers.corp.provider',
      'security.providers.corp.clientId',
      'security.providers.Corp',
      'security.providers.githb',
    ]);
    expect(found[1]!.fix).toBe('did you mean "clientId"?');
    expect(found[2]!.fix).toBe('move it to security.sessionTtl');
    expect(found[6]!.fix).toBe('did you mean "github"?');
  });

  it('refuses unknown names in allowedProviders and policies.NAME.providers, with a suggestion', () => {
    const r = compileAiryYaml(
      `${TWO}  allowedProviders: "corp,githu"\n  policies:\n    staff:\n      providers: "crop"\n    ok:\n      providers: ["github"]\n`,
    );
    expect(errors(r.issues).map((i) => [i.path, i.fix])).toEqual([
      ['security.policies.staff.providers', 'did you mean "corp"?'],
      ['security.allowedProviders', 'did you mean "github"?'],
    ]);
    const none = compileAiryYaml(`security:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n  jwtSecret: "${TEST_JWT_SECRET}"\n  allowedProviders: "corp"\n`);
    expect(errors(none.issues)[0]).toMatchObject({ path: 'security.allowedProviders', allowed: expect.stringContaining('configure security.providers') });
  });

  it('compiles allowedProviders and a policy that names providers, which then names people (no systemToken)', () => {
    const r = compileAiryYaml(
      `${TWO}  allowedProviders: "corp,github"\n  policies:\n    staff:\n      providers: "corp"\n` +
        '    deploy:\n      providers: corp\n      allowSystemToken: true\n',
    );
    expect(errors(r.issues)).toEqual([]);
    expect([...r.policy!.allowedProviders!]).toEqual(['corp', 'github']);
    expect(summarize(r.policy!)).toContain('Only sessions from corp or github are admitted.');
    expect(r.policy!.routeRules.resolve('policy=staff')).toMatchObject({ label: 'staff', providers: new Set(['corp']), systemTokenAllowed: false });
    expect(r.policy!.routeRules.resolve('policy=deploy')).toMatchObject({ systemTokenAllowed: true });
    expect(r.policy!.routeRules.resolve('allowed_groups=x')).toMatchObject({ providers: undefined });
  });

  it('the single security.oidc setup is one provider named by its provider, with the global rules', () => {
    const r = compileAiryYaml(
      `security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n  allowedEmailPatterns: "*@example.com"\n` +
        '  oidc:\n    provider: google\n    clientId: a\n    clientSecret: b\n',
    );
    expect(errors(r.issues)).toEqual([]);
    expect([...r.policy!.providers.values()]).toMatchObject([
      { name: 'google', displayName: 'Google', groupsClaim: 'groups', sessionRecheckSeconds: undefined },
    ]);
    expect(r.policy!.providers.get('google')!.emails).toBe(r.policy!.emails);
    expect(r.policy!.allowedProviders).toBeUndefined();
    const off = compileAiryYaml(`security:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n  jwtSecret: "${TEST_JWT_SECRET}"\n`);
    expect(off.policy!.providers.size).toBe(0);
  });

  it('machineTokenAudience needs one provider, not several (which one is not guessed)', () => {
    const r = compileAiryYaml(`${TWO}  machineTokenAudience: "api"\n`);
    expect(errors(r.issues).map((i) => i.path)).toEqual(['security.machineTokenAudience']);
  });

  it('GitHub asks for read:org and reads orgs and teams only when a rule names a group', () => {
    const plain = compileAiryYaml(TWO).policy!.providers.get('github')!.settings;
    expect(providerKind(plain).scopes(plain)).toEqual(['read:user', 'user:email']);
    const grouped = compileAiryYaml(`${TWO}  policies:\n    sre:\n      allowedGroups: "acme:sre"\n`).policy!.providers.get('github')!.settings;
    expect(providerKind(grouped).scopes(grouped)).toEqual(['read:user', 'user:email', 'read:org']);
    expect(
      providerKind(grouped)
        .extraEndpoints(grouped)
        .map(([label]) => label),
    ).toEqual(['emails', 'orgs', 'teams']);
    const corp = compileAiryYaml(TWO).policy!.providers.get('corp')!.settings;
    expect(providerKind(corp).kind).toBe('oidc');
  });

  it('check --strict warns about "*" for an open-signup provider, at its own path', () => {
    const r = compileAiryYaml(TWO.replace('"*@contractors.example.net"', '"*"'));
    expect(strictFindings(r.policy!).map((f) => f.path)).toEqual(['security.providers.github.allowedEmailPatterns']);
  });
});

describe('security.providers in a ConfigMap and its Secret', () => {
  it('configmap writes providers.NAME.KEY, the client secrets only into the Secret, and reading both back compiles the same', () => {
    const flat = writeFlatData(readAiryYaml(TWO).settings);
    expect(flat.configMap).toMatchObject({
      'providers.corp.issuerUri': 'https://login.example.com',
      'providers.corp.clientId': 'airy',
      'providers.github.allowedEmailPatterns': '*@contractors.example.net',
    });
    expect(flat.secret).toMatchObject({ 'providers.corp.clientSecret': 'corp-secret-0123', 'providers.github.clientSecret': 'gh-secret-0123' });
    expect(JSON.stringify(flat.configMap)).not.toContain('secret-0123');
    const served = compileConfigMapData(flat.configMap, flat.secret, { configMap: 'airy/security', secret: 'airy/security-secrets' });
    expect(errors(served.issues)).toEqual([]);
    expect(policyView(served.policy!)).toEqual(policyView(compileAiryYaml(TWO).policy!));
  });

  it('without the Secret, the missing client secret is named with its flat key', () => {
    const flat = writeFlatData(readAiryYaml(TWO).settings);
    const r = compileConfigMapData(flat.configMap, { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET }, { configMap: 'airy/security', secret: 's' });
    expect(errors(r.issues).map((i) => i.path)).toEqual([
      'configmap airy/security key providers.corp.clientSecret',
      'configmap airy/security key providers.github.clientSecret',
    ]);
  });

  it('refuses a flat key that is not providers.NAME.KEY', () => {
    const r = compileConfigMapData({ 'providers.corp': 'x', jwtSecret: TEST_JWT_SECRET }, undefined, { configMap: 'airy/security' });
    expect(errors(r.issues)[0]).toMatchObject({ path: 'configmap airy/security key providers.corp' });
  });
});
