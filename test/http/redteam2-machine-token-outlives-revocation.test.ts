import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revocations } from '../../src/http/deps.js';
import { revocationEntry } from '../../src/session/revocation-list.js';
import { startLoginServer } from '../helpers/login-server.js';
import { MemoryRevocations } from '../helpers/memory-revocations.js';
import { TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

/**
 * RED TEAM: machine tokens may live 10 years (MAX_LIFETIME_SECONDS, the bound for Airy Core's
 * tokens), not sessionTtl; a revocation entry lives sessionTtl (back-channel) or --lifetime
 * (default 30 d). docs/security.md: "after UNTIL no session the entry could match is still valid".
 * A machine token of a revoked subject comes back to life when the entry expires.
 */
describe('red team: a machine token outlives the revocation of its subject', () => {
  let jwks: Server;
  let url = '';
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  let clock = Date.now();
  const revocations = new MemoryRevocations();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let jwk: JWK;

  beforeAll(async () => {
    jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((req, res) => {
      const body = req.url === '/jwks' ? { keys: [jwk] } : { issuer: url, jwks_uri: `${url}/jwks` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(jwks.address() as { port: number }).port}`;
    srv = await startLoginServer(
      `  systemToken: "${TEST_SYSTEM_TOKEN}"\n  extraJwtIssuers: "${url}=ci-api=${url}/jwks"\n  allowedOrigins: "https://app.example.com"\n  sessionTtl: 12h\n`,
      () => clock,
    );
    (srv.deps as { revocations?: Revocations }).revocations = revocations;
  });
  afterAll(async () => {
    await srv?.close();
    await new Promise((r) => jwks?.close(r));
  });

  const ask = async (token: string) => {
    const res = await request(`${srv.url}/auth`, {
      headers: { authorization: `Bearer ${token}`, 'x-original-url': 'https://app.example.com/api/x', 'x-original-method': 'GET' },
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('a machine token valid for 5 years is refused when sessions live 12 hours ("the same maximum lifetime as sessions")', async () => {
    const now = Math.floor(clock / 1000);
    const token = await new SignJWT({ iss: url, aud: 'ci-api', sub: 'deployer-long', iat: now, exp: now + 5 * 365 * 86400 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);
    expect(await ask(token)).toBe(401);
  });

  it('a revoked machine subject stays refused after the entry ends (revoke --subject, default 30 d)', async () => {
    const now = Math.floor(clock / 1000);
    const token = await new SignJWT({ iss: url, aud: 'ci-api', sub: 'deployer', iat: now, exp: now + 365 * 86400 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);
    clock += 1000;
    await revocations.record([revocationEntry('sub', 'deployer', clock / 1000, 30 * 86400)]);
    expect(await ask(token)).toBe(401);
    clock += 31 * 86400_000; // the entry's UNTIL has passed; the token's exp has not
    // Expected 401 (the token was revoked, and no entry may end before what it matches). Observed 200.
    expect(await ask(token)).toBe(401);
  });

  it('refuses machine tokens with the wrong iss, aud or exp, or an HS256/none algorithm (each alone)', async () => {
    const now = Math.floor(clock / 1000);
    const good = { iss: url, aud: 'ci-api', sub: 'robot', iat: now, exp: now + 600 };
    const es = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header }).sign(privateKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const unsigned = (claims: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect(await ask(await es(good)), 'the baseline is taken').toBe(200);
    const cases: [string, string][] = [
      ['iss with a trailing slash', await es({ ...good, iss: `${url}/` })],
      ['iss as an array', await es({ ...good, iss: [url] })],
      ['aud another', await es({ ...good, aud: 'other-api' })],
      ['aud missing', await es({ ...good, aud: undefined })],
      ['exp passed beyond the leeway', await es({ ...good, exp: now - 120 })],
      ['exp missing', await es({ ...good, exp: undefined })],
      ['exp a string', await es({ ...good, exp: String(now + 600) })],
      ['nbf in the future', await es({ ...good, nbf: now + 600 })],
      ['HS256 keyed with the public key PEM', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(pem))],
      ['HS256 keyed with the JWK x', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(String(jwk.x)))],
      ['alg none', unsigned(good)],
      ['sub the system token user', await es({ ...good, sub: 'system-token' })],
      ['sub empty', await es({ ...good, sub: '' })],
      ['sub with edge white space', await es({ ...good, sub: ' robot' })],
    ];
    const accepted: string[] = [];
    for (const [what, token] of cases) if ((await ask(token)) !== 401) accepted.push(what);
    expect(accepted).toEqual([]);
  });
});
