import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/config/policy.js';
import { decide } from '../../src/core/decide.js';
import type { Decision } from '../../src/core/decision.js';
import { type CredentialVerifier, evaluatorOf } from '../../src/core/evaluator.js';
import type { Facts } from '../../src/core/facts.js';
import { appFacts, evaluate } from '../helpers/evaluator.js';
import { PROTECTED, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { policyWithProviders } from '../helpers/providers.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const S = NOW / 1000;

/** corp: its own email rule and re-check; github: neither (the global ones apply); partner: neither. */
const PROVIDERS = [{ name: 'corp', displayName: 'Corp SSO', emails: '*@corp.example', sessionRecheck: '1h' }, { name: 'github' }, { name: 'partner' }];
const POLICIES = { grafana: 'allowedGroups: "sre"', wiki: 'allowedEmailPatterns: "*@example.com"' };
/** PROTECTED with the providers and the named policies, and `options` (allowedProviders, providers per policy). */
const build = (options: Parameters<typeof policyWithProviders>[3] = {}, fields: Record<string, string | undefined> = PROTECTED) =>
  policyWithProviders(fields, POLICIES, PROVIDERS, options);

const facts = appFacts;

/** A session as the login mints it, with the `idp` claim naming the provider (absent: an Airy Core session). */
async function session(policy: Policy, claims: { sub: string; email?: string; idp?: string; groups?: string[]; rck?: number }): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(randomUUID())
    .setIssuedAt(S - 60)
    .setExpirationTime(S + 3600)
    .sign(policy.sessionKey!);
}

/** A machine token's stand-in: a JWS whose header says RS256, so the session verifier passes it on. */
const MACHINE = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl';
const machine: CredentialVerifier = {
  reason: 'machine_token',
  cookies: false,
  verify: (token) =>
    token === MACHINE
      ? { ok: true, session: { sub: 'ci', email: 'ci@example.com', groups: ['sre'], exp: S + 60, nbf: undefined, iat: undefined } }
      : { ok: false, problem: 'bad_signature', detail: 'machine token refused: signature' },
};

async function decideWith(policy: Policy, over: Partial<Facts>): Promise<Decision> {
  return decide(facts(over), evaluatorOf(policy, { more: [machine] }), NOW);
}

describe('decide: which provider signed the person in', () => {
  const policy = build();

  it('an allow names the provider, in the one allow shape; other credentials name none', async () => {
    const token = await session(policy, { sub: 'ann', email: 'ann@corp.example', idp: 'corp' });
    const allow = await decideWith(policy, { sessionCookies: [token] });
    expect(Object.keys(allow).sort()).toEqual(['email', 'groups', 'jti', 'provider', 'reason', 'rule', 'status', 'user']);
    expect(allow).toMatchObject({ status: 200, reason: 'session_cookie', user: 'ann', provider: 'corp' });
    const core = await session(policy, { sub: 'bob', email: 'bob@example.com' });
    const system = await decideWith(policy, { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
    for (const d of [await decideWith(policy, { authorization: `Bearer ${core}` }), await decideWith(policy, { authorization: `Bearer ${MACHINE}` }), system]) {
      expect(d.status).toBe(200);
      expect(Object.keys(d).sort()).toEqual(['email', 'groups', 'jti', 'provider', 'reason', 'rule', 'status', 'user']);
      expect(d).toMatchObject({ provider: undefined });
    }
  });

  it.each([
    ['corp, an address its own patterns admit (the global ones do not)', { sub: 'ann', email: 'ann@corp.example', idp: 'corp' }, 200, undefined],
    ['corp, an address only the global patterns admit', { sub: 'eve', email: 'eve@example.com', idp: 'corp' }, 403, 'email_not_allowed'],
    ['github (no patterns of its own), an address the global patterns admit', { sub: 'bob', email: 'bob@example.com', idp: 'github' }, 200, undefined],
    ['github, an address the global patterns refuse', { sub: 'eve', email: 'eve@elsewhere.io', idp: 'github' }, 403, 'email_not_allowed'],
    ['a provider no longer configured', { sub: 'ann', email: 'ann@example.com', idp: 'gitlab' }, 401, 'provider_removed'],
    ['no provider (an Airy Core session)', { sub: 'ann', email: 'ann@example.com' }, 200, undefined],
  ] as const)('%s', async (_name, claims, status, reason) => {
    const token = await session(policy, { ...claims });
    for (const over of [{ sessionCookies: [token] }, { authorization: `Bearer ${token}` }]) {
      const d = await decideWith(policy, over);
      expect(d.status).toBe(status);
      if (reason !== undefined) expect(d.reason).toBe(reason);
    }
  });

  it('refuses a session of a removed provider with 401 (a browser logs in again), after the revocation checks', async () => {
    const token = await session(policy, { sub: 'ann', email: 'ann@example.com', idp: 'gitlab' });
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    expect(await decideWith(policy, { sessionCookies: [token] })).toEqual({ status: 401, reason: 'provider_removed', jti });
    const cutOff = build({}, { ...PROTECTED, sessionsNotBefore: new Date(NOW).toISOString() });
    expect(await decide(facts({ sessionCookies: [token] }), evaluate(cutOff), NOW)).toMatchObject({ status: 401, reason: 'session_revoked' });
  });

  it("re-checks on the session's provider's sessionRecheck, else the global one", async () => {
    const due = S - 10;
    const corp = await session(policy, { sub: 'ann', email: 'ann@corp.example', idp: 'corp', rck: due });
    const github = await session(policy, { sub: 'bob', email: 'bob@example.com', idp: 'github', rck: due });
    expect(await decideWith(policy, { sessionCookies: [corp] })).toEqual({ status: 401, reason: 'recheck_due' });
    // github has no sessionRecheck and neither has the config: its rck is not acted on.
    expect(await decideWith(policy, { sessionCookies: [github] })).toMatchObject({ status: 200, provider: 'github' });
    const global = build({}, { ...PROTECTED, sessionRecheck: '1h' });
    expect(await decideWith(global, { sessionCookies: [github] })).toEqual({ status: 401, reason: 'recheck_due' });
  });
});

describe('decide: allowedProviders and a route that names providers', () => {
  const onlyCorp = build({ allowed: ['corp'] });

  it('admits only sessions from an allowed provider; anyone else gets 403 naming the providers accepted', async () => {
    const corp = await session(onlyCorp, { sub: 'ann', email: 'ann@corp.example', idp: 'corp' });
    const github = await session(onlyCorp, { sub: 'bob', email: 'bob@example.com', idp: 'github' });
    const core = await session(onlyCorp, { sub: 'cy', email: 'cy@example.com' });
    expect(await decideWith(onlyCorp, { sessionCookies: [corp] })).toMatchObject({ status: 200, provider: 'corp' });
    expect(await decideWith(onlyCorp, { sessionCookies: [github] })).toEqual({
      status: 403,
      reason: 'provider_not_allowed',
      user: 'bob',
      email: 'bob@example.com',
      provider: 'github',
      acceptedProviders: ['corp'],
      ruleKey: 'security.allowedProviders',
    });
    // Without a provider (Airy Core's sessions, `airy-auth token`, machine tokens), a provider rule is not met.
    expect(await decideWith(onlyCorp, { authorization: `Bearer ${core}` })).toEqual({
      status: 403,
      reason: 'provider_not_allowed',
      user: 'cy',
      email: 'cy@example.com',
      acceptedProviders: ['corp'],
      ruleKey: 'security.allowedProviders',
    });
    expect(await decideWith(onlyCorp, { authorization: `Bearer ${MACHINE}` })).toMatchObject({ status: 403, reason: 'provider_not_allowed', user: 'ci' });
    // The global list does not concern the system token (it names no person and no provider).
    expect(await decideWith(onlyCorp, { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` })).toMatchObject({ status: 200, reason: 'system_token' });
  });

  it('a refusal for the provider comes before the email and group rules (the person is offered the right provider)', async () => {
    const github = await session(onlyCorp, { sub: 'eve', email: 'eve@elsewhere.io', idp: 'github' });
    expect(await decideWith(onlyCorp, { sessionCookies: [github], ruleQuery: 'policy=grafana' })).toMatchObject({
      status: 403,
      reason: 'provider_not_allowed',
      rule: 'grafana',
    });
  });

  it("a route's providers narrow the global list; the accepted ones are the intersection, in config order", async () => {
    const both = build({ allowed: ['github', 'corp'], ruleProviders: { grafana: ['partner', 'github', 'corp'], wiki: ['github'] } });
    const partner = await session(both, { sub: 'pat', email: 'pat@example.com', idp: 'partner', groups: ['sre'] });
    const corp = await session(both, { sub: 'ann', email: 'ann@corp.example', idp: 'corp', groups: ['sre'] });
    expect(await decideWith(both, { sessionCookies: [partner], ruleQuery: 'policy=grafana' })).toMatchObject({
      status: 403,
      reason: 'provider_not_allowed',
      acceptedProviders: ['corp', 'github'],
      rule: 'grafana',
    });
    expect(await decideWith(both, { sessionCookies: [corp], ruleQuery: 'policy=grafana' })).toMatchObject({ status: 200, provider: 'corp', rule: 'grafana' });
    expect(await decideWith(both, { sessionCookies: [corp], ruleQuery: 'policy=wiki' })).toMatchObject({
      status: 403,
      reason: 'provider_not_allowed',
      acceptedProviders: ['github'],
    });
    // Without the rule, the global list alone: corp is in it.
    expect(await decideWith(both, { sessionCookies: [corp] })).toMatchObject({ status: 200, provider: 'corp' });
    // A route that names providers does not admit the system token unless its policy says so.
    expect(await decideWith(both, { authorization: `Bearer ${TEST_SYSTEM_TOKEN}`, ruleQuery: 'policy=wiki' })).toEqual({
      status: 403,
      reason: 'system_token_not_allowed',
      rule: 'wiki',
      ruleKey: 'security.policies.wiki.allowSystemToken',
    });
  });
});

describe('decide walks the credential verifiers', () => {
  const policy = build();

  it('a token that is not an Airy session (another algorithm) goes on to the next verifier; a forged session does not', async () => {
    expect(await decideWith(policy, { authorization: `Bearer ${MACHINE}` })).toMatchObject({ status: 200, reason: 'machine_token', user: 'ci' });
    // Without a machine-token verifier, the session verifier's verdict stands.
    expect(await decide(facts({ authorization: `Bearer ${MACHINE}` }), evaluate(policy), NOW)).toEqual({
      status: 401,
      reason: 'invalid_token',
      tokenProblem: 'alg_not_allowed',
    });
    const forged = `${(await session(policy, { sub: 'ann' })).slice(0, -4)}AAAA`;
    expect(await decideWith(policy, { authorization: `Bearer ${forged}` })).toEqual({ status: 401, reason: 'invalid_token', tokenProblem: 'bad_signature' });
    // The last verifier's refusal, with the check that failed.
    expect(await decideWith(policy, { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln' })).toEqual({
      status: 401,
      reason: 'invalid_token',
      tokenProblem: 'bad_signature',
      detail: 'machine token refused: signature',
    });
  });

  it('a cookie is only ever an Airy session: a machine token in the cookie is refused', async () => {
    expect(await decideWith(policy, { sessionCookies: [MACHINE] })).toEqual({ status: 401, reason: 'invalid_cookie', tokenProblem: 'alg_not_allowed' });
  });

  it('a new credential kind is one more verifier, and a memoized decision is synchronous', async () => {
    const apiKey: CredentialVerifier = {
      reason: 'machine_token',
      cookies: false,
      verify: (t) =>
        t === 'key-1'
          ? { ok: true, session: { sub: 'svc', email: undefined, groups: undefined, exp: S + 60, nbf: undefined, iat: undefined } }
          : machine.verify(t, NOW),
    };
    // Placed first, it sees every presented token before the others.
    const evaluator = evaluatorOf(policy, { more: [] });
    const first = { ...evaluator, bearerVerifiers: [apiKey, ...evaluator.bearerVerifiers] };
    expect(await decide(facts({ authorization: 'Bearer key-1' }), first, NOW)).toMatchObject({ status: 200, user: 'svc' });
    const token = await session(policy, { sub: 'ann', email: 'ann@corp.example', idp: 'corp' });
    const ev = evaluate(policy);
    expect(await decide(facts({ sessionCookies: [token] }), ev, NOW)).toMatchObject({ status: 200 });
    const again = decide(facts({ sessionCookies: ['stale', token] }), ev, NOW);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ status: 200, provider: 'corp' });
  });
});
