import { decodeJwt } from 'jose';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED } from '../helpers/policies.js';
import { TEST_SIGNING_KEY } from '../helpers/signing-keys.js';

const FORGED = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';

/**
 * A client's X-Auth-Request-Jwt is answered with airy-auth's own value on every allow through every
 * adapter: an allow without identity (public path, preflight) carries an empty one, never a copy of
 * the client's, and identities that differ only by a separator never share a cached assertion.
 */
describe('signed identity: allows without identity and look-alike identities', () => {
  const config = compileAiryYaml(
    yaml.dump({
      security: { ...PROTECTED, skipPreflight: 'true', publicUrl: 'https://auth.example.com', signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1 },
    }),
  );
  let server: Awaited<ReturnType<typeof startInProcess>>;
  beforeAll(async () => {
    server = await startInProcess(config, () => allRoutes());
  });
  afterAll(async () => server?.close());

  const calls: [string, string, Record<string, string>][] = [
    ['/auth public path', '/auth', { 'x-original-url': 'https://app.example.com/webhooks/x', 'x-original-method': 'POST' }],
    [
      '/auth preflight',
      '/auth',
      {
        'x-original-url': 'https://app.example.com/api',
        'x-original-method': 'OPTIONS',
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
      },
    ],
    [
      '/forward-auth public path',
      '/forward-auth',
      { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/healthz' },
    ],
    ['/envoy public path', '/envoy/webhooks/x', { host: 'app.example.com' }],
  ];
  for (const [name, path, headers] of calls) {
    it(`${name}: 200 with an empty X-Auth-Request-Jwt, never the client's`, async () => {
      const res = await request(`${server.url}${path}`, {
        method: path.startsWith('/envoy') ? 'POST' : 'GET',
        headers: { ...headers, 'x-auth-request-jwt': FORGED },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-auth-request-jwt']).toBe('');
    });
  }

  it('a sub with JSON-ish text or commas never receives another identity’s cached assertion', async () => {
    const key = config.policy!.sessionKey!;
    const now = Date.now();
    const people = [
      { sub: 'a@example.com', email: 'a@example.com', groups: ['x', 'y'] },
      { sub: 'a@example.com', email: 'a@example.com', groups: ['x,y'] },
      { sub: 'a@example.com","a@example.com', email: 'a@example.com', groups: ['x', 'y'] },
      { sub: 'a@example.com', email: 'a@example.com', groups: undefined },
    ];
    const seen = new Map<string, string>();
    for (const person of people) {
      const token = await mintSession(key, person, 300, now);
      const res = await request(`${server.url}/auth`, {
        headers: { 'x-original-url': 'https://app.example.com/', authorization: `Bearer ${token}` },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      const jwt = String(res.headers['x-auth-request-jwt']);
      const claims = decodeJwt(jwt);
      expect(claims.sub).toBe(person.sub);
      expect(claims.groups).toEqual(person.groups);
      expect(claims.aud).toBe('https://app.example.com');
      expect(seen.has(jwt)).toBe(false);
      seen.set(jwt, person.sub);
    }
  });
});
