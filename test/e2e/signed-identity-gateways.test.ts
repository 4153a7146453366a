import { createLocalJWKSet, decodeJwt, type JWK, jwtVerify, SignJWT } from 'jose';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { caddyInstalled } from '../helpers/caddy.js';
import { startGatewayTable } from '../helpers/gateways.js';
import { nginxInstalled } from '../helpers/nginx.js';
import { PROTECTED } from '../helpers/policies.js';
import { FORGER_KEY, TEST_SIGNING_KEY } from '../helpers/signing-keys.js';
import { describeWithTools } from '../helpers/tools.js';

/**
 * The forgery through every gateway shape (ingress-nginx and NGINX Gateway Fabric on real nginx,
 * Caddy's forward_auth, Envoy ext_authz, Gateway API ExternalAuth), each copying X-Auth-Request-Jwt
 * as the docs say: a client's X-Auth-Request-Jwt never reaches the upstream; only airy-auth's does,
 * and on an allow without identity (a public path) nothing that verifies does.
 */
describeWithTools('a forged X-Auth-Request-Jwt through every gateway', { nginx: nginxInstalled, caddy: caddyInstalled }, () => {
  let table: Awaited<ReturnType<typeof startGatewayTable>>;
  let keys: ReturnType<typeof createLocalJWKSet>;
  let forgery = '';
  beforeAll(async () => {
    const config = yaml.dump({ security: { ...PROTECTED, publicUrl: 'https://auth.example.com', signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1 } });
    table = await startGatewayTable(config, undefined, true);
    const res = await request(`${table.airy.url}/.well-known/jwks.json`);
    keys = createLocalJWKSet((await res.body.json()) as { keys: JWK[] });
    forgery = await new SignJWT({ email: 'boss@example.com' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer('https://auth.example.com')
      .setSubject('admin')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(FORGER_KEY.privateKey);
  });
  afterAll(() => table?.close());

  async function upstreamSees(url: string, headers: Record<string, string>) {
    const res = await request(url, { headers: { 'x-auth-request-jwt': forgery, ...headers } });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return (JSON.parse(text) as { headers: Record<string, string> }).headers['x-auth-request-jwt'];
  }

  it('with credentials: the upstream gets airy-auth’s assertion (it verifies), never the client’s', async () => {
    for (const g of table.gateways) {
      const jwt = await upstreamSees(`${g.url}/api/x`, { authorization: `Bearer ${PROTECTED.systemToken}` });
      expect(jwt, g.name).not.toBe(forgery);
      const { payload } = await jwtVerify(jwt!, keys, { issuer: 'https://auth.example.com', algorithms: ['ES256'] });
      expect(payload.sub, g.name).toBe('system-token');
    }
  });

  it('on a public path: the client’s copy is dropped or emptied', async () => {
    for (const g of table.gateways) {
      const jwt = await upstreamSees(`${g.url}/webhooks/github`, {});
      expect(jwt ?? '', g.name).toBe('');
    }
    // What the table above would look like if a gateway passed it: the forgery does not verify anyway.
    await expect(jwtVerify(forgery, keys)).rejects.toThrow();
    expect(decodeJwt(forgery).sub).toBe('admin');
  });
});
