import { describe, expect, it } from 'vitest';
import type { CompileResult } from '../../src/config/compile.js';
import { type ConfigIssue, formatIssue } from '../../src/config/issues.js';
import { compileAiryYaml, compileConfigMapData } from '../../src/config/load.js';
import { providerKind } from '../../src/oidc/providers/index.js';
import { securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

const errors = (issues: readonly ConfigIssue[]) => issues.filter((i) => i.severity === 'error');
const warnings = (issues: readonly ConfigIssue[]) => issues.filter((i) => i.severity === 'warning');
/** The settings of the one login provider of a compiled config. */
const loginOf = (r: CompileResult) => [...(r.policy?.providers.values() ?? [])][0]?.settings;

describe('compileAiryYaml', () => {
  it('turns auth on with systemToken and jwtSecret, and reads only the security section', () => {
    const r = compileAiryYaml(`kubernetes:\n  foo: 1\nsecurity:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n  jwtSecret: "${TEST_JWT_SECRET}"\n`);
    expect(errors(r.issues)).toEqual([]);
    expect(r.policy?.enabled).toBe(true);
  });

  it.each(['loginSuccessUrl', 'logoutSuccessUrl', 'machineSubjectClaim', 'machineEmailClaim'])(
    'refuses a number for %s with every other error, instead of compiling a policy beside the error',
    (key) => {
      const r = compileAiryYaml(`security:\n  systemToken: "${TEST_SYSTEM_TOKEN}"\n  jwtSecret: "${TEST_JWT_SECRET}"\n  ${key}: 5\n`);
      expect(errors(r.issues).map((i) => i.path)).toEqual([`security.${key}`]);
      expect(r.policy).toBeUndefined();
    },
  );

  it.each([
    ['only systemToken', { systemToken: TEST_SYSTEM_TOKEN }, /jwtSecret is not set/],
    ['only jwtSecret', { jwtSecret: TEST_JWT_SECRET }, /systemToken is not set/],
    ['nothing', {}, /neither/],
  ])('turns auth off with a warning when %s is set (the seed rule)', (_name, fields, why) => {
    const r = compileAiryYaml(securityYaml(fields));
    expect(r.policy?.enabled).toBe(false);
    expect(r.policy?.disabledBecause).toMatch(why);
    expect(
      warnings(r.issues)
        .map((i) => i.problem)
        .join(),
    ).toMatch(/authentication is OFF/);
  });

  it('reports an unknown key with a suggestion', () => {
    const r = compileAiryYaml(securityYaml({ systemtoken: 'x', jwtSecret: TEST_JWT_SECRET }));
    const e = errors(r.issues);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ path: 'security.systemtoken', problem: 'unknown key "systemtoken"' });
    expect(e[0]!.fix).toContain('"systemToken"');
    expect(r.policy).toBeUndefined();
  });

  it('refuses a short jwtSecret and says how to generate one', () => {
    const r = compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: Buffer.alloc(16, 1).toString('base64') }));
    const [e] = errors(r.issues);
    expect(e).toMatchObject({ path: 'security.jwtSecret' });
    expect(e!.problem).toContain('16 bytes');
    expect(e!.fix).toContain('openssl rand -base64 48');
  });

  it('refuses a systemToken over 4096 characters, and keeps one of exactly 4096', () => {
    const long = compileAiryYaml(securityYaml({ systemToken: 'x'.repeat(4097), jwtSecret: TEST_JWT_SECRET }));
    expect(errors(long.issues)).toMatchObject([{ path: 'security.systemToken', problem: 'is 4097 characters; at most 4096 are allowed' }]);
    expect(long.policy).toBeUndefined();
    const longest = compileAiryYaml(securityYaml({ systemToken: 'x'.repeat(4096), jwtSecret: TEST_JWT_SECRET }));
    expect(errors(longest.issues)).toEqual([]);
  });

  it('refuses a jwtSecret that is not base64', () => {
    const r = compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: 'not base64 at all!!' }));
    expect(errors(r.issues)[0]!.problem).toContain('is not base64');
  });

  it('accepts url-safe base64 and the 128-character secrets Airy Core generated', () => {
    const urlSafe = Buffer.from('\xfb\xff'.repeat(20), 'latin1').toString('base64url');
    expect(urlSafe).toMatch(/[-_]/);
    expect(compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: urlSafe })).policy?.enabled).toBe(true);
    const airyStyle = `${'aB3'.repeat(42)}xy`;
    expect(compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: airyStyle })).policy?.enabled).toBe(true);
  });

  it.each([
    ['https://app.example.com/', /trailing slash/, 'write "https://app.example.com"'],
    ['app.example.com', /no scheme/, 'write "https://app.example.com"'],
    ['https://*.com', /two fixed labels/, undefined],
    ['https://example.*', /two fixed labels/, undefined],
    ['https://a*.example.com', /whole label/, undefined],
    ['ftp://example.com', /scheme "ftp"/, undefined],
  ])('refuses the origin pattern %s', (pattern, problem, fix) => {
    const r = compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, allowedOrigins: pattern }));
    const [e] = errors(r.issues);
    expect(e!.path).toBe('security.allowedOrigins');
    expect(e!.problem).toMatch(problem);
    expect(e!.allowed).toContain('https://*.example.com');
    if (fix) expect(e!.fix).toBe(fix);
  });

  it('accepts single-label hosts, ports and IPv4 literals as exact origins', () => {
    const r = compileAiryYaml(
      securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, allowedOrigins: 'http://localhost:3000, https://10.0.0.1' }),
    );
    expect(errors(r.issues)).toEqual([]);
    expect(r.policy!.origins.matches('http://localhost:3000')).toBe(true);
    expect(r.policy!.origins.matches('http://localhost:3001')).toBe(false);
    expect(r.policy!.origins.matches('https://10.0.0.1')).toBe(true);
  });

  it('requires jwtSecret when OIDC is configured', () => {
    const r = compileAiryYaml(securityYaml({ provider: 'github', clientId: 'id', clientSecret: 's', allowedEmailPatterns: '*@example.com' }));
    const [e] = errors(r.issues);
    expect(e).toMatchObject({ path: 'security.jwtSecret' });
    expect(e!.problem).toContain('required when OIDC login is configured');
  });

  it('requires openid in the scope of a generic provider, and says what to write', () => {
    const r = compileAiryYaml(
      `security:
  jwtSecret: "${TEST_JWT_SECRET}"
  oidc:
    provider: my-idp
    clientId: id
    clientSecret: s
    issuerUri: https://idp.example.com
    scope: "email,profile"
    allowedEmailPatterns: "*@example.com"
`,
    );
    const [e] = errors(r.issues);
    expect(e).toMatchObject({ path: 'security.oidc.scope', fix: 'write "openid,email,profile"' });
  });

  it('collects every error at once', () => {
    const r = compileAiryYaml(
      `security:
  systemTokn: x
  jwtSecret: "c2hvcnQ="
  allowedOrigins: "example.com"
  provider: my-idp
  clientId: 1234
  scope: email
  clientAuthenticationMethod: header
  authorizationGrantType: password
`,
    );
    const paths = errors(r.issues).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'security.systemTokn',
        'security.jwtSecret',
        'security.allowedOrigins',
        'security.clientId',
        'security.scope',
        'security.clientAuthenticationMethod',
        'security.authorizationGrantType',
        'security.issuerUri',
        'security.clientSecret',
        'security.allowedEmailPatterns',
      ]),
    );
    expect(r.policy).toBeUndefined();
  });

  it('asks for quotes instead of coercing YAML numbers and booleans', () => {
    const r = compileAiryYaml(`security:\n  systemToken: 123456789012345678\n  jwtSecret: "${TEST_JWT_SECRET}"\n`);
    expect(errors(r.issues)[0]).toMatchObject({ path: 'security.systemToken', fix: 'put the value in double quotes' });
  });

  it('refuses security keys at the top level instead of silently turning auth off', () => {
    const r = compileAiryYaml(`systemToken: "${TEST_SYSTEM_TOKEN}"\njwtSecret: "${TEST_JWT_SECRET}"\n`);
    expect(errors(r.issues)[0]!.fix).toContain('under "security:"');
  });

  it('accepts OIDC keys directly under security or under security.oidc, but not both', () => {
    const both = compileAiryYaml(`security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n  clientId: a\n  oidc:\n    clientId: b\n`);
    expect(errors(both.issues).some((i) => i.path === 'security.oidc.clientId' && i.problem.includes('also set at security.clientId'))).toBe(true);
  });

  it('explains why each non-login grant type cannot be used', () => {
    for (const grant of ['implicit', 'refresh_token', 'client_credentials', 'password']) {
      const r = compileAiryYaml(
        securityYaml({
          jwtSecret: TEST_JWT_SECRET,
          provider: 'github',
          clientId: 'a',
          clientSecret: 'b',
          allowedEmailPatterns: '*',
          authorizationGrantType: grant,
        }),
      );
      const e = errors(r.issues).find((i) => i.path === 'security.authorizationGrantType');
      expect(e?.problem).toMatch(/cannot log a person in: .{20,}/);
      expect(e?.fix).toContain('authorization_code');
    }
  });

  it('reports YAML syntax errors with their place', () => {
    const r = compileAiryYaml('security:\n  jwtSecret: "c2VjcmV0LXZhbHVl\n', 'cm.yaml');
    const text = formatIssue(errors(r.issues)[0]!);
    expect(text).toMatch(/cm.yaml: is not valid YAML: .* at line 3, column 1/);
    expect(text).not.toContain('c2VjcmV0LXZhbHVl');
  });

  it('warns about an email pattern without "@"', () => {
    const r = compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, allowedEmailPatterns: '*example.com' }));
    expect(warnings(r.issues).find((i) => i.path === 'security.allowedEmailPatterns')?.fix).toContain('*@example.com');
  });
});

describe('email and path patterns', () => {
  const policy = compileAiryYaml(
    securityYaml({
      systemToken: TEST_SYSTEM_TOKEN,
      jwtSecret: TEST_JWT_SECRET,
      allowedEmailPatterns: ' *@example.com , ,ceo@*.example.org,',
      publicPaths: '/webhooks/**, /status',
    }),
  ).policy!;

  it('trims entries, ignores empty ones and treats "." literally (unlike Airy Core)', () => {
    expect(policy.emails!.patterns).toEqual(['*@example.com', 'ceo@*.example.org']);
    expect(policy.emails!.matches('Ann@Example.COM')).toBe(true);
    expect(policy.emails!.matches('ann@exampleXcom')).toBe(false);
    expect(policy.emails!.matches('ann@example.com.evil.io')).toBe(false);
    expect(policy.emails!.matches('ceo@eu.example.org')).toBe(true);
  });

  it('reads the seed\'s "*," as the single pattern *', () => {
    const p = compileAiryYaml(securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, allowedEmailPatterns: '*,' })).policy!;
    expect(p.emails!.patterns).toEqual(['*']);
    expect(p.emails!.matches('anyone@anywhere.io')).toBe(true);
  });

  it('matches public paths as globs', () => {
    expect(policy.publicPaths.matches('/webhooks/github/push')).toBe(true);
    expect(policy.publicPaths.matches('/status')).toBe(true);
    expect(policy.publicPaths.matches('/statusx')).toBe(false);
    expect(policy.publicPaths.matches('/api/webhooks')).toBe(false);
  });
});

describe('compileConfigMapData', () => {
  it("reads Airy Core's flat security ConfigMap and lets the Secret override it", () => {
    const r = compileConfigMapData(
      {
        systemToken: 'from-configmap-0000000',
        allowedOrigins: 'https://app.example.com',
        'oidc.provider': 'github',
        'oidc.clientId': 'cid',
        'oidc.allowedEmailPatterns': '*@example.com',
      },
      { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, 'oidc.clientSecret': 'csecret' },
      { configMap: 'security', secret: 'security' },
    );
    expect(errors(r.issues)).toEqual([]);
    expect(loginOf(r)).toMatchObject({ provider: 'github', clientId: 'cid', clientSecret: 'csecret', preset: 'github' });
  });

  it('reads a whole airy.yaml under the airy.yaml key', () => {
    const r = compileConfigMapData({ 'airy.yaml': securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET }) }, undefined, {
      configMap: 'airy',
    });
    expect(r.policy?.enabled).toBe(true);
  });

  it('names the flat key when it is unknown', () => {
    const r = compileConfigMapData({ 'oidc.clientid': 'x' }, undefined, { configMap: 'security' });
    expect(errors(r.issues)[0]).toMatchObject({ path: 'configmap security key oidc.clientid', fix: 'did you mean "oidc.clientId"?' });
  });
});

describe('provider presets', () => {
  const base = { jwtSecret: TEST_JWT_SECRET, clientId: 'id', clientSecret: 'secret', allowedEmailPatterns: '*@example.com' };
  it("google is OpenID Connect with Google's issuer", () => {
    expect(loginOf(compileAiryYaml(securityYaml({ ...base, provider: 'google' })))).toMatchObject({
      protocol: 'oidc',
      issuerUri: 'https://accounts.google.com',
      scopes: ['openid', 'profile', 'email'],
      userNameAttribute: 'sub',
    });
  });
  it('okta needs the tenant issuer', () => {
    const r = compileAiryYaml(securityYaml({ ...base, provider: 'okta' }));
    expect(errors(r.issues)[0]).toMatchObject({ path: 'security.issuerUri' });
    expect(loginOf(compileAiryYaml(securityYaml({ ...base, provider: 'okta', issuerUri: 'https://acme.okta.com' })))?.issuerUri).toBe('https://acme.okta.com');
  });
  it('facebook is plain OAuth 2 with client_secret_post and the Graph /me userinfo', () => {
    expect(loginOf(compileAiryYaml(securityYaml({ ...base, provider: 'facebook' })))).toMatchObject({
      protocol: 'oauth2',
      clientAuth: 'post',
      userNameAttribute: 'id',
      userInfoUri: 'https://graph.facebook.com/me?fields=id,name,email',
    });
  });
  it('github reads /user and /user/emails; explicit URIs give GitHub Enterprise', () => {
    const github = loginOf(compileAiryYaml(securityYaml({ ...base, provider: 'github' })))!;
    expect(github).toMatchObject({ protocol: 'oauth2', scopes: ['read:user', 'user:email'], userNameAttribute: 'id' });
    expect(providerKind(github).extraEndpoints(github)).toEqual([['emails', 'https://api.github.com/user/emails']]);
    const ghe = loginOf(
      compileAiryYaml(
        securityYaml({
          ...base,
          provider: 'github',
          authorizationUri: 'https://ghe.example.com/login/oauth/authorize',
          tokenUri: 'https://ghe.example.com/login/oauth/access_token',
          userInfoUri: 'https://ghe.example.com/api/v3/user',
        }),
      ),
    )!;
    expect(ghe).toMatchObject({ authorizationUri: 'https://ghe.example.com/login/oauth/authorize' });
    expect(providerKind(ghe).extraEndpoints(ghe)).toEqual([['emails', 'https://ghe.example.com/api/v3/user/emails']]);
  });
  it('requires https for provider endpoints outside loopback, and no credentials in them', () => {
    const r = compileAiryYaml(securityYaml({ ...base, provider: 'my', issuerUri: 'http://idp.example.com', jwkSetUri: 'https://u:p@idp.example.com/jwks' }));
    expect(errors(r.issues).map((i) => i.path)).toEqual(['security.issuerUri', 'security.jwkSetUri']);
  });
  it('requires allowedEmailPatterns with a login, so a provider alone never admits everyone', () => {
    const r = compileAiryYaml(securityYaml({ jwtSecret: TEST_JWT_SECRET, provider: 'github', clientId: 'a', clientSecret: 'b' }));
    expect(errors(r.issues)[0]).toMatchObject({ path: 'security.allowedEmailPatterns' });
  });
});

describe('named policies from a ConfigMap', () => {
  it('reads Airy Core-style flat keys policies.NAME.KEY into the same policies airy.yaml gives', () => {
    const r = compileConfigMapData(
      { systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, 'policies.sre.allowedGroups': 'sre,oncall', 'policies.sre.publicPaths': '/status' },
      undefined,
      { configMap: 'airy/security' },
    );
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.policy!.routeRules.names).toEqual(['sre']);
    expect([...r.policy!.routeRules.namedGroups]).toEqual(['sre', 'oncall']);
    const rule = r.policy!.routeRules.resolve('policy=sre');
    expect('label' in rule && rule.label).toBe('sre');
    const bad = compileConfigMapData({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, 'policies.sre.allowedGroupz': 'x' }, undefined, {
      configMap: 'airy/security',
    });
    expect(bad.issues.map((i) => i.path)).toContain('configmap airy/security key policies.sre.allowedGroupz');
  });
});
