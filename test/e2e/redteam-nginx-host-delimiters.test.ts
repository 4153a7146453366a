import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * Red team, "the request the backend serves": ingress-nginx builds X-Original-URL as
 * `$scheme://$http_host$request_uri`. `$http_host` is the client's Host header as sent, and nginx
 * accepts `?` and `#` in it (ngx_http_validate_host refuses only `/`, NUL, `..` and controls) while
 * it routes on `$host`, which stops at the `:` of the port. So `Host: app.example.com:1#` reaches
 * the app's server block and location `/admin`, and airy-auth reads
 * `http://app.example.com:1#/admin` as path `/` with a fragment: a public `/` (a landing page)
 * makes every protected path public. A Host that is not `host[:port]` must be refused, and the
 * path must come from what follows the authority of a URL whose authority nginx cannot end early.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/,/webhooks/**"
`;

describeWithTools('red team: a Host header that ends the authority early', { nginx: nginxInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  let ingressNginx = '';
  beforeAll(async () => {
    table = await startGatewayTable(CONFIG);
    ingressNginx = table.gateways.find((g) => g.name.startsWith('ingress-nginx'))!.url;
  }, 60_000);
  afterAll(async () => {
    await table?.close();
  });

  /** A raw request (no client library repairs the Host); the status line and the body the upstream echoed. */
  const send = (url: string, target: string, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { port } = new URL(url);
      const socket = connect(Number(port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('close', () => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
        if (!m) return reject(new Error(`no status line: ${JSON.stringify(data.slice(0, 200))}`));
        resolve({ status: Number(m[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
      socket.on('error', reject);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
    });

  it('control: / is public, /api/admin needs a session', async () => {
    expect((await send(ingressNginx, '/', 'app.example.com')).status).toBe(200);
    expect((await send(ingressNginx, '/api/admin', 'app.example.com')).status).toBe(401);
  });

  for (const host of ['app.example.com:1#', 'app.example.com:443#', 'app.example.com:1?', 'app.example.com:443?x=']) {
    it(`Host "${host}" never turns /api/admin into the public /`, async () => {
      const seen = await send(ingressNginx, '/api/admin', host);
      // Before the fix: 200 and the upstream echoes {"url":"/api/admin"}: the backend served /api/admin without credentials.
      expect(`${seen.status} ${seen.status === 200 ? seen.body.slice(0, 60) : ''}`).not.toMatch(/^2/);
    });
  }

  it('an absolute-form request target leaves the Host header free (nginx routes on the request line)', async () => {
    // nginx takes $host from `GET http://app.example.com/...` and ignores the Host header for routing,
    // but X-Original-URL is still built from $http_host: `Host: x#` needs no port at all.
    for (const host of ['x#', 'x?', 'app.example.com#']) {
      const seen = await send(ingressNginx, 'http://app.example.com/api/admin', host);
      expect(`${host} → ${seen.status} ${seen.status === 200 ? seen.body.slice(0, 60) : ''}`).not.toMatch(/→ 2/);
    }
  });
});
