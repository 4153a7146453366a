import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLoginServer } from '../helpers/login-server.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

/** A JWKS server the test can stop: an issuer of machine tokens that goes down. */
async function startJwksServer() {
  const keys: { kid: string; privateKey: import('node:crypto').KeyObject; jwk: JWK }[] = [];
  const addKey = async (kid: string) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } });
    return keys.at(-1)!;
  };
  let served = 0;
  const server: Server = createServer((_req, res) => {
    served++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.filter((k) => k.kid !== 'unpublished').map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
  return { url, addKey, served: () => served, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

describeWithTools('machine tokens from the IdP', { openssl: ensureTestCa() !== undefined }, () => {
  let idp: TestIdp;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  const EXTRA = 'https://ci.example.com';
  let firstKey: Awaited<ReturnType<Awaited<ReturnType<typeof startJwksServer>>['addKey']>> | undefined;

  beforeAll(async () => {
    idp = await startTestIdp({
      accounts: {},
      clients: [
        {
          machine: true,
          client_id: 'ci-robot',
          client_secret: 'ci-robot-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [],
        },
      ],
    });
    jwks = await startJwksServer();
    firstKey = await jwks.addKey('k1');
    srv = await startLoginServer(`  systemToken: "${TEST_SYSTEM_TOKEN}"
  machineTokenAudience: "api://airy"
  extraJwtIssuers: "${EXTRA}=ci-api=${jwks.url}"
  allowedGroups: ""
  oidc:
    provider: my-idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
    allowedEmailPatterns: "*@example.com"
`);
  });
  afterAll(async () => {
    await srv?.close();
    await jwks?.stop();
    await idp?.close();
  });

  async function clientCredentials(resource = 'api://airy'): Promise<string> {
    const res = await request(`${idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('ci-robot:ci-robot-secret-0123456789').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource }).toString(),
    });
    const body = (await res.body.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  const ask = async (token: string) => {
    const res = await request(`${srv.url}/auth`, {
      headers: { authorization: `Bearer ${token}`, 'x-original-url': 'https://app.example.com/api/x', 'x-original-method': 'GET' },
    });
    await res.body.dump();
    return { status: res.statusCode, user: res.headers['x-auth-request-user'] };
  };

  it('accepts a JWT access token from the client credentials grant, as the client, told apart from sessions', async () => {
    const token = await clientCredentials();
    expect(token.split('.')).toHaveLength(3);
    expect(await ask(token)).toEqual({ status: 200, user: 'ci-robot' });
    expect(await srv.metric('airy_auth_decisions_total', { status: '200', reason: 'machine_token' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses a wrong audience, a wrong issuer, an expired token, "none", HS256 with the public key as secret, and a key not in the JWKS', async () => {
    const k1 = await jwks.addKey('k1b');
    const sign = (
      claims: Record<string, unknown>,
      header: { alg: string; kid?: string } = { alg: 'ES256', kid: k1.kid },
      key: Parameters<SignJWT['sign']>[0] = k1.privateKey,
    ) => new SignJWT(claims).setProtectedHeader(header).sign(key);
    const now = Math.floor(Date.now() / 1000);
    const good = { iss: EXTRA, aud: 'ci-api', sub: 'deployer', exp: now + 300 };
    expect((await ask(await sign(good))).status).toBe(200);
    expect((await ask(await sign({ ...good, aud: 'other-api' }))).status).toBe(401);
    expect((await ask(await sign({ ...good, iss: 'https://evil.example.com' }))).status).toBe(401);
    expect((await ask(await sign({ ...good, exp: now - 600 }))).status).toBe(401);
    expect((await ask(await clientCredentials('api://other'))).status).toBe(401);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
    expect((await ask(none)).status).toBe(401);
    const publicAsSecret = new TextEncoder().encode(JSON.stringify(k1.jwk));
    expect((await ask(await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: k1.kid }).sign(publicAsSecret))).status).toBe(401);
    const stray = await jwks.addKey('unpublished');
    expect((await ask(await sign(good, { alg: 'ES256', kid: 'unpublished' }, stray.privateKey))).status).toBe(401);
  });

  it('keeps deciding with the keys it has when the issuer is down, and refuses a token whose key it has not', async () => {
    const now = Math.floor(Date.now() / 1000);
    await jwks.stop();
    expect(jwks.served()).toBeGreaterThanOrEqual(1);
    // k1 was fetched in an earlier test; a new token signed with it needs no fetch.
    const known = await new SignJWT({ iss: EXTRA, aud: 'ci-api', sub: 'deployer-2', exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(firstKey!.privateKey);
    expect((await ask(known)).status).toBe(200);
    const k3 = await jwks.addKey('k3');
    const unknown = await new SignJWT({ iss: EXTRA, aud: 'ci-api', sub: 'deployer-3', exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k3' })
      .sign(k3.privateKey);
    expect((await ask(unknown)).status).toBe(401);
  });
});
