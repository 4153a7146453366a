import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { createSessionVerifier } from '../../src/session/verifier.js';
import { CLI } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml, TEST_JWT_SECRET } from '../helpers/policies.js';

const dir = mkdtempSync(join(tmpdir(), 'airy-cli-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('airy-auth check', () => {
  it('exits 0 with a summary for a good config', () => {
    const r = run('check', file('good.yaml', securityYaml(PROTECTED)));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        'OK\\. Authentication is ON: .*Cross-origin requests are allowed from https://app\\.example\\.com, https://\\*\\.example\\.org\\. ' +
          'OIDC login is not configured\\.',
      ),
    );
    expect(r.stdout).not.toContain(PROTECTED.systemToken);
    expect(r.stdout).toContain('To apply it: with the Helm chart, `helm upgrade` with this config in values');
  });

  it('gives a located error, never a crash, for any config text: several YAML documents, a bad tag, a broken line', () => {
    for (const [name, text, expected] of [
      ['two-docs.yaml', `${securityYaml(PROTECTED)}---\nsecurity:\n  systemToken: other\n`, /holds 2 YAML documents/],
      ['tag.yaml', 'security: !!binary aGVsbG8=\n', /is not valid YAML: unknown tag .* at line 1/],
      ['broken.yaml', 'security:\n  systemToken: "open\n  jwtSecret: x\n', /is not valid YAML: .* at line \d+, column \d+/],
    ] as const) {
      const r = run('check', file(name, text));
      expect(r.status, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stdout + r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(/TypeError|Cannot read properties/);
    }
    // A trailing "---" line, as editors and Helm write, is fine.
    expect(run('check', file('trailing.yaml', `${securityYaml(PROTECTED)}---\n`)).status).toBe(0);
  });

  it('says loudly that publicPaths "/**" turns authentication off', () => {
    const r = run('check', file('open.yaml', securityYaml({ ...PROTECTED, publicPaths: '/**' })));
    expect(r.stdout + r.stderr).toMatch(/authentication is OFF: publicPaths "\/\*\*" makes every path public/);
  });

  it('lists every problem with key, problem, allowed values and fix, and exits 1', () => {
    const r = run(
      'check',
      file(
        'bad.yaml',
        `security:
  systemTokn: "abc"
  jwtSecret: "c2hvcnQ="
  allowedOrigins: "https://app.example.com/"
  oidc:
    provider: my-idp
    clientId: x
    clientSecret: y
    issuerUri: https://idp.example.com
    scope: "email"
    allowedEmailPatterns: "*@example.com"
`,
      ),
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('error: security.systemTokn: unknown key "systemTokn"\n    fix: did you mean "systemToken"?');
    expect(r.stdout).toContain('error: security.jwtSecret: decodes to 5 bytes; at least 32 are needed for HS256');
    expect(r.stdout).toContain('error: security.allowedOrigins: "https://app.example.com/" has a path, query or trailing slash');
    expect(r.stdout).toContain('fix: write "https://app.example.com"');
    expect(r.stdout).toContain('error: security.oidc.scope: "email" does not include "openid"');
    expect(r.stdout).toMatch(/4 errors; this config would be refused/);
  });

  it('says that auth is off, and why, when jwtSecret is missing', () => {
    const r = run('check', file('off.yaml', securityYaml({ systemToken: PROTECTED.systemToken })));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Authentication is OFF because jwtSecret is not set');
  });

  it('exits 1 for a missing file and 2 for a bad command line', () => {
    expect(run('check', join(dir, 'nope.yaml')).status).toBe(1);
    expect(run('check').status).toBe(2);
    expect(run('frobnicate').status).toBe(2);
  });
});

describe('airy-auth token', () => {
  it('prints a session JWT that the configured secret verifies', async () => {
    const r = run('token', '--config', file('t.yaml', securityYaml(PROTECTED)), '--sub', 'ci-bot', '--email', 'ci@example.com', '--ttl', '2h');
    expect(r.status).toBe(0);
    const token = r.stdout.trim();
    const key = compileAiryYaml(securityYaml({ systemToken: 'irrelevant-0000000000', jwtSecret: TEST_JWT_SECRET })).policy!.sessionKey!;
    const v = await createSessionVerifier(key).verify(token, Date.now());
    expect(v).toMatchObject({ ok: true, session: { sub: 'ci-bot', email: 'ci@example.com' } });
    if (v.ok) expect(v.session.exp - Date.now() / 1000).toBeGreaterThan(7100);
  });

  it('refuses a config without jwtSecret', () => {
    const r = run('token', '--config', file('nojwt.yaml', securityYaml({ systemToken: 'abc' })), '--sub', 'x');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('jwtSecret is not set');
  });
});

describe('the command line', () => {
  it('prints its version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^airy-auth \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [
      'serve',
      [
        '--config',
        '--configmap',
        '--secret',
        '--host',
        '--port',
        '--metrics-port',
        '--drain-seconds',
        '--shutdown-delay-seconds',
        '--log-requests',
        '--log-level',
        '--request-id-header',
        '--shadow-config',
        '--shadow-configmap',
        '--shadow-secret',
      ],
    ],
    ['check', ['--secret-file', '--strict', '--ingresses']],
    ['token', ['--config', '--secret-file', '--sub', '--email', '--name', '--groups', '--ttl']],
    ['configmap', ['--name', '--namespace', '--secret-name']],
    ['migrate', ['--to', '--gateway', '--gateway-namespace', '--allow-partial']],
    ['demo', ['--port', '--metrics-port']],
  ])('%s --help prints its usage with every flag and exits 0; an unknown flag exits 2 with that usage', (command, flags) => {
    const help = run(command, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^usage: airy-auth ${command}`));
    for (const flag of [...flags, '--help']) expect(help.stdout).toContain(`  ${flag}`);
    const bad = run(command, '--no-such-flag');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--no-such-flag'");
    expect(bad.stderr).toContain(`usage: airy-auth ${command}`);
  });
});

describe('serve --request-id-header', () => {
  it.each(['Authorization', 'cookie', 'X-Auth-Request-User', 'Content-Length', 'X-Original-URL'])(
    'refuses %s, which would echo or log a credential or overwrite a header it writes',
    (header) => {
      const r = run('serve', '--config', 'airy.yaml', '--request-id-header', header);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--request-id-header cannot be ${header}`);
    },
  );
});

describe('serve --shadow-config / --shadow-configmap', () => {
  it.each([
    [['--shadow-config', 'a.yaml', '--shadow-configmap', 'ns/cm'], 'at most one of --shadow-config FILE or --shadow-configmap'],
    [['--shadow-config', 'a.yaml', '--shadow-secret', 'ns/s'], '--shadow-secret goes with --shadow-configmap'],
    [['--shadow-configmap', 'Not_A_Name'], '--shadow-configmap: "Not_A_Name" is not [NAMESPACE/]NAME'],
    [['--shadow-configmap', 'ns/cm', '--shadow-secret', 'a/b/c'], '--shadow-secret: "a/b/c" is not [NAMESPACE/]NAME'],
  ])('refuses %j before starting anything', (flags, message) => {
    const r = run('serve', '--config', 'airy.yaml', ...flags);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: airy-auth serve');
  });
});

describe('airy-auth check for CI and the Helm layout', () => {
  const weak = securityYaml({ ...PROTECTED, systemToken: 'short-token' });

  it('--strict fails on warnings and on a config that leaves authentication off; plain check does not', () => {
    expect(run('check', file('weak.yaml', weak)).status).toBe(0);
    const strict = run('check', '--strict', file('weak.yaml', weak));
    expect(strict.status).toBe(1);
    expect(strict.stdout).toContain('--strict: 1 warning; failing');
    const off = file('off.yaml', securityYaml({ allowedOrigins: 'https://app.example.com' }));
    expect(run('check', off).status).toBe(0);
    expect(run('check', '--strict', off).stdout).toMatch(/authentication would be OFF; failing/);
    expect(run('check', '--strict', file('good.yaml', securityYaml(PROTECTED))).status).toBe(0);
  });

  it('reads the secrets from Secret manifests or key files, so the Helm layout checks without a false "auth is off"', () => {
    const config = file('helm-layout.yaml', securityYaml({ allowedOrigins: 'https://app.example.com' }));
    const secret = file(
      'secret.yaml',
      `apiVersion: v1\nkind: Secret\nmetadata: {name: airy-auth}\ndata:\n  jwtSecret: ${Buffer.from(PROTECTED.jwtSecret).toString('base64')}\n` +
        `stringData:\n  systemToken: "${PROTECTED.systemToken}"\n`,
    );
    const r = run('check', '--strict', config, '--secret-file', secret);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain('OK. Authentication is ON');
    const keys = file('keys.yaml', `systemToken: "${PROTECTED.systemToken}"\njwtSecret: "${PROTECTED.jwtSecret}"\n`);
    expect(run('check', '--strict', config, '--secret-file', keys).status).toBe(0);
    const broken = run('check', config, '--secret-file', file('bad-secret.yaml', 'kind: Secret\ndata:\n  systemTokn: eA==\n'));
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('unknown key "systemTokn"');
  });

  it('suggests the preset for a mistyped provider, and reports OIDC keys at their real path', () => {
    const r = run(
      'check',
      file(
        'typo.yaml',
        `security:\n  systemToken: "${PROTECTED.systemToken}"\n  jwtSecret: "${PROTECTED.jwtSecret}"\n  oidc:\n    provider: githb\n    clientId: x\n`,
      ),
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('error: security.oidc.provider: "githb" is not a preset');
    expect(r.stdout).toContain('fix: did you mean "github"?');
    expect(r.stdout).not.toContain('issuerUri: is required');
    const missing = run(
      'check',
      file(
        'nosecret.yaml',
        `security:\n  jwtSecret: "${PROTECTED.jwtSecret}"\n  oidc:\n    provider: github\n    clientId: x\n    allowedEmailPatterns: "*@example.com"\n`,
      ),
    );
    expect(missing.stdout).toContain('error: security.oidc.clientSecret: is required');
  });
});

describe('airy-auth check with named policies', () => {
  it('validates every policy at once, with its path, the allowed keys and a fix', () => {
    const r = run(
      'check',
      file(
        'policies.yaml',
        `${securityYaml(PROTECTED)}  policies:\n    Bad Name: {allowedGroups: x}\n    sre:\n      allowedGroup: sre\n      allowedOrigins: "example.com"\n` +
          '    empty: {}\n    listy: [a]\n',
      ),
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('error: security.policies.Bad Name: "Bad Name" is not a policy name');
    expect(r.stdout).toContain('error: security.policies.sre.allowedGroup: unknown policy key "allowedGroup"');
    expect(r.stdout).toContain('fix: did you mean "allowedGroups"?');
    expect(r.stdout).toContain('error: security.policies.sre.allowedOrigins: "example.com" is not an origin');
    expect(r.stdout).toContain('warning: security.policies.empty: sets no rule');
    expect(r.stdout).toContain('error: security.policies.listy: must be a mapping of rules');
  });

  it('accepts well-formed policies beside a global allowedGroups', () => {
    const ok = run(
      'check',
      file('good-policies.yaml', `${securityYaml({ ...PROTECTED, allowedGroups: 'staff' })}  policies:\n    sre: {allowedGroups: "sre,oncall"}\n`),
    );
    expect(ok.status, ok.stdout).toBe(0);
  });
});

describe('airy-auth check --ingresses', () => {
  it('reports every Ingress whose auth-url asks for a rule the config does not know, and exits 1', () => {
    const config = file('rules.yaml', `${securityYaml(PROTECTED)}  policies:\n    sre: {allowedGroups: sre}\n`);
    const list = (urls: string[]) =>
      `apiVersion: v1\nkind: List\nitems:\n${urls
        .map(
          (u, i) =>
            `- apiVersion: networking.k8s.io/v1\n  kind: Ingress\n  metadata:\n    name: app-${i}\n    namespace: shop\n` +
            `    annotations:\n      nginx.ingress.kubernetes.io/auth-url: "${u}"\n  spec: {}\n`,
        )
        .join('')}`;
    const base = 'http://airy-auth.airy-auth.svc.cluster.local:8080/auth';
    const bad = run(
      'check',
      config,
      '--ingresses',
      file('bad-ingresses.yaml', list([`${base}?policy=sre`, `${base}?policy=nope`, `${base}?allowed_group=x`, base])),
    );
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('Ingress shop/app-1: auth-url unknown policy "nope"');
    expect(bad.stdout).toContain('fix: configured policies: sre');
    expect(bad.stdout).toContain('Ingress shop/app-2: auth-url unknown auth URL parameter "allowed_group"');
    expect(bad.stdout).toContain('4 Ingress(es), 3 with rules on auth-url, 2 this config does not know');
    const good = run(
      'check',
      config,
      '--ingresses',
      file('good-ingresses.yaml', list([`${base}?policy=sre`, `${base}?allowed_groups=a,b&allowed_emails=x@example.com`])),
    );
    expect(good.status, good.stdout).toBe(0);
  });
});
