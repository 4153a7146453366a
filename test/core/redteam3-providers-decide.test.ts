import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/config/issues.js';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import type { Policy } from '../../src/config/policy.js';
import { decide } from '../../src/core/decide.js';
import { evaluatorOf } from '../../src/core/evaluator.js';
import type { Facts } from '../../src/core/facts.js';
import { appFacts } from '../helpers/evaluator.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = NOW / 1000;
const errors = (issues: readonly ConfigIssue[]) => issues.filter((i) => i.severity === 'error');

/** Each provider with its own email patterns, and no global ones: the per-provider setup of docs/login.md. */
const OWN_PATTERNS_ONLY = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com"
  providers:
    corp:
      issuerUri: "https://login.example.com"
      clientId: "airy"
      clientSecret: "corp-secret-0123"
      allowedEmailPatterns: "*@example.com"
    github:
      clientId: "gh-client"
      clientSecret: "gh-secret-0123"
      allowedEmailPatterns: "*@contractors.example.net"
`;

const facts = (cookie: string): Facts => appFacts({ sessionCookies: [cookie] });

async function session(policy: Policy, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(randomUUID())
    .setIssuedAt(S - 60)
    .setExpirationTime(S + 3600)
    .sign(policy.sessionKey!);
}

describe('red team: email patterns when only the providers have them', () => {
  const compiled = compileAiryYaml(OWN_PATTERNS_ONLY);
  const policy = compiled.policy!;

  it('compiles (each provider has its patterns)', () => {
    expect(errors(compiled.issues)).toEqual([]);
    expect(policy.emails).toBeUndefined();
  });

  it.each([
    ['names no provider (Airy Core, airy-auth token, an older session)', { sub: 'eve', email: 'eve@evil.example' }],
    ['has an idp that is not a provider name (dropped by the verifier)', { sub: 'eve', email: 'eve@evil.example', idp: '../corp' }],
  ])('a session that %s and an email no provider admits is refused', async (_label, claims) => {
    const d = await decide(facts(await session(policy, claims)), evaluatorOf(policy), NOW);
    expect(d).toMatchObject({ status: 403, reason: 'email_not_allowed' });
  });

  it("a session that names no provider passes with an email some provider's patterns admit", async () => {
    const d = await decide(facts(await session(policy, { sub: 'ann', email: 'ann@example.com' })), evaluatorOf(policy), NOW);
    expect(d).toMatchObject({ status: 200, user: 'ann' });
  });

  it("a provider's session is still held to its own patterns, not another's", async () => {
    const d = await decide(facts(await session(policy, { sub: 'gh', email: 'ann@example.com', idp: 'github' })), evaluatorOf(policy), NOW);
    expect(d).toMatchObject({ status: 403, reason: 'email_not_allowed', ruleKey: 'security.providers.github.allowedEmailPatterns' });
  });
});

describe('red team: provider and policy names that are prototype keys, in the flat form', () => {
  const secret = { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET };
  const base = { allowedOrigins: 'https://app.example.com' };

  it('providers.__proto__.KEY is an error, not silently dropped', () => {
    const r = compileConfigMapData(
      {
        ...base,
        'providers.__proto__.issuerUri': 'https://login.example.com',
        'providers.__proto__.clientId': 'airy',
        'providers.__proto__.allowedEmailPatterns': '*',
      },
      { ...secret, 'providers.__proto__.clientSecret': 'x' },
      { configMap: 'airy/security', secret: 'airy/security-secrets' },
    );
    expect(
      errors(r.issues)
        .map((i) => i.path)
        .join(' '),
    ).toContain('__proto__');
  });

  it('policies.__proto__.KEY is an error, not silently dropped', () => {
    const r = compileConfigMapData({ ...base, 'policies.__proto__.allowedGroups': 'sre' }, secret, { configMap: 'airy/security' });
    expect(
      errors(r.issues)
        .map((i) => i.path)
        .join(' '),
    ).toContain('__proto__');
  });

  it('providers named constructor and toString are providers like any other', () => {
    const r = compileConfigMapData(
      {
        ...base,
        'providers.constructor.issuerUri': 'https://login.example.com',
        'providers.constructor.clientId': 'airy',
        'providers.constructor.allowedEmailPatterns': '*@example.com',
        'providers.toString.issuerUri': 'https://partner.example.org',
        'providers.toString.clientId': 'airy',
        'providers.toString.allowedEmailPatterns': '*@partner.example.org',
      },
      { ...secret, 'providers.constructor.clientSecret': 'x', 'providers.toString.clientSecret': 'y' },
      { configMap: 'airy/security', secret: 'airy/security-secrets' },
    );
    expect(errors(r.issues)).toEqual([]);
    expect([...r.policy!.providers.keys()].sort()).toEqual(['constructor', 'toString']);
  });
});
