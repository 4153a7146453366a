import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { decide } from '../../src/core/decide.js';
import type { Facts } from '../../src/core/facts.js';
import { mintSession } from '../../src/session/mint.js';
import { appFacts } from '../helpers/evaluator.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';

/** An issuer's JWKS over real HTTP, counting how often it is fetched. */
async function startJwks() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let fetched = 0;
  const server = createServer((_req, res) => {
    fetched++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`,
    privateKey,
    fetched: () => fetched,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const machineToken = (key: KeyObject, iss: string, aud: string) =>
  new SignJWT({ sub: 'ci', email: 'ci@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(iss)
    .setAudience(aud)
    .setExpirationTime('1h')
    .sign(key);

const facts = appFacts;

describe('the evaluator of a reloaded config reuses the caches of what did not change', () => {
  let jwks: Awaited<ReturnType<typeof startJwks>>;
  let server: Awaited<ReturnType<typeof startInProcess>>;
  const OTHER_SECRET = Buffer.from('another-jwt-secret-0123456789abcdef-0123456789').toString('base64');
  const config = (over: Record<string, string>, issuer = 'https://ci.example.com=ci-api') =>
    compileAiryYaml(securityYaml({ ...PROTECTED, extraJwtIssuers: `${issuer}=${jwks.url}`, ...over }));

  beforeAll(async () => {
    jwks = await startJwks();
    server = await startInProcess(config({}));
  });
  afterAll(async () => {
    await server?.close();
    await jwks?.close();
  });

  const auth = async (headers: Record<string, string>) => {
    const res = await request(`${server.url}/auth`, { headers: { 'x-original-url': 'https://app.example.com/x', ...headers } });
    await res.body.dump();
    return res.statusCode;
  };
  /** The decision under the evaluator in force, as the server takes it: synchronous when every credential was verified before. */
  const decideNow = (over: Partial<Facts>) => decide(facts(over), server.deps.evaluators.forPolicy(server.store.current!), Date.now());

  it('a reload that changes an unrelated key keeps the verified-token memos and fetches no key set again', async () => {
    const session = await mintSession(server.store.current!.sessionKey!, { sub: 'ann', email: 'ann@example.com' }, 3600, Date.now());
    const machine = await machineToken(jwks.privateKey, 'https://ci.example.com', 'ci-api');
    expect(await auth({ cookie: `airy_auth_token=${session}` })).toBe(200);
    expect(await auth({ authorization: `Bearer ${machine}` })).toBe(200);
    expect(jwks.fetched()).toBe(1);
    const before = server.deps.evaluators.forPolicy(server.store.current!);

    expect(server.store.apply(config({ allowedOrigins: 'https://app.example.com,https://other.example.com' }), 'test')).toBe('applied');
    const after = server.deps.evaluators.forPolicy(server.store.current!);
    expect(after).not.toBe(before);
    expect(after.policy.origins.matches('https://other.example.com')).toBe(true);
    // Answered from the memos: no HMAC, no key fetch, so no promise.
    const bySession = decideNow({ sessionCookies: [session] });
    const byMachine = decideNow({ authorization: `Bearer ${machine}` });
    expect(bySession).not.toBeInstanceOf(Promise);
    expect(byMachine).not.toBeInstanceOf(Promise);
    expect(bySession).toMatchObject({ status: 200, reason: 'session_cookie' });
    expect(byMachine).toMatchObject({ status: 200, reason: 'machine_token' });
    expect(await auth({ authorization: `Bearer ${machine}` })).toBe(200);
    expect(jwks.fetched()).toBe(1);
  });

  it('a new jwtSecret starts an empty session memo: a session of the old secret is verified again, and refused', async () => {
    const session = await mintSession(server.store.current!.sessionKey!, { sub: 'bob', email: 'bob@example.com' }, 3600, Date.now());
    expect(await auth({ cookie: `airy_auth_token=${session}` })).toBe(200);
    expect(decideNow({ sessionCookies: [session] })).not.toBeInstanceOf(Promise);
    expect(server.store.apply(config({ jwtSecret: OTHER_SECRET }), 'test')).toBe('applied');
    const again = decideNow({ sessionCookies: [session] });
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual({ status: 401, reason: 'invalid_cookie', tokenProblem: 'bad_signature' });
    expect(await auth({ cookie: `airy_auth_token=${session}` })).toBe(401);
  });

  it('a new issuer fetches its keys; a new audience keeps the key set but checks every token against the new audience', async () => {
    const fetched = jwks.fetched();
    const oldIssuer = await machineToken(jwks.privateKey, 'https://ci.example.com', 'ci-api');
    expect(await auth({ authorization: `Bearer ${oldIssuer}` })).toBe(200);
    expect(server.store.apply(config({ jwtSecret: OTHER_SECRET }, 'https://ci2.example.com=ci-api'), 'test')).toBe('applied');
    expect(await auth({ authorization: `Bearer ${oldIssuer}` })).toBe(401);
    const newIssuer = await machineToken(jwks.privateKey, 'https://ci2.example.com', 'ci-api');
    expect(await auth({ authorization: `Bearer ${newIssuer}` })).toBe(200);
    expect(jwks.fetched()).toBe(fetched + 1);

    expect(server.store.apply(config({ jwtSecret: OTHER_SECRET }, 'https://ci2.example.com=ci-api-v2'), 'test')).toBe('applied');
    const refused = decideNow({ authorization: `Bearer ${newIssuer}` });
    // Not answered from the memo of the verifier before: the audience is checked again.
    expect(refused).toBeInstanceOf(Promise);
    expect(await refused).toMatchObject({ status: 401, reason: 'invalid_token', detail: 'machine token refused: audience' });
    const forNewAudience = await machineToken(jwks.privateKey, 'https://ci2.example.com', 'ci-api-v2');
    expect(await auth({ authorization: `Bearer ${forNewAudience}` })).toBe(200);
    expect(jwks.fetched()).toBe(fetched + 1);
  });
});
