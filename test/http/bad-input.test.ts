import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { startInProcess } from '../helpers/in-process.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { rawRequest } from '../helpers/raw-http.js';

describe('bad input never crashes and never allows', () => {
  let srv: Awaited<ReturnType<typeof startInProcess>>;
  beforeAll(async () => {
    srv = await startInProcess(compileAiryYaml(securityYaml(PROTECTED)));
  });
  afterAll(() => srv.close());

  const get = async (headers: Record<string, string | string[]>, path = '/auth') => {
    const res = await request(`${srv.url}${path}`, { headers });
    await res.body.text();
    return res.statusCode;
  };

  // On /auth a malformed call is a 403, not a 400: nginx's auth_request turns a 400 into a 500.
  it('refuses repeated credential and URL headers (403 on /auth)', async () => {
    expect(await get({ authorization: [TEST_SYSTEM_TOKEN, 'other'] })).toBe(403);
    expect(await get({ authorization: ['other', TEST_SYSTEM_TOKEN] })).toBe(403);
    expect(await get({ origin: ['https://app.example.com', 'https://evil.com'], authorization: TEST_SYSTEM_TOKEN })).toBe(403);
    expect(await get({ 'x-original-url': ['https://a/webhooks/x', 'https://a/admin'] })).toBe(403);
  });

  it('answers 403 on /auth to a malformed X-Original-URL or method', async () => {
    expect(await get({ 'x-original-url': 'not a url', authorization: TEST_SYSTEM_TOKEN })).toBe(403);
    expect(await get({ 'x-original-url': 'https://user@host/webhooks/x' })).toBe(403);
    expect(await get({ 'x-original-url': 'https://h/x', 'x-original-method': 'GE T', authorization: TEST_SYSTEM_TOKEN })).toBe(403);
  });

  it('answers 401 to garbage tokens and broken cookies', async () => {
    for (const authorization of ['Bearer x.y.z', `Bearer ${'A'.repeat(8000)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer ....']) {
      expect(await get({ authorization })).toBe(401);
    }
    for (const cookie of ['airy_auth_token=', 'airy_auth_token', 'airy_auth_token="x', ';;;=;', `airy_auth_token=${'%'.repeat(500)}`]) {
      expect(await get({ cookie })).toBe(401);
    }
  });

  it('answers 403 on /auth to non-ASCII bytes in Authorization or the original URL', async () => {
    const bytes = (header: string) =>
      Buffer.concat([
        Buffer.from(`GET /auth HTTP/1.1\r\nHost: a\r\n${header}: `),
        Buffer.from([0xff, 0xfe, 0x41]),
        Buffer.from('\r\nConnection: close\r\n\r\n'),
      ]);
    expect(await rawRequest(srv.port, bytes('Authorization'))).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawRequest(srv.port, bytes('X-Original-URL'))).toBe('HTTP/1.1 403 Forbidden');
  });

  it('answers 431 to oversized headers and 400 to unparseable requests', async () => {
    expect(await rawRequest(srv.port, `GET /auth HTTP/1.1\r\nHost: a\r\nCookie: ${'a'.repeat(40_000)}\r\n\r\n`)).toMatch(/^HTTP\/1.1 431/);
    expect(await rawRequest(srv.port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect(await rawRequest(srv.port, 'GET /auth HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    // The server is still up and still deciding.
    expect(await get({ authorization: TEST_SYSTEM_TOKEN })).toBe(200);
  });

  it('counts bad requests in a metric', async () => {
    // Malformed calls to /auth are 403 bad_request; Node's parser answers the unparseable ones with 400.
    expect(await srv.metric('airy_auth_decisions_total', { status: '403', reason: 'bad_request' })).toBeGreaterThanOrEqual(9);
    expect(await srv.metric('airy_auth_decisions_total', { status: '400', reason: 'bad_request' })).toBeGreaterThanOrEqual(2);
    expect(await srv.metric('airy_auth_decisions_total', { status: '431', reason: 'bad_request' })).toBe(1);
  });

  it('never writes a token or the systemToken to the log', () => {
    expect(JSON.stringify(srv.logger.lines)).not.toContain(TEST_SYSTEM_TOKEN);
  });
});

describe('malformed calls through each gateway family', () => {
  it('answer 403 where nginx auth_request calls (NGINX Gateway Fabric, which turns a 400 into a 500), 400 where the gateway passes it on', async () => {
    const srv = await startInProcess(compileAiryYaml(securityYaml(PROTECTED)), () => allRoutes());
    const status = async (path: string, headers: Record<string, string | string[]>) => {
      const res = await request(`${srv.url}${path}`, { headers: { authorization: [TEST_SYSTEM_TOKEN, 'other'], ...headers } });
      await res.body.dump();
      return res.statusCode;
    };
    const host = { host: 'app.example.com' };
    expect(await status('/gateway-api', { ...host, path: '/x', method: 'GET' })).toBe(403);
    expect(await status('/gateway-api/x', host)).toBe(403);
    expect(await status('/gateway-api-policy/p/x', host)).toBe(403);
    expect(await status('/envoy/x', host)).toBe(400);
    expect(await status('/forward-auth', { 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/x' })).toBe(400);
    await srv.close();
  });
});

describe('service endpoints', () => {
  it('reports not ready and answers 503 until a valid config is loaded', async () => {
    const srv = await startInProcess(compileAiryYaml('security:\n  jwtSecret: "short"\n'));
    expect((await request(`${srv.url}/readyz`)).statusCode).toBe(503);
    expect((await request(`${srv.url}/auth`, { headers: { authorization: TEST_SYSTEM_TOKEN } })).statusCode).toBe(503);
    expect((await request(`${srv.url}/healthz`)).statusCode).toBe(200);
    srv.store.apply(compileAiryYaml(securityYaml(PROTECTED)), 'test');
    expect((await request(`${srv.url}/readyz`)).statusCode).toBe(200);
    expect((await request(`${srv.url}/auth`, { headers: { authorization: TEST_SYSTEM_TOKEN } })).statusCode).toBe(200);
    await srv.close();
  });
});
