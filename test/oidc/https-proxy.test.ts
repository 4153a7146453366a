import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLoginServer } from '../helpers/login-server.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * IdP calls honour HTTPS_PROXY: a real CONNECT proxy on loopback must carry them. (This file runs
 * in a worker of its own, so the proxy variables set here reach the dispatcher when it is first made.)
 */
describeWithTools('IdP requests go through HTTPS_PROXY', { openssl: ensureTestCa() !== undefined }, () => {
  let proxy: Server;
  const tunnels: string[] = [];
  let idp: TestIdp;
  beforeAll(async () => {
    proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, clientSocket, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host === 'localhost' ? '127.0.0.1' : host!, () => {
        clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(clientSocket);
        clientSocket.pipe(upstream);
      });
      upstream.on('error', () => clientSocket.destroy());
      clientSocket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    process.env.NO_PROXY = '';
    idp = await startTestIdp({
      accounts: {},
      clients: [
        { client_id: 'c', client_secret: 's', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: ['http://127.0.0.1/login/oauth2/code/p'] },
      ],
    });
  });
  afterAll(async () => {
    delete process.env.HTTPS_PROXY;
    await idp?.close();
    proxy?.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('tunnels the discovery request through the proxy', async () => {
    const srv = await startLoginServer(`  provider: p\n  issuerUri: "${idp.issuer}"\n  clientId: c\n  clientSecret: s\n  allowedEmailPatterns: "*"\n`);
    const res = await request(`${srv.url}/oauth2/authorization/p`);
    await res.body.dump();
    await srv.close();
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toContain(`${idp.issuer}/auth?`);
    expect(tunnels).toContain(`localhost:${idp.port}`);
  });
});
