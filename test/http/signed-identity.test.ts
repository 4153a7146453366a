import { createLocalJWKSet, decodeJwt, type JWK, jwtVerify } from 'jose';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED } from '../helpers/policies.js';
import { TEST_SIGNING_KEY } from '../helpers/signing-keys.js';

/** `GET https://app.example.com/admin/x` as each gateway adapter is asked about it; `policy` as each selects a named policy. */
function calls(policy?: string): Record<string, { path: string; headers: Record<string, string> }> {
  const q = policy ? `?policy=${policy}` : '';
  return {
    '/auth': { path: `/auth${q}`, headers: { 'x-original-url': 'https://app.example.com/admin/x', 'x-original-method': 'GET' } },
    '/forward-auth': {
      path: `/forward-auth${q}`,
      headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/admin/x' },
    },
    '/envoy/': { path: policy ? `/envoy-policy/${policy}/admin/x` : '/envoy/admin/x', headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' } },
    '/gateway-api/': {
      path: policy ? `/gateway-api-policy/${policy}/admin/x` : '/gateway-api/admin/x',
      headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' },
    },
    '/gateway-api (NGINX Gateway Fabric)': {
      path: policy ? `/gateway-api-policy/${policy}` : '/gateway-api',
      headers: { host: 'app.example.com', 'x-forwarded-proto': 'https', path: '/admin/x', method: 'GET' },
    },
  };
}

const configOf = (security: Record<string, unknown>) => yaml.dump({ security: { ...PROTECTED, publicUrl: 'https://auth.example.com', ...security } });

async function serve(security: Record<string, unknown>, now: () => number = Date.now) {
  const compiled = compileAiryYaml(configOf(security));
  expect(compiled.issues.filter((i) => i.severity === 'error')).toEqual([]);
  const srv = await startInProcess(compiled, () => allRoutes(), now);
  const session = await mintSession(compiled.policy!.sessionKey!, { sub: 'ann-id', email: 'ann@example.com', groups: ['staff', 'sre'] }, 600, Date.now());
  return { srv, session };
}

async function ask(url: string, path: string, headers: Record<string, string>) {
  const res = await request(`${url}${path}`, { headers: { accept: 'application/json', ...headers } });
  await res.body.dump();
  return { status: res.statusCode, jwt: res.headers['x-auth-request-jwt'] as string | undefined };
}

describe('X-Auth-Request-Jwt from every adapter (signedIdentity: true)', () => {
  let env: Awaited<ReturnType<typeof serve>>;
  let keys: ReturnType<typeof createLocalJWKSet>;
  beforeAll(async () => {
    env = await serve({ signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1 });
    const res = await request(`${env.srv.url}/.well-known/jwks.json`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['content-type']).toBe('application/json');
    keys = createLocalJWKSet((await res.body.json()) as { keys: JWK[] });
  });
  afterAll(() => env?.srv.close());
  const verify = (jwt: string) => jwtVerify(jwt, keys, { issuer: 'https://auth.example.com', audience: 'https://app.example.com', algorithms: ['ES256'] });

  for (const [adapter, call] of Object.entries(calls())) {
    it(`${adapter}: a session's allow carries the signed identity, verifiable with the published keys`, async () => {
      const r = await ask(env.srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${env.session}` });
      expect(r.status).toBe(200);
      const { payload } = await verify(r.jwt!);
      expect(payload).toMatchObject({ sub: 'ann-id', email: 'ann@example.com', groups: ['staff', 'sre'] });
      expect(payload.exp! - payload.iat!).toBe(60);
    });

    it(`${adapter}: the systemToken's allow is signed as sub system-token`, async () => {
      const r = await ask(env.srv.url, call.path, { ...call.headers, authorization: `Bearer ${PROTECTED.systemToken}` });
      expect(r.status).toBe(200);
      expect((await verify(r.jwt!)).payload.sub).toBe('system-token');
    });

    it(`${adapter}: no header on a denial; an empty one on an allow without identity (a public path)`, async () => {
      const denied = await ask(env.srv.url, call.path, call.headers);
      expect(denied.status).toBe(401);
      expect(denied.jwt).toBeUndefined();
      const publicCall = JSON.parse(JSON.stringify(call).replaceAll('/admin/x', '/webhooks/x')) as typeof call;
      const open = await ask(env.srv.url, publicCall.path, { ...publicCall.headers, 'x-auth-request-jwt': 'forged' });
      expect(open.status).toBe(200);
      expect(open.jwt).toBe('');
    });
  }

  it('the audience is the origin of the original request (default port left out), so an assertion for one app fails at another', async () => {
    const h = { 'x-original-method': 'GET', authorization: `Bearer ${PROTECTED.systemToken}` };
    const onPort = await ask(env.srv.url, '/auth', { ...h, 'x-original-url': 'https://app.example.com:443/x' });
    expect(decodeJwt(onPort.jwt!).aud).toBe('https://app.example.com');
    const other = await ask(env.srv.url, '/auth', { ...h, 'x-original-url': 'http://other.example.com:8080/x' });
    expect(decodeJwt(other.jwt!).aud).toBe('http://other.example.com:8080');
    await expect(verify(other.jwt!)).rejects.toThrow(/aud/);
  });

  it('reuses one signed assertion for the same identity and audience', async () => {
    const call = calls()['/auth']!;
    const a = await ask(env.srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${env.session}` });
    const b = await ask(env.srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${env.session}` });
    expect(b.jwt).toBe(a.jwt);
  });

  it('answers HEAD and If-None-Match on the JWKS, and refuses other methods', async () => {
    const first = await request(`${env.srv.url}/.well-known/jwks.json`);
    await first.body.dump();
    const etag = String(first.headers.etag);
    const again = await request(`${env.srv.url}/.well-known/jwks.json`, { headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    await again.body.dump();
    const post = await request(`${env.srv.url}/.well-known/jwks.json`, { method: 'POST' });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
  });
});

describe('X-Auth-Request-Jwt under a named policy (policies.NAME.signedIdentity)', () => {
  let env: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    env = await serve({
      signingKey: TEST_SIGNING_KEY.sec1,
      policies: { signed: { allowedGroups: 'sre', signedIdentity: true }, plain: { allowedGroups: 'sre' } },
    });
  });
  afterAll(() => env?.srv.close());

  for (const [adapter] of Object.entries(calls())) {
    it(`${adapter}: signed on the policy's routes; empty elsewhere (so Envoy and Caddy still overwrite a client's copy)`, async () => {
      const cookie = `airy_auth_token=${env.session}`;
      const signed = calls('signed')[adapter]!;
      const r = await ask(env.srv.url, signed.path, { ...signed.headers, cookie });
      expect(r.status).toBe(200);
      expect(decodeJwt(r.jwt!).sub).toBe('ann-id');
      for (const other of [calls('plain')[adapter]!, calls()[adapter]!]) {
        const o = await ask(env.srv.url, other.path, { ...other.headers, cookie });
        expect(o.status).toBe(200);
        expect(o.jwt).toBe('');
      }
    });
  }
});

describe('signedIdentity off everywhere', () => {
  it('adds no header to any allow and publishes no keys (404)', async () => {
    const { srv, session } = await serve({ signingKey: TEST_SIGNING_KEY.sec1 });
    try {
      for (const call of Object.values(calls())) {
        const r = await ask(srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${session}` });
        expect(r.status).toBe(200);
        expect(r.jwt).toBeUndefined();
      }
      const jwks = await request(`${srv.url}/.well-known/jwks.json`);
      expect(jwks.statusCode).toBe(404);
      await jwks.body.dump();
    } finally {
      await srv.close();
    }
  });

  it('a reload that turns it on publishes the keys and signs at once; one that turns it off stops both', async () => {
    const { srv, session } = await serve({ signingKey: TEST_SIGNING_KEY.sec1 });
    try {
      const call = calls()['/auth']!;
      srv.store.apply(compileAiryYaml(configOf({ signingKey: TEST_SIGNING_KEY.sec1, signedIdentity: true })), 'test');
      expect((await ask(srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${session}` })).jwt).toMatch(/^ey/);
      const jwks = await request(`${srv.url}/.well-known/jwks.json`);
      expect(jwks.statusCode).toBe(200);
      await jwks.body.dump();
      srv.store.apply(compileAiryYaml(configOf({ signingKey: TEST_SIGNING_KEY.sec1 })), 'test');
      expect((await ask(srv.url, call.path, { ...call.headers, cookie: `airy_auth_token=${session}` })).jwt).toBeUndefined();
    } finally {
      await srv.close();
    }
  });
});

describe('the clock of the server', () => {
  it('signs with the injected clock: iat is the server time, and an assertion is renewed once 75 % of its lifetime has passed', async () => {
    let now = Date.UTC(2026, 11, 2, 10, 0, 0);
    const { srv } = await serve({ signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1, signedIdentityTtl: '40s' }, () => now);
    try {
      const call = calls()['/auth']!;
      const h = { ...call.headers, authorization: `Bearer ${PROTECTED.systemToken}` };
      const first = (await ask(srv.url, call.path, h)).jwt!;
      expect(decodeJwt(first)).toMatchObject({ iat: now / 1000, exp: now / 1000 + 40 });
      now += 29_000;
      expect((await ask(srv.url, call.path, h)).jwt).toBe(first);
      now += 1_000;
      const renewed = (await ask(srv.url, call.path, h)).jwt!;
      expect(renewed).not.toBe(first);
      expect(decodeJwt(renewed).iat).toBe(now / 1000);
    } finally {
      await srv.close();
    }
  });
});
