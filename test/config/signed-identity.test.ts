import { generateKeyPairSync } from 'node:crypto';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { summarize } from '../../src/config/summary.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { TEST_PREVIOUS_SIGNING_KEY, TEST_SIGNING_KEY } from '../helpers/signing-keys.js';

const pem = (type: 'pkcs8' | 'sec1', key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ type, format: 'pem' }).toString();

function compile(security: Record<string, unknown>) {
  const text = yaml.dump({ security: { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, ...security } });
  return compileAiryYaml(text, 'airy.yaml');
}
const errors = (security: Record<string, unknown>) =>
  compile(security)
    .issues.filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.problem}`);

const ON = { signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1, publicUrl: 'https://auth.example.com/' };

describe('signedIdentity in the configuration', () => {
  it('is off (no signer, nothing on the allow path) unless security or a policy turns it on, even with a key', () => {
    expect(compile({ signingKey: TEST_SIGNING_KEY.sec1 }).policy!.signedIdentity).toBeUndefined();
    expect(compile({ ...ON, signedIdentity: 'false' }).policy!.signedIdentity).toBeUndefined();
  });

  it('takes the issuer from the publicUrl origin, or signedIdentityIssuer; ttl 60 s by default', () => {
    const on = compile(ON).policy!.signedIdentity!;
    expect(on).toMatchObject({ everywhere: true, signer: { issuer: 'https://auth.example.com', ttlSeconds: 60 } });
    expect(on.policies.size).toBe(0);
    const own = compile({ ...ON, publicUrl: undefined, signedIdentityIssuer: 'https://id.example.com', signedIdentityTtl: '2m' }).policy!.signedIdentity!;
    expect(own.signer).toMatchObject({ issuer: 'https://id.example.com', ttlSeconds: 120 });
  });

  it('accepts PKCS#8 and SEC1 ("EC PRIVATE KEY", as helm genPrivateKey "ecdsa" writes) P-256 keys, with the same kid', () => {
    const sec1 = compile(ON).policy!.signedIdentity!.signer.kid;
    expect(compile({ ...ON, signingKey: TEST_SIGNING_KEY.pkcs8 }).policy!.signedIdentity!.signer.kid).toBe(sec1);
    expect(TEST_SIGNING_KEY.sec1).toContain('BEGIN EC PRIVATE KEY');
  });

  it('a policy turns it on for its routes only; `"true"` as a ConfigMap writes it counts, a non-boolean is an error', () => {
    const policies = { grafana: { allowedGroups: 'sre', signedIdentity: 'true' }, inbox: { allowedGroups: 'support', signedIdentity: false } };
    const s = compile({ signingKey: TEST_SIGNING_KEY.sec1, publicUrl: 'https://auth.example.com', policies }).policy!.signedIdentity!;
    expect(s.everywhere).toBe(false);
    expect([...s.policies]).toEqual(['grafana']);
    expect(errors({ ...ON, policies: { grafana: { allowedGroups: 'sre', signedIdentity: 'yes' } } })).toEqual([
      'security.policies.grafana.signedIdentity: must be true or false, got string "yes"',
    ]);
    // A policy that only turns the header on is not "a policy that sets no rule".
    const warnings = compile({ ...ON, policies: { signed: { signedIdentity: true } } }).issues.filter((i) => i.severity === 'warning');
    expect(warnings).toEqual([]);
  });

  it.each([
    ['no signingKey', { ...ON, signingKey: undefined }, /signingKey: is required: security.signedIdentity is on/],
    [
      'no signingKey, turned on by a policy',
      { ...ON, signedIdentity: undefined, signingKey: undefined, policies: { app: { allowedGroups: 'x', signedIdentity: true } } },
      /signingKey: is required: security.policies.app.signedIdentity is on/,
    ],
    ['no publicUrl and no issuer', { ...ON, publicUrl: undefined }, /signedIdentityIssuer: is required: .* no publicUrl/],
    ['a public key as signingKey', { ...ON, signingKey: TEST_SIGNING_KEY.publicPem }, /signingKey: is a public key; airy-auth signs with the private key/],
    ['not a key', { ...ON, signingKey: 'hunter2' }, /signingKey: is not an unencrypted PEM private key/],
    [
      'P-384',
      { ...ON, signingKey: pem('pkcs8', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey) },
      /signingKey: is an EC key on curve secp384r1; ES256 needs P-256/,
    ],
    ['RSA', { ...ON, signingKey: pem('pkcs8', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey) }, /signingKey: is an RSA key; ES256 needs/],
    ['Ed25519', { ...ON, signingKey: pem('pkcs8', generateKeyPairSync('ed25519').privateKey) }, /signingKey: is an ED25519 key/],
    ['a previous key that is not one', { ...ON, signingKeyPrevious: 'not a key' }, /signingKeyPrevious: is not a PEM key/],
    [
      'a previous key on another curve',
      { ...ON, signingKeyPrevious: pem('sec1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey) },
      /signingKeyPrevious: is an EC key on curve secp256k1/,
    ],
    ['a lifetime of 5s', { ...ON, signedIdentityTtl: '5s' }, /signedIdentityTtl: 5s is out of range/],
    ['a lifetime of 11m', { ...ON, signedIdentityTtl: '11m' }, /signedIdentityTtl: 11m is out of range/],
    ['a lifetime that is no duration', { ...ON, signedIdentityTtl: 'soon' }, /signedIdentityTtl: "soon" is not a duration/],
    ['an issuer with a space', { ...ON, signedIdentityIssuer: 'my issuer' }, /signedIdentityIssuer: must be printable ASCII/],
  ])('refuses %s, with a clear error', (_name, security, problem) => {
    const result = compile(security);
    expect(result.policy).toBeUndefined();
    expect(result.issues.map((i) => `${i.path}: ${i.problem}`)).toContainEqual(expect.stringMatching(problem));
  });

  it('checks a key that is set even while the header is off, and never quotes it', () => {
    const result = compile({ signingKey: TEST_SIGNING_KEY.publicPem });
    expect(result.policy).toBeUndefined();
    expect(JSON.stringify(result.issues)).not.toContain(TEST_SIGNING_KEY.publicPem.split('\n')[1]);
    const bad = compile({ signingKey: TEST_SIGNING_KEY.sec1.replace('EC PRIVATE', 'PRIVATE') });
    expect(JSON.stringify(bad.issues)).not.toContain(TEST_SIGNING_KEY.sec1.split('\n')[1]);
  });

  it("check's summary says where the header is added, by whom it is signed, and never the key", () => {
    const everywhere = compile(ON).policy!;
    expect(summarize(everywhere)).toContain(
      `Signed identity: every allow carries X-Auth-Request-Jwt (ES256, issuer https://auth.example.com, 60 s, key ${everywhere.signedIdentity!.signer.kid})`,
    );
    const some = compile({ ...ON, signedIdentity: false, policies: { grafana: { allowedGroups: 'sre', signedIdentity: true } } }).policy!;
    expect(summarize(some)).toContain('Signed identity: the allows of policies grafana carry X-Auth-Request-Jwt');
    expect(summarize(compile({ signingKey: TEST_SIGNING_KEY.sec1 }).policy!)).not.toContain('Signed identity');
    expect(summarize(everywhere)).not.toContain('PRIVATE');
  });

  it('publishes signingKeyPrevious (a private or a public PEM) beside the signing key', () => {
    for (const previous of [TEST_PREVIOUS_SIGNING_KEY.sec1, TEST_PREVIOUS_SIGNING_KEY.publicPem]) {
      const { keys } = JSON.parse(compile({ ...ON, signingKeyPrevious: previous }).policy!.signedIdentity!.signer.jwks) as { keys: unknown[] };
      expect(keys).toHaveLength(2);
    }
  });
});
