/**
 * `npm run bench:instructions`: instructions per decision, counted by callgrind (steady on a busy
 * machine, unlike times), each against its floor measured in the same run:
 *   P1  each adapter × credential, against a bare node:http server answering 200 (goal ≥ 0.87)
 *   P2  the auth service behind ingress-nginx-shaped nginx, airy-auth against a bare stub, with a new
 *       connection per subrequest and with upstream keep-alive (goal ≥ 0.91)
 *   P3  the same decision with 10,000 exact emails, 1,000 email globs, 1,000 origins, 100 policies and
 *       1,000 groups in the session, against one of each (goal ≥ 0.91)
 * Ratios are floor / airy-auth (1.0 = as cheap as the floor). Both sides are net of an idle window
 * of the same length (timer work that does not depend on requests).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { compileAiryYaml } from '../src/config/load.js';
import { mintSession } from '../src/session/mint.js';
import { freePort } from '../test/helpers/net.js';
import { startNginx } from '../test/helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../test/helpers/policies.js';
import { CLI } from '../test/helpers/repo.js';
import { type Counted, resent, sendSequential, stopAll, underCallgrind } from './callgrind.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const COUNTED = Number(process.env.BENCH_COUNTED ?? 4000);

function answers(url: string): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const req = request(url, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
}

async function bare(): Promise<{ url: string; counted: Counted }> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'Content-Length': '0' }); s.end(); }).listen(${port}, '127.0.0.1');`;
  const url = `http://127.0.0.1:${port}`;
  return { url, counted: await underCallgrind(['-e', code], answers(url)) };
}

async function airy(config: string): Promise<{ url: string; counted: Counted }> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-bench-'));
  writeFileSync(join(dir, 'airy.yaml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [CLI, 'serve', '--config', join(dir, 'airy.yaml'), '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'];
  return { url, counted: await underCallgrind(args, answers(`${url}/healthz`)) };
}

/**
 * Instructions per request after a warm-up of the same requests: the lower of two counted
 * windows, since a garbage collection or a JIT tier-up lands in one window or the other.
 */
async function perRequest(c: Counted, url: string, headers: Record<string, string>): Promise<number> {
  await sendSequential(url, WARMUP, headers);
  const windows: number[] = [];
  for (let i = 0; i < 2; i++) {
    const started = Date.now();
    const busy = await c.count(() => sendSequential(url, COUNTED, headers));
    // Timers run whatever the load (the metrics' event-loop sampling, every 10 ms): under valgrind a
    // window lasts seconds, so an idle window of the same length is counted and taken off.
    const ms = Date.now() - started;
    const idle = await c.count(() => new Promise((r) => setTimeout(r, ms)));
    windows.push(busy - idle);
  }
  return Math.min(...windows) / COUNTED;
}

async function jwksServer() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const server = createServer((_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`, privateKey, close: () => server.close() };
}

const row = (name: string, floor: number, cost: number, goal: number) => {
  const k = (n: number) => `${(n / 1000).toFixed(1).padStart(8)}k`;
  const verdict = floor / cost >= goal ? 'met' : 'NOT MET';
  const line = `${name.padEnd(44)} ${k(cost)} ${k(floor)}   ${(floor / cost).toFixed(3)}  ≥${goal.toFixed(2)}  ${verdict}`;
  console.log(line); // as soon as measured: a long run that fails late still reports what it measured
  return line;
};

async function main(): Promise<void> {
  const issuer = await jwksServer();
  const base = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://app.example.com"
  allowedEmailPatterns: "*@example.com"
  extraJwtIssuers: "https://ci.example.com=ci-api=${issuer.url}"
  policies:
    grafana: {allowedGroups: "sre"}
`;
  const key = compileAiryYaml(base).policy!.sessionKey!;
  const session = await mintSession(key, { sub: 'bench', email: 'bench@example.com', groups: ['sre'] }, 86400, Date.now());
  const machine = await new SignJWT({ iss: 'https://ci.example.com', aud: 'ci-api', sub: 'ci', email: 'ci@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setExpirationTime('1d')
    .sign(issuer.privateKey);
  const credentials: Record<string, Record<string, string>> = {
    'session cookie': { cookie: `airy_auth_token=${session}` },
    systemToken: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` },
    'IdP machine token (cached)': { authorization: `Bearer ${machine}` },
  };
  const adapters: Record<string, { path: string; policyPath: string; headers: Record<string, string> }> = {
    '/auth': { path: '/auth', policyPath: '/auth?policy=grafana', headers: { 'x-original-url': 'https://app.example.com/x', 'x-original-method': 'GET' } },
    '/forward-auth': {
      path: '/forward-auth',
      policyPath: '/forward-auth?policy=grafana',
      headers: { 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/x', 'x-forwarded-proto': 'https', 'x-forwarded-method': 'GET' },
    },
    '/envoy': { path: '/envoy/x', policyPath: '/envoy-policy/grafana/x', headers: { host: 'app.example.com' } },
    '/gateway-api': { path: '/gateway-api/x', policyPath: '/gateway-api-policy/grafana/x', headers: { host: 'app.example.com' } },
  };

  const floor = await bare();
  const candidate = await airy(base);
  const lines: string[] = [];
  // The floor gets the very same request (path and headers): parsing them is not airy-auth's cost.
  const p1 = async (name: string, path: string, headers: Record<string, string>) => {
    const floorCost = await perRequest(floor.counted, `${floor.url}${path}`, headers);
    lines.push(row(name, floorCost, await perRequest(candidate.counted, `${candidate.url}${path}`, headers), 0.87));
  };
  for (const [adapter, a] of Object.entries(adapters)) {
    for (const [credential, h] of Object.entries(credentials)) await p1(`P1 ${adapter}, ${credential}`, a.path, { ...a.headers, ...h });
    await p1(`P1 ${adapter}, named policy with groups`, a.policyPath, { ...a.headers, ...credentials['session cookie'] });
  }

  // P2: behind nginx, the auth service's instructions per subrequest, airy-auth against the bare stub.
  const up = await freePort();
  const upstream = createServer((_q, s) => s.writeHead(200, { 'content-length': '0' }).end());
  await new Promise<void>((r) => upstream.listen(up, '127.0.0.1', r));
  for (const keepalive of [false, true]) {
    const gate = async (authUrl: string, hostPort: string) =>
      startNginx({
        paths: [
          { path: '/', upstream: `127.0.0.1:${up}`, annotations: { 'auth-url': keepalive ? `http://auth_upstream${new URL(authUrl).pathname}` : authUrl } },
        ],
        ...(keepalive ? { httpExtra: `  upstream auth_upstream { server ${hostPort}; keepalive 16; }` } : {}),
      });
    const viaStub = await gate(`${floor.url}/auth`, floor.url.replace('http://', ''));
    const viaAiry = await gate(`${candidate.url}/auth`, candidate.url.replace('http://', ''));
    const h = { host: 'app.example.com', ...credentials['session cookie'] };
    const stubCost = await perRequest(floor.counted, `${viaStub.url}/x`, h);
    const airyCost = await perRequest(candidate.counted, `${viaAiry.url}/x`, h);
    lines.push(row(`P2 via nginx, ${keepalive ? 'upstream keep-alive' : 'new connection per subrequest'}`, stubCost, airyCost, 0.91));
    await viaStub.stop();
    await viaAiry.stop();
  }
  upstream.close();

  // P3: the same decision under a large configuration and a session with 1,000 groups.
  const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(',');
  const big = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "${many(500, (i) => `https://app${i}.example.com`)},${many(499, (i) => `https://*.t${i}.example.org`)},https://app.example.com"
  allowedEmailPatterns: "${many(10_000, (i) => `user${i}@example.net`)},${many(999, (i) => `*@d${i}.example.io`)},*@example.com"
  policies:
${Array.from({ length: 100 }, (_, i) => `    p${i}: {allowedGroups: "g${i}", allowedEmailPatterns: "*@example.com"}`).join('\n')}
`;
  const small = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedOrigins: "https://*.t0.example.org,https://app.example.com"
  allowedEmailPatterns: "user0@example.net,*@example.com"
  policies:
    p99: {allowedGroups: "g99", allowedEmailPatterns: "*@example.com"}
`;
  const groups = [...Array.from({ length: 999 }, (_, i) => `other-group-${i}`), 'g99'];
  const bigSession = await mintSession(key, { sub: 'bench', email: 'bench@example.com', groups }, 86400, Date.now());
  const smallSession = await mintSession(key, { sub: 'bench', email: 'bench@example.com', groups: ['g99'] }, 86400, Date.now());
  const p3 = { 'x-original-url': 'https://app.example.com/x', 'x-original-method': 'GET', origin: 'https://app.example.com' };
  const smallAiry = await airy(small);
  const bigAiry = await airy(big);
  const smallCost = await perRequest(smallAiry.counted, `${smallAiry.url}/auth?policy=p99`, { ...p3, authorization: `Bearer ${smallSession}` });
  const bigCost = await perRequest(bigAiry.counted, `${bigAiry.url}/auth?policy=p99`, { ...p3, authorization: `Bearer ${bigSession}` });
  lines.push(row('P3 large configuration and 1,000 groups', smallCost, bigCost, 0.91));

  for (const p of [floor, candidate, smallAiry, bigAiry]) p.counted.stop();
  issuer.close();
  console.log(`\ninstructions per request (callgrind; ${WARMUP} warm-up, ${COUNTED} counted, sequential keep-alive):\n`);
  console.log(`${'row'.padEnd(44)} ${'airy-auth'.padStart(9)} ${'floor'.padStart(9)}   ratio  goal`);
  for (const l of lines) console.log(l);
  console.log(`\nrequests sent again after a reset of a kept-alive socket: ${resent.count}`);
}

main().catch((err) => {
  console.error(err);
  stopAll();
  process.exitCode = 1;
});
