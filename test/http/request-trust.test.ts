import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

/**
 * Every allow is for the request the backend serves, by someone still entitled to it: the cases
 * of issue 20's first section, one by one, against the real server in this process.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com,*@kelvin.io,*@partner.io"
  publicPaths: "/webhooks/**"
  revokedSubjects: "admin"
  policies:
    admins:
      allowedGroups: "admins"
    bots:
      allowedGroups: "admins"
      allowSystemToken: true
    partner:
      allowedOrigins: "https://partner.io"
`;

describe('the request the backend serves', () => {
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    const compiled = compileAiryYaml(CONFIG);
    expect(compiled.issues.filter((i) => i.severity === 'error')).toEqual([]);
    srv = await startInProcess(compiled, () => allRoutes());
    const key = compiled.policy!.sessionKey!;
    const mint = (sub: string, email: string, groups?: string[]) => mintSession(key, { sub, email, groups }, 600, Date.now());
    tokens.ann = await mint('ann-id', 'ann@example.com');
    tokens.admin = await mint('root-id', 'root@example.com', ['admins']);
    tokens.spaced = await mint(' admin ', 'spaced@example.com');
    tokens.spacedEmail = await mint('spaced-id', ' boss@example.com');
    tokens.kelvin = await mint('k-id', 'eve@\u212Aelvin.io');
    tokens.twoAt = await mint('two-id', 'eve@evil.com@example.com');
  });
  afterAll(() => srv?.close());

  const ask = async (path: string, headers: Record<string, string>) => {
    const res = await request(`${srv.url}${path}`, { headers });
    const body = await res.body.text();
    return { status: res.statusCode, user: res.headers['x-auth-request-user'], body };
  };
  const bearer = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const api = { accept: 'application/json' };

  describe("Traefik's ingress-nginx provider shape on /auth: X-Forwarded-* set by the gateway, X-Original-URL by the client", () => {
    it('refuses a forged X-Original-URL naming a public path while X-Forwarded-Uri names the real one', async () => {
      const r = await ask('/auth', {
        ...api,
        host: 'airy-auth.svc',
        'x-original-url': 'https://app.example.com/webhooks/x',
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.example.com',
        'x-forwarded-uri': '/admin',
      });
      expect(r.status).toBe(403);
      expect(r.body).toContain('X-Forwarded-Uri');
    });
    it('refuses a forged X-Original-URL naming another host than X-Forwarded-Host', async () => {
      const r = await ask('/auth', {
        ...api,
        'x-original-url': 'https://public.example.com/webhooks/x',
        'x-forwarded-host': 'admin.example.com',
        'x-forwarded-uri': '/webhooks/x',
      });
      expect(r.status).toBe(403);
    });
    it('still answers when both name the same request (host case aside)', async () => {
      const headers = {
        ...api,
        'x-original-url': 'https://App.example.com/webhooks/x?a=1',
        'x-forwarded-host': 'app.example.com',
        'x-forwarded-uri': '/webhooks/x?a=1',
      };
      expect((await ask('/auth', headers)).status).toBe(200);
    });
  });

  describe('route rules on the auth URL apply on every call (fail closed)', () => {
    it('applies ?allowed_groups= on /auth without X-Original-URL', async () => {
      expect((await ask('/auth?allowed_groups=admins', { ...bearer('ann'), host: 'app.example.com' })).status).toBe(403);
      expect((await ask('/auth?allowed_groups=admins', { ...bearer('admin'), host: 'app.example.com' })).status).toBe(200);
    });
    it('applies ?policy= on /auth without X-Original-URL, and refuses an unknown one', async () => {
      expect((await ask('/auth?policy=admins', { ...bearer('ann'), host: 'app.example.com' })).status).toBe(403);
      expect((await ask('/auth?policy=nope', { ...bearer('admin'), host: 'app.example.com' })).status).toBe(403);
    });
  });

  describe('/forward-auth never drops a rule because the client repeats the query', () => {
    const fwd = (uri: string) => ({ 'x-forwarded-host': 'app.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-uri': uri });
    it('refuses an unreadable rule even when the original request carries the same query', async () => {
      const query = 'allowed_groups=admins&debug=1';
      const r = await ask(`/forward-auth?${query}`, { ...bearer('ann'), ...fwd(`/admin?${query}`), ...api });
      expect(r.status).toBe(403);
    });
    it('applies a readable rule that the client repeats', async () => {
      expect((await ask('/forward-auth?allowed_groups=admins', { ...bearer('ann'), ...fwd('/x?allowed_groups=admins'), ...api })).status).toBe(403);
    });
    it("still reads a query without rule keys that is the client's own as the app's (Caddy)", async () => {
      expect((await ask('/forward-auth?tab=open', { ...bearer('ann'), ...fwd('/x?tab=open'), ...api })).status).toBe(200);
    });
  });

  describe('the systemToken does not pass a rule that names people', () => {
    const sys = { authorization: `Bearer ${TEST_SYSTEM_TOKEN}`, host: 'app.example.com' };
    it.each([
      ['?allowed_emails=boss@example.com', 403],
      ['?allowed_email_domains=example.com', 403],
      ['?allowed_groups=admins', 403],
      ['?policy=admins', 403],
      ['?policy=bots', 200],
      ['?policy=bots&allowed_groups=admins', 403],
      ['?policy=partner', 200],
      ['', 200],
    ])('/auth%s answers %i', async (query, status) => {
      const r = await ask(`/auth${query}`, sys);
      expect(r.status).toBe(status);
      if (status === 200) expect(r.user).toBe('system-token');
    });
    it('takes allowSystemToken as true or false only, in YAML or a ConfigMap string', () => {
      const bad = compileAiryYaml(CONFIG.replace('allowSystemToken: true', 'allowSystemToken: "yes"'));
      expect(bad.issues.filter((i) => i.severity === 'error').map((i) => i.path)).toEqual(['security.policies.bots.allowSystemToken']);
      expect(compileAiryYaml(CONFIG.replace('allowSystemToken: true', 'allowSystemToken: "true"')).policy).toBeDefined();
    });
    it('says why in the decision metric', async () => {
      await ask('/auth?policy=admins', sys);
      expect(await srv.metric('airy_auth_decisions_total', { status: '403', reason: 'system_token_not_allowed' })).toBeGreaterThan(0);
    });
  });

  describe('identity text', () => {
    it('refuses a subject with white space at either end: it would reach the upstream trimmed, past revokedSubjects', async () => {
      const r = await ask('/auth', { ...bearer('spaced'), host: 'app.example.com' });
      expect(r.status).toBe(401);
      expect(r.user).toBeUndefined();
    });
    it('refuses an email with white space at either end', async () => {
      expect((await ask('/auth?allowed_emails=boss@example.com', { ...bearer('spacedEmail'), host: 'app.example.com' })).status).toBe(401);
      expect((await ask('/auth', { ...bearer('spacedEmail'), host: 'app.example.com' })).status).toBe(401);
    });
    it('does not let a non-ASCII letter that folds into ASCII pass an ASCII domain rule', async () => {
      expect((await ask('/auth', { ...bearer('kelvin'), host: 'app.example.com' })).status).toBe(403);
      expect((await ask('/auth?allowed_email_domains=kelvin.io', { ...bearer('kelvin'), host: 'app.example.com' })).status).toBe(403);
      expect((await ask('/auth?allowed_emails=eve@kelvin.io', { ...bearer('kelvin'), host: 'app.example.com' })).status).toBe(403);
    });
    it('does not let a second @ end in an allowed domain', async () => {
      expect((await ask('/auth?allowed_email_domains=example.com', { ...bearer('twoAt'), host: 'app.example.com' })).status).toBe(403);
    });
  });

  describe('warnings about a rule that cannot be applied', () => {
    it('never quotes a query value, cuts keys short, names the host, says each mistake once and rate-limits a flood of unique ones', async () => {
      const before = srv.logger.lines.length;
      const long = 'x'.repeat(5000);
      await ask(`/auth?policy=${long}`, { host: 'shop.example.com' });
      await ask(`/auth?policy=${long}`, { host: 'shop.example.com' });
      await ask(`/auth?${'k'.repeat(5000)}=1`, { host: 'shop.example.com' });
      // Unique values are one mistake (the value is never said); unique keys are many, rate-limited.
      for (let i = 0; i < 200; i++) await ask(`/auth?policy=p${i}`, { host: 'flood.example.com' });
      for (let i = 0; i < 200; i++) await ask(`/auth?k${i}=1`, { host: 'flood.example.com' });
      const warns = srv.logger.lines.slice(before).filter((l) => l.level === 'warn');
      const first = warns[0]!;
      expect(first.fields.host).toBe('shop.example.com');
      expect(String(first.fields.problem)).toMatch(/^unknown policy;/);
      expect(warns.filter((l) => JSON.stringify(l).includes('xxxx'))).toEqual([]);
      expect(warns.filter((l) => /^unknown policy;/.test(String(l.fields.problem)))).toHaveLength(2);
      const longKey = warns.filter((l) => String(l.fields.problem).includes('kkkk'));
      expect(longKey).toHaveLength(1);
      expect(String(longKey[0]!.fields.problem).length).toBeLessThan(400);
      expect(warns.length).toBeLessThanOrEqual(11);
    });
  });
});
