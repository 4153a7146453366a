import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mintSession } from '../../src/session/mint.js';
import { caddyInstalled } from '../helpers/caddy.js';
import { expectRowEverywhere, type Gateway, startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';

const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/webhooks/**"
`;

/**
 * The classes of the 2023-2026 security advisories of oauth2-proxy, Authelia and Pomerium, one
 * test per class, each through every gateway in front of airy-auth (ingress-nginx and NGINX
 * Gateway Fabric through real nginx, Caddy, an Envoy ext_authz and a Gateway API gateway), and
 * through the calls Traefik makes (no Traefik binary here: its ForwardAuth call, and its
 * ingress-nginx provider's call to `/auth`, are sent as Traefik's `writeHeader` builds them).
 * Requests go out as raw bytes, so no client library normalizes the attack away; a gateway may
 * refuse a request itself, but no request without credentials may ever be answered 200.
 */
describeWithTools('peer advisories, one class per test, through every gateway', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  let gateways: Gateway[] = [];
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    table = await startGatewayTable(CONFIG);
    gateways = table.gateways;
    const mint = (sub: string, email: string) => mintSession(table.key, { sub, email }, 600, Date.now());
    tokens.ann = await mint('ann-id', 'ann@example.com');
    tokens.upper = await mint('upper-id', 'Ann@EXAMPLE.com');
    for (const [name, email] of Object.entries({
      twoAt: 'eve@evil.com@example.com',
      suffix: 'eve@example.com.evil.io',
      prefix: 'eve@evil-example.com',
      sub: 'eve@sub.example.com',
      trailingDot: 'eve@example.com.',
      quoted: '"eve@evil.io"@example.com',
      kelvin: 'eve@\u212Axample.com',
    })) {
      tokens[name] = await mint(`${name}-id`, email);
    }
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  /**
   * The status of a raw request, as the client receives it. The socket stays open until the answer
   * (a half-closed client makes nginx abandon the request, and Caddy answer without asking).
   */
  const status = (url: string, path: string, headers: Record<string, string | string[]> = {}) =>
    new Promise<number>((resolve, reject) => {
      const { host, port } = new URL(url);
      const lines = [`GET ${path} HTTP/1.1`, ...('Host' in headers ? [] : [`Host: ${host}`]), 'Accept: application/json', 'Connection: close'];
      for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) lines.push(`${name}: ${v}`);
      const socket = connect(Number(port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => {
        data += d.toString('latin1');
        const line = /^HTTP\/1\.[01] (\d{3})/.exec(data);
        if (line) {
          socket.destroy();
          resolve(Number(line[1]));
        }
      });
      socket.on('close', () => reject(new Error(`no status line for ${path} from ${url}: ${JSON.stringify(data.slice(0, 200))}`)));
      socket.on('error', reject);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });

  /** Traefik's two calls for a client request of `path` with `clientHeaders` (forward.go and ingressnginx/snippet writeHeader). */
  const traefikCalls = (path: string, clientHeaders: Record<string, string | string[]>, host = 'app.example.com') => {
    const set = {
      'X-Forwarded-Method': 'GET',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': host,
      'X-Forwarded-Uri': path,
      'X-Forwarded-For': '192.0.2.7',
    };
    // Traefik deletes then sets its four headers: a client copy of the same name never arrives.
    const copied = Object.fromEntries(Object.entries(clientHeaders).filter(([n]) => !Object.keys(set).some((s) => s.toLowerCase() === n.toLowerCase())));
    return [
      { name: 'Traefik ForwardAuth', path: '/forward-auth', headers: { ...copied, ...set } },
      { name: "Traefik's ingress-nginx provider (auth-url at /auth)", path: '/auth', headers: { ...copied, ...set } },
      { name: "Traefik's ingress-nginx provider (auth-url at /forward-auth)", path: '/forward-auth', headers: { ...copied, ...set } },
    ];
  };

  /** Every gateway and every Traefik call: without credentials, `path` must never be allowed. */
  const expectNeverAllowed = async (paths: readonly string[], headers: Record<string, string | string[]> = {}) => {
    const allowed: string[] = [];
    for (const path of paths) {
      for (const g of gateways) {
        const s = await status(g.url, path, headers);
        if (s >= 200 && s < 300) allowed.push(`${g.name} ${path} → ${s}`);
      }
      for (const call of traefikCalls(path, headers)) {
        const s = await status(table.airy.url, call.path, call.headers);
        if (s >= 200 && s < 300) allowed.push(`${call.name} ${path} → ${s}`);
      }
    }
    expect(allowed).toEqual([]);
  };

  /** The positive control: a really public path is allowed everywhere, so a "never allowed" above is not a broken setup. */
  const expectAllowedEverywhere = async (path: string) => {
    for (const g of gateways) expect(await status(g.url, path), `${g.name} ${path}`).toBe(200);
    for (const call of traefikCalls(path, {}).filter((c) => c.path === '/forward-auth')) {
      expect(await status(table.airy.url, call.path, call.headers), `${call.name} ${path}`).toBe(200);
    }
  };

  it('public rules never match the query or a fragment (oauth2-proxy GHSA-7rh7-c77v-6434, GHSA-pxq7-h93f-9jrg)', async () => {
    await expectAllowedEverywhere('/webhooks/x?next=/admin');
    await expectNeverAllowed([
      '/admin?/webhooks/x',
      '/admin?r=/webhooks/x',
      '/admin?x=1&/webhooks/',
      '/admin#/webhooks/x',
      '/admin#/../webhooks/x',
      '/admin%23/../webhooks/x',
      '/admin%3F/../webhooks/x',
    ]);
  });

  it('forwarded headers sent by the client never describe the request (oauth2-proxy GHSA-7x63-xv5r-3p2x)', async () => {
    const forged: Record<string, string>[] = [
      { 'X-Forwarded-Uri': '/webhooks/x' },
      { 'X-Forwarded-Uri': '/webhooks/x', 'X-Forwarded-Host': 'app.example.com', 'X-Forwarded-Method': 'GET' },
      { 'X-Original-URL': 'https://app.example.com/webhooks/x' },
      { 'X-Original-URL': 'https://app.example.com/webhooks/x', 'X-Original-Method': 'GET' },
      { 'X-Original-URI': '/webhooks/x', 'X-Rewrite-URL': '/webhooks/x' },
      { Forwarded: 'for=192.0.2.1;host=app.example.com;proto=https', Path: '/webhooks/x', Method: 'GET' },
    ];
    for (const headers of forged) await expectNeverAllowed(['/admin', '/api/admin'], headers);
  });

  it('header name variants are other headers: underscores, case, repeats (oauth2-proxy GHSA-vjrc-mh2v-45x6)', async () => {
    await expectNeverAllowed(['/admin'], { X_Original_URL: 'https://app.example.com/webhooks/x', X_Forwarded_Uri: '/webhooks/x' });
    await expectNeverAllowed(['/admin'], { 'x-original-url': 'https://app.example.com/webhooks/x', 'X-FORWARDED-URI': '/webhooks/x' });
    await expectNeverAllowed(['/admin'], { 'X-Original-URL': ['https://app.example.com/admin', 'https://app.example.com/webhooks/x'] });
    await expectNeverAllowed(['/admin'], { Authorization: ['Bearer not-a-token', `Bearer ${TEST_SYSTEM_TOKEN}`] });
    // An allow always carries airy-auth's identity over the client's, whatever spelling the client used for its own.
    await expectRowEverywhere(gateways, {
      name: 'forged identity in other case',
      path: '/api/x',
      headers: () => ({ authorization: `Bearer ${tokens.ann}`, 'X-AUTH-REQUEST-USER': 'admin', 'x-auth-request-email': 'boss@example.com' }),
      decision: 200,
      user: 'ann-id',
      email: 'ann@example.com',
    });
  });

  it('hosts in other case are the same host, and a trailing dot is refused (Authelia CVE-2026-48794)', async () => {
    const forwardAuth = (path: string, host: string) => traefikCalls(path, {}, host).filter((c) => c.path === '/forward-auth');
    for (const call of forwardAuth('/webhooks/x', 'APP.Example.COM')) expect(await status(table.airy.url, call.path, call.headers)).toBe(200);
    for (const host of ['app.example.com.', 'APP.EXAMPLE.COM.', 'app.example.com.:443']) {
      for (const call of forwardAuth('/webhooks/x', host)) expect(await status(table.airy.url, call.path, call.headers), host).toBe(400);
      // 403 on /auth: nginx's auth_request would turn a 400 into a 500.
      expect(await status(table.airy.url, '/auth', { 'X-Original-URL': `https://${host}/webhooks/x` }), host).toBe(403);
      expect(await status(table.airy.url, '/envoy/webhooks/x', { Host: host }), host).not.toBe(200);
    }
    // Same-origin is decided on the lower-cased host: the Origin of another host never passes as "own".
    await expectNeverAllowed(['/api/x'], { Origin: 'https://evil.example', Authorization: `Bearer ${tokens.ann}` });
  });

  it('email rules match the whole address, never a suffix (oauth2-proxy GHSA-c5c4-8r6x-56w3)', async () => {
    for (const who of ['twoAt', 'suffix', 'prefix', 'sub', 'trailingDot', 'quoted', 'kelvin']) {
      await expectRowEverywhere(gateways, { name: who, path: '/api/x', headers: () => ({ authorization: `Bearer ${tokens[who]}` }), decision: 403 });
    }
    await expectRowEverywhere(gateways, {
      name: 'the same address in other case',
      path: '/api/x',
      headers: () => ({ authorization: `Bearer ${tokens.upper}` }),
      decision: 200,
      user: 'upper-id',
      email: 'Ann@EXAMPLE.com',
    });
    // The route's own domain rule, on the auth URL (the query form only ingress-nginx and Traefik give).
    for (const who of ['twoAt', 'suffix', 'sub', 'kelvin']) {
      for (const call of traefikCalls('/x', { Authorization: `Bearer ${tokens[who]}` })) {
        expect(await status(table.airy.url, `${call.path}?allowed_email_domains=example.com`, call.headers), `${who} ${call.name}`).toBe(403);
      }
    }
  });

  it('path tricks never make a protected path public (Pomerium GHSA-pvrc-wvj2-f59p, CVE-2023-33189)', async () => {
    await expectAllowedEverywhere('/webhooks/github');
    await expectNeverAllowed([
      '/webhooks/../admin',
      '/webhooks/./../admin',
      '/webhooks/%2e%2e/admin',
      '/webhooks/%2E%2E/admin',
      '/webhooks%2F..%2Fadmin',
      '/webhooks/..%2Fadmin',
      '/admin%2F..%2Fwebhooks/x',
      '/%2e%2e/webhooks/x',
      '/admin//..//webhooks/x',
      '//webhooks/x',
      '/webhooks/..;/admin',
      '/webhooks;/../admin',
      '/webhooks\\..\\admin',
      '/webhooks/..\\admin',
      '/webhooks/%5c..%5cadmin',
      '/webhooks/%252e%252e/admin',
      '/webhooks/%252e%252e%252fadmin',
      '/admin/%252e%252e/webhooks/x',
    ]);
  });
});
