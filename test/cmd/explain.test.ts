import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configmapCommand } from '../../cmd/configmap.js';
import { explainCommand } from '../../cmd/explain.js';
import { compileAiryYaml } from '../../src/config/load.js';
import {
  CORE_TABLE_CONFIG,
  coreTable,
  mintCoreTokens,
  mintRulesTokens,
  RULES_TABLE_CONFIG,
  RULES_TABLE_POLICY,
  rulesTable,
} from '../helpers/decision-tables.js';
import type { Row } from '../helpers/gateways.js';
import { startInProcess } from '../helpers/in-process.js';
import { REPO_ROOT } from '../helpers/repo.js';

/** Not any Origin of the tables: their origin rows are cross-origin, as through the gateways. */
const APP = 'https://gateway.internal.test';

interface Answer {
  status: number;
  reason: string | undefined;
  ruleKey: string | undefined;
  user: string | undefined;
}

async function explain(configFile: string, args: string[]): Promise<{ code: number; json: Record<string, unknown>; err: string }> {
  let out = '';
  let err = '';
  const code = await explainCommand(
    [configFile, ...args, '--json'],
    (s) => {
      out += s;
    },
    (s) => {
      err += s;
    },
  );
  return { code, json: JSON.parse(out) as Record<string, unknown>, err };
}

/**
 * The same request through the server's /auth and through `explain`: the status, the reason and
 * the user must agree on every row of the decision tables the gateways are tested with.
 */
for (const table of [
  { name: 'core', config: CORE_TABLE_CONFIG, policy: undefined, mint: mintCoreTokens, rows: coreTable },
  { name: 'rules', config: RULES_TABLE_CONFIG, policy: RULES_TABLE_POLICY, mint: mintRulesTokens, rows: rulesTable },
]) {
  describe(`explain agrees with the server: the ${table.name} decision table`, () => {
    const tokens: Record<string, string> = {};
    const rows = table.rows(tokens);
    let server: Awaited<ReturnType<typeof startInProcess>>;
    let configFile: string;
    const query = table.policy ? `?policy=${table.policy}` : '';

    beforeAll(async () => {
      const compiled = compileAiryYaml(table.config);
      server = await startInProcess(compiled);
      await table.mint(compiled.policy!.sessionKey!, tokens);
      configFile = join(mkdtempSync(join(tmpdir(), 'airy-explain-')), 'airy.yaml');
      writeFileSync(configFile, table.config);
    });
    afterAll(async () => server?.close());

    async function served(row: Row): Promise<Answer> {
      const before = server.logger.lines.length;
      const res = await request(`${server.url}/auth${query}`, {
        headers: { ...row.headers(), 'x-original-url': `${APP}${row.path}`, 'x-original-method': row.method ?? 'GET' },
      });
      await res.body.dump();
      const logged = server.logger.lines.slice(before).find((l) => l.fields.reason !== undefined);
      const user = res.headers['x-auth-request-user'];
      return {
        status: res.statusCode,
        reason: logged?.fields.reason as string | undefined,
        ruleKey: logged?.fields.ruleKey as string | undefined,
        user: typeof user === 'string' ? user : undefined,
      };
    }

    it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
      const server = await served(row);
      const headers = Object.entries(row.headers()).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);
      const args = ['--url', `${APP}${row.path}`, '--method', row.method ?? 'GET', '--auth-url', `http://airy-auth/auth${query}`, ...headers];
      const explained = await explain(configFile, args);
      expect(explained.err).toBe('');
      expect(explained.json.status).toBe(server.status);
      expect(explained.code).toBe(server.status === 200 ? 0 : 1);
      expect(server.status).toBe(row.decision);
      if (server.status === 200) expect(explained.json.user ?? '').toBe(server.user ?? '');
      else {
        expect(explained.json.reason).toBe(server.reason);
        // The log line names the rule that refused, as explain does.
        expect(explained.json.key).toBe(server.ruleKey);
        const failed = (explained.json.steps as { ok: boolean; key?: string }[]).filter((s) => !s.ok);
        expect(failed.length, 'exactly one step refused').toBe(1);
        if (server.ruleKey !== undefined) expect(failed[0]!.key).toBe(server.ruleKey);
      }
    });
  });
}

/** Shell words of a documented command line: single quotes, and `\` line continuations. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  for (const m of text.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2]!);
  return words;
}

describe('the explain example of docs/rules.md', () => {
  it('prints what the page shows', async () => {
    const page = readFileSync(join(REPO_ROOT, 'docs/rules.md'), 'utf8');
    const section = page.slice(page.indexOf('## Why was a request refused?'));
    const [, command, shown] = /```sh\n([\s\S]*?)```\n\n```\n([\s\S]*?)```/.exec(section)!;
    const words = shellWords(command!);
    expect(words.slice(0, 3)).toEqual(['airy-auth', 'explain', 'airy.yaml']);
    const configFile = join(mkdtempSync(join(tmpdir(), 'airy-explain-doc-')), 'airy.yaml');
    writeFileSync(configFile, RULES_TABLE_CONFIG);
    let out = '';
    const code = await explainCommand(
      [configFile, ...words.slice(3)],
      (s) => {
        out += s;
      },
      () => {},
    );
    expect(out).toBe(shown);
    expect(code).toBe(1);
  });
});

describe('explain names the rule that refused, wherever it was written', () => {
  const config = `security:
  systemToken: "0123456789abcdef0123456789abcdef"
  jwtSecret: "${Buffer.alloc(40, 3).toString('base64')}"
  allowedEmailPatterns: "*@example.com"
  allowedGroups: "staff"
  revokedEmails: "gone@example.com"
  policies:
    grafana:
      allowedGroups: "sre"
      allowedOrigins: "https://grafana.example.com"
`;
  let file: string;
  beforeAll(() => {
    file = join(mkdtempSync(join(tmpdir(), 'airy-explain-keys-')), 'airy.yaml');
    writeFileSync(file, config);
  });
  const auth = (q: string) => ['--auth-url', `http://airy-auth/auth${q}`];

  it.each([
    ['the global groups', ['--as', 'a@example.com', '--groups', 'sre'], '', 'group_not_allowed', 'security.allowedGroups'],
    ["the policy's groups", ['--as', 'a@example.com', '--groups', 'staff'], '?policy=grafana', 'group_not_allowed', 'security.policies.grafana.allowedGroups'],
    [
      "the auth URL's groups",
      ['--as', 'a@example.com', '--groups', 'staff,sre'],
      '?policy=grafana&allowed_groups=ops',
      'group_not_allowed',
      'auth URL allowed_groups',
    ],
    ['the global emails', ['--as', 'a@elsewhere.io', '--groups', 'staff'], '', 'email_not_allowed', 'security.allowedEmailPatterns'],
    [
      "the auth URL's emails",
      ['--as', 'a@example.com', '--groups', 'staff'],
      '?allowed_emails=b@example.com',
      'email_not_allowed',
      'auth URL allowed_emails, allowed_email_domains',
    ],
    ['a revoked email', ['--as', 'gone@example.com', '--groups', 'staff'], '', 'session_revoked', 'security.revokedEmails'],
    [
      "the policy's origins",
      ['--as', 'a@example.com', '--groups', 'staff,sre', '--origin', 'https://x.example.com'],
      '?policy=grafana',
      'origin_not_allowed',
      'security.allowedOrigins',
    ],
    ['an unknown policy', ['--as', 'a@example.com'], '?policy=nope', 'invalid_rule', 'auth URL query'],
    [
      'the systemToken on a policy naming people',
      ['--token', '0123456789abcdef0123456789abcdef'],
      '?policy=grafana',
      'system_token_not_allowed',
      'security.policies.grafana.allowSystemToken',
    ],
  ])('%s', async (_name, credential, query, reason, key) => {
    const { json, code } = await explain(file, ['--url', 'https://app.example.com/x', ...auth(query), ...credential]);
    expect(code).toBe(1);
    expect(json).toMatchObject({ reason, key });
    const failed = (json.steps as { ok: boolean; key?: string }[]).filter((s) => !s.ok);
    expect(failed).toEqual([expect.objectContaining({ key })]);
  });

  it('an allow lists every check it passed, and usage mistakes exit 2', async () => {
    const { json, code } = await explain(file, ['--url', 'https://app.example.com/x', '--as', 'a@example.com', '--groups', 'staff']);
    expect(code).toBe(0);
    expect((json.steps as { step: string }[]).map((s) => s.step)).toEqual([
      'config',
      'route_rule',
      'origin',
      'credential',
      'identity',
      'revocation',
      'emails',
      'groups',
    ]);
    await expect(
      explainCommand(
        [file, '--url', 'https://a.example.com/', '--as', 'a@example.com', '--token', 'x'],
        () => {},
        () => {},
      ),
    ).rejects.toThrow(/two credentials/);
    await expect(
      explainCommand(
        [file],
        () => {},
        () => {},
      ),
    ).rejects.toThrow(/--url/);
  });
});

describe('explain reads what check reads', () => {
  it('a ConfigMap and its Secret, as `airy-auth configmap` prints them, decide as the airy.yaml does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airy-explain-cm-'));
    const airyYaml = join(dir, 'airy.yaml');
    writeFileSync(airyYaml, RULES_TABLE_CONFIG);
    let manifests = '';
    const printed = await configmapCommand(
      [airyYaml, '--secret-name', 'airy-auth-secrets'],
      (s) => {
        manifests += s;
      },
      () => {},
    );
    expect(printed).toBe(0);
    const applied = join(dir, 'applied.yaml');
    writeFileSync(applied, manifests);
    const args = ['--url', 'https://grafana.example.com/d/1', '--auth-url', 'http://airy-auth/auth?policy=grafana', '--as', 'ann@example.com'];
    for (const groups of ['support', 'oncall']) {
      const fromYaml = await explain(airyYaml, [...args, '--groups', groups]);
      const fromManifests = await explain(applied, [...args, '--groups', groups]);
      expect(fromManifests.json).toEqual(fromYaml.json);
      const code = await explainCommand(
        ['--configmap', applied, ...args, '--groups', groups, '--json'],
        () => {},
        () => {},
      );
      expect(code).toBe(fromYaml.code);
    }
    expect((await explain(applied, [...args, '--groups', 'support'])).json).toMatchObject({ status: 403, key: 'security.policies.grafana.allowedGroups' });
  });
});
