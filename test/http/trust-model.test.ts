import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';

/**
 * docs/security.md's trust table, enforced: for every adapter, every header that its gateway
 * passes from the client is sent forged (and under its underscore spelling, which some gateways
 * also pass) on a call shaped exactly as that gateway makes it, with and without a valid session;
 * the answer (status and identity headers) must not change. The one documented exception, a
 * header marked "refused when it disagrees", may only turn the answer into a 403.
 */
interface TrustRow {
  readonly adapter: string;
  readonly passed: readonly { name: string; refusedWhenDisagrees: boolean }[];
}

function trustTable(): TrustRow[] {
  const text = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
  const start = text.indexOf('<!-- trust-model:');
  expect(start).toBeGreaterThan(0);
  const rows = text
    .slice(start)
    .split('\n')
    .slice(1)
    .filter((l, i, all) => l.startsWith('|') && all.slice(0, i).every((p) => p.startsWith('|')))
    .slice(2);
  return rows.map((line) => {
    const cells = line.split(' | ');
    const adapter = /`([^`]+)`/.exec(cells[0]!)![1]!;
    const passed = [...cells[3]!.matchAll(/`([^`]+)`( \(refused when it disagrees\))?/g)].map((m) => ({
      name: m[1]!.toLowerCase(),
      refusedWhenDisagrees: m[2] !== undefined,
    }));
    return { adapter, passed };
  });
}

/** A value for each header that would, if read, make the protected request look public, another host, or another person. */
const FORGERIES: Record<string, readonly string[]> = {
  'x-original-url': ['https://app.example.com/webhooks/x', 'https://public.example.com/webhooks/x'],
  'x-original-method': ['OPTIONS', 'HEAD'],
  'x-forwarded-uri': ['/webhooks/x', '/webhooks/x?tab=1'],
  'x-forwarded-host': ['public.example.com'],
  'x-forwarded-method': ['OPTIONS'],
  path: ['/webhooks/x'],
  method: ['OPTIONS'],
  forwarded: ['for=192.0.2.1;host=public.example.com;proto=https'],
  'x-original-uri': ['/webhooks/x'],
  'x-rewrite-url': ['/webhooks/x'],
  'x-auth-request-user': ['admin'],
  'x-auth-request-email': ['boss@example.com'],
  'x-auth-request-groups': ['admins'],
  'x-auth-request-jwt': ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.'],
};

/** The protected request `GET https://app.example.com/admin/x?tab=1`, as each gateway asks about it. */
const TARGET = '/admin/x?tab=1';
const GATEWAY_CALLS: Record<string, { path: string; headers: Record<string, string> }> = {
  '/auth': {
    path: '/auth',
    headers: {
      host: 'airy-auth.airy-auth.svc',
      'x-original-url': `https://app.example.com${TARGET}`,
      'x-original-method': 'GET',
      'x-forwarded-for': '192.0.2.7',
      'x-real-ip': '192.0.2.7',
      'x-request-id': 'r1',
    },
  },
  '/forward-auth': {
    path: '/forward-auth',
    headers: {
      host: 'airy-auth.airy-auth.svc',
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      'x-forwarded-uri': TARGET,
      'x-forwarded-for': '192.0.2.7',
    },
  },
  '/envoy/': { path: `/envoy${TARGET}`, headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' } },
  '/gateway-api/': { path: `/gateway-api${TARGET}`, headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' } },
  '/gateway-api': { path: '/gateway-api', headers: { host: 'app.example.com', 'x-forwarded-proto': 'https', path: TARGET, method: 'GET' } },
};

describe('docs/security.md trust table: a header the gateway passes from the client changes nothing', () => {
  const table = trustTable();
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  let session = '';
  beforeAll(async () => {
    const compiled = compileAiryYaml(securityYaml(PROTECTED));
    srv = await startInProcess(compiled, () => allRoutes());
    session = await mintSession(compiled.policy!.sessionKey!, { sub: 'ann-id', email: 'ann@example.com', groups: ['staff'] }, 600, Date.now());
  });
  afterAll(() => srv?.close());

  const outcome = async (path: string, headers: Record<string, string>) => {
    const res = await request(`${srv.url}${path}`, { headers: { accept: 'application/json', ...headers } });
    await res.body.dump();
    const h = (name: string) => res.headers[name] ?? '-';
    const identity = `user=${h('x-auth-request-user')} email=${h('x-auth-request-email')} groups=${h('x-auth-request-groups')}`;
    return `${res.statusCode} ${identity} jwt=${h('x-auth-request-jwt')}`;
  };

  it('lists every gateway adapter, each with the headers its gateway passes', () => {
    expect(table.map((r) => r.adapter).sort()).toEqual(Object.keys(GATEWAY_CALLS).sort());
    for (const row of table) {
      expect(row.passed.length).toBeGreaterThan(5);
      for (const h of row.passed) expect(FORGERIES[h.name], `a forgery for ${h.name}`).toBeDefined();
    }
  });

  for (const row of table) {
    it(`${row.adapter}: every passed header, forged, with and without a session`, async () => {
      const call = GATEWAY_CALLS[row.adapter]!;
      const changed: string[] = [];
      for (const credentials of [{}, { authorization: `Bearer ${session}` }]) {
        const baseline = await outcome(call.path, { ...call.headers, ...credentials });
        expect(baseline.startsWith(Object.keys(credentials).length === 0 ? '401' : '200 user=ann-id')).toBe(true);
        for (const { name, refusedWhenDisagrees } of row.passed) {
          for (const value of FORGERIES[name]!) {
            for (const spelling of [name, name.replaceAll('-', '_')]) {
              // A header the gateway sets itself is replaced by it; only the client's other copies arrive.
              if (spelling in call.headers) continue;
              const seen = await outcome(call.path, { ...call.headers, ...credentials, [spelling]: value });
              const allowed = seen === baseline || (refusedWhenDisagrees && spelling === name && seen.startsWith('403 '));
              if (!allowed) changed.push(`${spelling}: ${value} → ${seen} (was ${baseline})`);
            }
          }
        }
      }
      expect(changed).toEqual([]);
    });
  }
});
