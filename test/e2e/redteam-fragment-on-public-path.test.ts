import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * Red team, path normalisation: docs/security.md says "a path with `#` (or `%23`) is never public",
 * and /forward-auth, /envoy and /gateway-api refuse it. On /auth the fragment is cut off by
 * splitAbsoluteUrl before normalizePath sees it, so `GET /webhooks/x#/../../api/admin` is judged
 * as the public `/webhooks/x`, while nginx passes the raw request target, `#/../../api/admin`
 * included, to the backend: a backend that resolves dot segments before it cuts the fragment
 * serves /api/admin. The class the peer advisory (oauth2-proxy GHSA-pxq7-h93f-9jrg) closed.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/webhooks/**"
`;

describeWithTools('red team: a fragment after a public path', { nginx: nginxInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  beforeAll(async () => {
    table = await startGatewayTable(CONFIG);
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  const send = (url: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { host, port } = new URL(url);
      const socket = connect(Number(port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('close', () => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
        if (!m) return reject(new Error(`no status line: ${JSON.stringify(data.slice(0, 200))}`));
        resolve({ status: Number(m[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
      socket.on('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
    });

  it('no gateway allows /webhooks/x#/../../api/admin without credentials', async () => {
    const allowed: string[] = [];
    // Control: the public path itself is allowed everywhere (Caddy answers an unknown Host with an empty 200, hence each gateway's own host).
    for (const g of table.gateways) expect((await send(g.url, '/webhooks/x')).status, g.name).toBe(200);
    for (const g of table.gateways) {
      const seen = await send(g.url, '/webhooks/x#/../../api/admin');
      // Before the fix, ingress-nginx answered 200, and the upstream echoes "url":"/webhooks/x#/../../api/admin".
      if (seen.status >= 200 && seen.status < 300) allowed.push(`${g.name} → ${seen.status} ${seen.body.slice(0, 70)}`);
    }
    expect(allowed).toEqual([]);
  });
});
