import { SignJWT } from 'jose';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { prng } from './config-mutations.js';

/**
 * 100,000 generated requests through every adapter of the real process, with and without valid
 * credentials, in the shapes each gateway makes (ingress-nginx, NGINX Gateway Fabric, Traefik's
 * ForwardAuth and its ingress-nginx provider, Caddy with the client's query appended, Envoy), with
 * headers the client forged beside the gateway's own. One path is public, and only when it is the
 * request the backend serves, written plainly: the oracle is that a 200 is right only when the
 * request carried a valid credential or its real target is exactly that path; no answer is ever
 * 5xx; the process never exits.
 */
const REQUESTS = 100_000;
const PUBLIC_TARGET = '/webhooks/x';
const CONFIG = { ...PROTECTED, publicPaths: '/webhooks/**' };

/** Headers a client adds hoping one is read as the request: each points at the public path or another host. */
const FORGED: readonly Record<string, string | string[]>[] = [
  { 'x-original-url': `https://app.example.com${PUBLIC_TARGET}` },
  { 'x-original-url': `https://app.example.com${PUBLIC_TARGET}`, 'x-original-method': 'GET' },
  { 'x-forwarded-uri': PUBLIC_TARGET, 'x-forwarded-host': 'app.example.com' },
  { 'x-forwarded-uri': [PUBLIC_TARGET, '/admin'] },
  { path: PUBLIC_TARGET, method: 'OPTIONS' },
  { x_original_url: `https://app.example.com${PUBLIC_TARGET}`, x_forwarded_uri: PUBLIC_TARGET },
  { forwarded: 'for=192.0.2.1;host=app.example.com;proto=https', 'x-original-uri': PUBLIC_TARGET, 'x-rewrite-url': PUBLIC_TARGET },
  { 'x-auth-request-user': 'admin', 'x-auth-request-email': 'boss@example.com' },
];

let airy: AiryProcess;
beforeAll(async () => {
  airy = await startAiry(securityYaml(CONFIG));
});
afterAll(async () => {
  await airy?.stop();
});

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

it(`answers ${REQUESTS} fuzzed requests on every adapter: 0 crashes, 0 5xx, 0 allows without credentials`, async () => {
  const key = compileAiryYaml(securityYaml(CONFIG)).policy!.sessionKey!;
  const now = Date.now();
  const session = await mintSession(key, { sub: 'ann', email: 'ann@example.com' }, 3600, now);
  const valid = [`Bearer ${TEST_SYSTEM_TOKEN}`, TEST_SYSTEM_TOKEN, `Bearer ${session}`, `bearer   ${session}`];
  const expired = await mintSession(key, { sub: 'old', email: 'old@example.com' }, 1, now - 3_600_000);
  const outsider = await mintSession(key, { sub: 'eve', email: 'eve@elsewhere.io' }, 3600, now);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${session.split('.')[1]}.`;
  const otherKey = await new SignJWT({ email: 'ann@example.com' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ann')
    .setExpirationTime('1h')
    .sign(new Uint8Array(48).fill(7));
  const tampered = `${session.slice(0, -4)}AAAA`;
  const invalid = [
    `Bearer ${expired}`,
    `Bearer ${outsider}`, // valid signature, but its email may not: never a 200
    `Bearer ${none}`,
    `Bearer ${otherKey}`,
    `Bearer ${tampered}`,
    `Bearer ${TEST_SYSTEM_TOKEN}x`,
    `Basic ${Buffer.from('a:b').toString('base64')}`,
    'Bearer ',
    'Bearer a.b.c',
    `Bearer ${'A'.repeat(9000)}`,
    TEST_SYSTEM_TOKEN.slice(0, -1),
  ];
  const paths = [
    '/',
    '/admin',
    PUBLIC_TARGET,
    PUBLIC_TARGET,
    '/webhooks/..;/admin',
    '/%2e%2e/admin',
    '/a%00b',
    '/a?b=c',
    '/ü',
    '/%ff',
    '//x',
    '/..',
    `/${'a'.repeat(3000)}`,
    '/admin#/../webhooks/x',
    '/admin%2F..%2Fwebhooks/x',
    '/admin//..//webhooks/x',
    '/admin?/webhooks/x',
    '/webhooks/x/../../admin',
  ];
  const origins = [
    undefined,
    undefined,
    'https://app.example.com',
    'https://x.example.org',
    'https://evil.example',
    'null',
    'https://app.example.com.evil.io',
    'garbage',
  ];
  const r = prng(7);

  type Generated = { path: string; method: string; headers: Record<string, string | string[]>; credentialed: boolean; publicTarget?: boolean };
  function generate(): Generated {
    const req = generateShape();
    // A gateway's own headers replace the client's copies; the client's others arrive as sent. A call
    // straight to /auth with no gateway in front is the client describing itself: nothing to forge.
    if (req.path.split('?', 1)[0] !== '/auth' || 'x-original-url' in req.headers || 'x-forwarded-uri' in req.headers) {
      if (r() < 0.5) req.headers = { ...pick(r, FORGED), ...req.headers };
    }
    return req;
  }

  /** The shape one gateway gives a request; `publicTarget` when the request the backend serves is the public path. */
  function generateShape(): Generated {
    const credential = r();
    const headers: Record<string, string | string[]> = { host: pick(r, ['app.example.com', 'a.example.org:8443', 'x', '[::1]']) };
    let credentialed = false;
    if (credential < 0.3) {
      headers.authorization = pick(r, valid);
      credentialed = true;
    } else if (credential < 0.45) {
      headers.cookie = pick(r, [`airy_auth_token=${session}`, `a=1; airy_auth_token=${tampered}; airy_auth_token=${session}`]);
      credentialed = true;
    } else if (credential < 0.8) {
      if (r() < 0.7) headers.authorization = pick(r, invalid);
      else
        headers.cookie = pick(r, [
          `airy_auth_token=${expired}`,
          `airy_auth_token=${outsider}`,
          'airy_auth_token=',
          'airy_auth_token="x"',
          'airy_auth_token'.repeat(500),
        ]);
    }
    if (r() < 0.05 && headers.authorization) headers.authorization = [headers.authorization as string, pick(r, valid)]; // repeated: refused
    const origin = pick(r, origins);
    if (origin) headers.origin = origin;
    if (r() < 0.3) headers.accept = pick(r, ['text/html', '*/*', 'application/json']);
    if (r() < 0.2) headers['sec-fetch-mode'] = pick(r, ['navigate', 'cors', 'no-cors']);
    const target = pick(r, paths);
    const method = pick(r, ['GET', 'GET', 'POST', 'OPTIONS', 'HEAD', 'DELETE']);
    const publicTarget = target === PUBLIC_TARGET;
    const forwarded = {
      'x-forwarded-method': method,
      'x-forwarded-proto': pick(r, ['https', 'http']),
      'x-forwarded-host': 'app.example.com',
      'x-forwarded-uri': target,
    };
    switch (Math.floor(r() * 10)) {
      case 0:
        return {
          path: '/auth',
          method: 'GET',
          headers: { ...headers, 'x-original-url': `https://app.example.com${target}`, 'x-original-method': method },
          credentialed,
          publicTarget,
        };
      case 6:
        // Traefik ForwardAuth: its four X-Forwarded-* replace the client's; the address may carry a rule.
        return {
          path: `/forward-auth${pick(r, ['', '', '?policy=nope', '?allowed_groups=x'])}`,
          method: 'GET',
          headers: { ...headers, ...forwarded },
          credentialed,
          publicTarget,
        };
      case 7:
        // Traefik's ingress-nginx provider left pointing at /auth: a client's X-Original-URL arrives beside Traefik's headers.
        return {
          path: '/auth',
          method: 'GET',
          headers: { ...headers, ...forwarded, 'x-original-url': `https://app.example.com${pick(r, [PUBLIC_TARGET, target])}` },
          credentialed,
          publicTarget,
        };
      case 8: {
        // Caddy: the client's query is appended to the auth uri.
        const q = target.indexOf('?');
        return { path: `/forward-auth${q < 0 ? '' : target.slice(q)}`, method: 'GET', headers: { ...headers, ...forwarded }, credentialed, publicTarget };
      }
      case 9:
        // Envoy ext_authz: the original method and Host, the path after the prefix.
        return { path: `/envoy${target}`, method, headers: { ...headers, 'x-forwarded-proto': 'https' }, credentialed, publicTarget };
      case 1:
        return { path: `/auth${r() < 0.5 ? '' : '?x=1'}`, method, headers, credentialed };
      case 2:
        return {
          path: '/forward-auth',
          method: 'GET',
          headers: {
            ...headers,
            'x-forwarded-method': method,
            'x-forwarded-proto': pick(r, ['https', 'http', 'ftp']),
            'x-forwarded-host': 'app.example.com',
            'x-forwarded-uri': target,
          },
          credentialed,
          publicTarget,
        };
      case 3:
        return { path: `/envoy${target}`, method, headers, credentialed, publicTarget };
      case 4:
        return { path: `/gateway-api${target}`, method, headers: { ...headers, path: PUBLIC_TARGET }, credentialed, publicTarget };
      default:
        return { path: '/gateway-api', method: 'GET', headers: { ...headers, path: target, method }, credentialed, publicTarget };
    }
  }

  const pool = new Pool(airy.url, { connections: 16 });
  const counts = { sent: 0, notSent: 0, allowedWithout: [] as string[], fivexx: [] as string[], byStatus: new Map<number, number>() };
  const worker = async () => {
    while (counts.sent + counts.notSent < REQUESTS) {
      const req = generate();
      try {
        counts.sent++;
        const res = await pool.request({ path: req.path, method: req.method as 'GET', headers: req.headers });
        await res.body.dump();
        counts.byStatus.set(res.statusCode, (counts.byStatus.get(res.statusCode) ?? 0) + 1);
        const what = `${req.method} ${req.path.slice(0, 80)} ${JSON.stringify(req.headers).slice(0, 300)}`;
        if (res.statusCode >= 500) counts.fivexx.push(`${res.statusCode} ${what}`);
        if (res.statusCode === 200 && !req.credentialed && !req.publicTarget) counts.allowedWithout.push(what);
      } catch (err) {
        // undici refused to send it (an invalid header value): not a request the server saw.
        counts.sent--;
        counts.notSent++;
        if (!(err instanceof Error) || !/invalid|header/i.test(err.message)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  await pool.close();
  const health = await fetch(`${airy.url}/healthz`);
  expect(health.status).toBe(200);
  expect(airy.child.exitCode).toBeNull();
  expect(counts.fivexx.slice(0, 5)).toEqual([]);
  expect(counts.allowedWithout.slice(0, 5)).toEqual([]);
  expect(counts.sent).toBeGreaterThanOrEqual(REQUESTS - counts.notSent);
  console.log(
    `request fuzz: ${counts.sent} requests answered (${counts.notSent} not sendable), ` +
      `by status ${JSON.stringify(Object.fromEntries([...counts.byStatus].sort()))}; 0 5xx, 0 allows without credentials, process alive`,
  );
}, 600_000);
