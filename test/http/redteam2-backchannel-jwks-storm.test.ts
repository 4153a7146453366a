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

/**
 * RED TEAM: /backchannel-logout is routed without authentication, and the logout token's keys come
 * from a plain jose createRemoteJWKSet, whose cooldown starts only after a SUCCESSFUL fetch. While
 * the provider's JWKS answers 500, every stranger's POST with any kid is one more fetch to the
 * provider (the machine-token path was fixed for exactly this, issue 20; this path was not).
 */
describe('red team: back-channel logout turns strangers into JWKS fetches', () => {
  let idp: Server;
  let idpUrl = '';
  let jwksHits = 0;
  let discoveryHits = 0;
  let discoveryDown = false;
  let server: Awaited<ReturnType<typeof startInProcess>>;
  const revocations = new MemoryRevocations();

  beforeAll(async () => {
    idp = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        discoveryHits++;
        if (discoveryDown) {
          res.writeHead(500);
          res.end('down');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: idpUrl,
            authorization_endpoint: `${idpUrl}/auth`,
            token_endpoint: `${idpUrl}/token`,
            jwks_uri: `${idpUrl}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          }),
        );
        return;
      }
      if (req.url === '/jwks') {
        jwksHits++;
        res.writeHead(500);
        res.end('down');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    idpUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
    const yaml = securityYaml(PROTECTED) + oidcYaml('idp', idpUrl);
    server = await startInProcess(compileAiryYaml(yaml), () => ({
      exact: new Map([['/backchannel-logout', (req, res, deps) => backchannelLogout(req, res, { ...deps, revocations })]]),
      prefixes: [],
    }));
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((r) => idp?.close(r));
  });

  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  async function strangers(count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const token = await new SignJWT({
        iss: idpUrl,
        aud: 'airy',
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        sid: 'x',
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      })
        .setProtectedHeader({ alg: 'ES256', kid: `stranger-${i}` })
        .sign(key);
      const res = await request(`${server.url}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    return statuses;
  }

  it('fetches the JWKS at most once per cooldown while it answers 500, however many strangers post logout tokens', async () => {
    const statuses = await strangers(20);
    expect(statuses.every((s) => s === 400)).toBe(true);
    expect(revocations.recorded).toEqual([]);
    // Expected: one fetch (then a cooldown). Observed: one per request.
    expect(jwksHits).toBeLessThanOrEqual(2);
  });

  it('asks for discovery at most once per cooldown while it answers 500, however many strangers post logout tokens', async () => {
    // A fresh config (a new provider client, nothing discovered yet) while the provider is down.
    const yaml = securityYaml(PROTECTED) + oidcYaml('idp2', idpUrl);
    server.store.apply(compileAiryYaml(yaml), 'test');
    discoveryDown = true;
    const before = discoveryHits;
    const statuses = await strangers(20);
    expect(statuses.every((s) => s === 400)).toBe(true);
    // Expected: one discovery (then a cooldown). Observed: one per request.
    expect(discoveryHits - before).toBeLessThanOrEqual(2);
  });
});
