import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { backchannelLogout } from '../../src/http/backchannel-logout.js';
import { startInProcess } from '../helpers/in-process.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import { oidcYaml, PROTECTED, securityYaml } from '../helpers/policies.js';

/** RED TEAM: a provider whose discovery and JWKS answers are hostile: each logout token is refused, nothing crashes or rejects unhandled. */
describe('red team: back-channel logout against hostile provider answers', () => {
  let idp: Server;
  let idpUrl = '';
  let discovery: () => unknown = () => ({});
  let jwks: () => string = () => '{"keys":[]}';
  let server: Awaited<ReturnType<typeof startInProcess>>;
  const revocations = new MemoryRevocations();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    idp = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(discovery()));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks());
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    idpUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.close();
    await new Promise((r) => idp?.close(r));
  });

  const base = () => ({
    issuer: idpUrl,
    authorization_endpoint: `${idpUrl}/auth`,
    token_endpoint: `${idpUrl}/token`,
    jwks_uri: `${idpUrl}/jwks`,
    response_types_supported: ['code'],
  });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const token = () =>
    new SignJWT({
      iss: idpUrl,
      aud: 'airy',
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      sid: 's',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(key);

  const answers: [string, () => unknown, () => string][] = [
    ['JWKS not JSON', base, () => 'not json'],
    ['JWKS null', base, () => 'null'],
    ['JWKS keys a string', base, () => '{"keys":"x"}'],
    ['JWKS keys with broken members', base, () => '{"keys":[{"kty":"EC","kid":"k1","crv":"P-256","x":1,"y":[]},null,7]}'],
    ['JWKS a deep nesting', base, () => `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['jwks_uri not a URL', () => ({ ...base(), jwks_uri: 'not a url' }), () => '{}'],
    ['jwks_uri a file URL', () => ({ ...base(), jwks_uri: 'file:///etc/passwd' }), () => '{}'],
    ['jwks_uri a number', () => ({ ...base(), jwks_uri: 42 }), () => '{}'],
    ['discovery with another issuer', () => ({ ...base(), issuer: 'https://evil.example' }), () => '{"keys":[]}'],
  ];
  for (const [name, d, j] of answers) {
    it(`refuses the token and stays up: ${name}`, async () => {
      discovery = d;
      jwks = j;
      await server?.close();
      const yaml = securityYaml(PROTECTED) + oidcYaml('idp', idpUrl);
      server = await startInProcess(compileAiryYaml(yaml), () => ({
        exact: new Map([['/backchannel-logout', (req, res, deps) => backchannelLogout(req, res, { ...deps, revocations })]]),
        prefixes: [],
      }));
      const res = await request(`${server.url}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: await token() }).toString(),
      });
      await res.body.dump();
      expect(res.statusCode).toBe(400);
      expect(revocations.recorded).toEqual([]);
      expect(unhandled).toEqual([]);
    });
  }
});
