/**
 * `npm run bench:instructions`: instructions per decision, counted by callgrind (steady on a busy
 * machine, unlike times), each against its floor measured in the same run:
 *   P1  each adapter × credential, against a bare node:http server answering 200 (goal ≥ 0.87); and /auth with
 *       signedIdentity on (the signed X-Auth-Request-Jwt, reused until near its expiry)
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
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const MIN_WINDOWS = Number(process.env.BENCH_MIN_WINDOWS ?? 8);
const MAX_WINDOWS = Number(process.env.BENCH_MAX_WINDOWS ?? 30);
const COUNTED = Number(process.env.BENCH_COUNTED ?? 4000);
/** Which parts run (`BENCH_SECTIONS=P3`, say); all by default. */
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'P1,P2,P3').split(','));
// The shadow rows (S) run by default too; `BENCH_SECTIONS=S` runs them alone.
if (process.env.BENCH_SECTIONS === undefined) SECTIONS.add('S');
/** Which adapters P1 counts (`BENCH_ADAPTERS=/auth,/envoy`, say); all by default. */
const ADAPTERS = process.env.BENCH_ADAPTERS?.split(',');

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

/**
 * The floor: a bare node:http server answering 200 with Content-Length only, or with `answer` (a
 * flat header list): the very headers of an airy-auth allow, which says what answering costs
 * apart from deciding.
 */
async function bare(answer?: readonly string[]): Promise<{ url: string; counted: Counted }> {
  const port = await freePort();
  const headers = answer === undefined ? `{ 'Content-Length': '0' }` : JSON.stringify(answer);
  // The header limit airy-auth's server has (32 KB), so P3's 24 KB request is taken, not refused.
  const options = '{ maxHeaderSize: 32 * 1024 }';
  const code = `require('node:http').createServer(${options}, (q, s) => { s.writeHead(200, ${headers}); s.end(); }).listen(${port}, '127.0.0.1');`;
  const url = `http://127.0.0.1:${port}`;
  return { url, counted: await underCallgrind(['-e', code], answers(url)) };
}

/** The headers of an allow for `groups`, as airy-auth writes them (the test groups need no encoding). */
function allowHeaders(groups: readonly string[]): string[] {
  const identity = ['X-Auth-Request-User', 'bench', 'X-Auth-Request-Email', 'bench@example.com', 'X-Auth-Request-Groups', groups.join(',')];
  return [...identity, 'Content-Length', '0', 'x-request-id', '0b7e4c1a-3f2d-4e6b-9a8c-000000000001'];
}

async function airy(config: string): Promise<{ url: string; counted: Counted }> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-bench-'));
  writeFileSync(join(dir, 'airy.yaml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [CLI, 'serve', '--config', join(dir, 'airy.yaml'), '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'];
  return { url, counted: await underCallgrind(args, answers(`${url}/healthz`)) };
}

/** airy-auth with a shadow configuration (`serve --shadow-config`) beside the live one. */
async function airyWithShadow(config: string, candidate: string): Promise<{ url: string; counted: Counted }> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-bench-'));
  writeFileSync(join(dir, 'airy.yaml'), config);
  writeFileSync(join(dir, 'shadow.yaml'), candidate);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [CLI, 'serve', '--config', join(dir, 'airy.yaml'), '--shadow-config', join(dir, 'shadow.yaml')];
  return { url, counted: await underCallgrind([...args, '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'], answers(`${url}/healthz`)) };
}

/**
 * Instructions per request once the server is steady. A fixed warm-up is not enough: V8 keeps
 * tiering up (and compiles on background threads, which callgrind counts too) for ten thousand
 * requests and more, and a window that catches it counted twice the steady cost. So windows of
 * WINDOW requests are counted, at least MIN_WINDOWS, until two in a row are within 3 % of the lowest
 * window yet (two equal windows in the middle of a compilation are not steady), then two windows of COUNTED are
 * counted and the lower is taken (a garbage collection lands in one or the other).
 */
async function perRequest(c: Counted, url: string, headers: Record<string, string>): Promise<number> {
  await untilAllowed(url, headers);
  await sendSequential(url, WARMUP, headers);
  let lowest = Number.POSITIVE_INFINITY;
  let near = 0;
  // At least MIN_WINDOWS: a server can pause on a plateau (two equal windows) before its last tier-up.
  for (let i = 0; near < 2 || i < MIN_WINDOWS; i++) {
    if (i === MAX_WINDOWS) {
      unsteady.push(url);
      break;
    }
    // Idle timer work is under 0.1 % of a window: not worth an idle window per warm-up window.
    const cost = (await c.count(() => sendSequential(url, WINDOW, headers))) / WINDOW;
    // A new low more than 3 % under the last one starts the count again: the server is still speeding up.
    if (cost < lowest * 0.97) near = 1;
    else near = cost <= lowest * 1.03 ? near + 1 : 0;
    lowest = Math.min(lowest, cost);
  }
  const windows = [await net(c, () => sendSequential(url, COUNTED, headers)), await net(c, () => sendSequential(url, COUNTED, headers))];
  return Math.min(...windows) / COUNTED;
}

/**
 * The first answer may be a refusal that is no fault of the decision: under callgrind a machine
 * token's first JWKS fetch can outlast its 5 s deadline on a busy machine (the issuer's keys are
 * then fetched again after the one-minute cooldown). Asked again, one request at a time, until an
 * allow, for at most UNTIL_ALLOWED_MS; only then does the warm-up start.
 */
const UNTIL_ALLOWED_MS = Number(process.env.BENCH_UNTIL_ALLOWED_MS ?? 180_000);
async function untilAllowed(url: string, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + UNTIL_ALLOWED_MS;
  for (;;) {
    try {
      await sendSequential(url, 1, headers);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/**
 * The instructions of one window, less an idle window of the same length: timers run whatever the
 * load (the metrics' event-loop sampling, every 10 ms), and under valgrind a window lasts seconds.
 */
async function net(c: Counted, send: () => Promise<void>): Promise<number> {
  const started = Date.now();
  const busy = await c.count(send);
  const ms = Date.now() - started;
  const idle = await c.count(() => new Promise((r) => setTimeout(r, ms)));
  return busy - idle;
}

/** Rows whose warm-up never settled: reported, since their figure may include compilation. */
const unsteady: string[] = [];

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

  const lines: string[] = [];
  const shadowLines: string[] = [];
  let reference = '';
  let wireLine = '';
  const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
  const floor = SECTIONS.has('P1') || SECTIONS.has('P2') ? await bare() : undefined;
  const candidate = floor === undefined ? undefined : await airy(base);
  if (floor !== undefined && candidate !== undefined) {
    // The floor gets the very same request (path and headers): parsing them is not airy-auth's cost.
    const p1 = async (name: string, path: string, headers: Record<string, string>) => {
      const floorCost = await perRequest(floor.counted, `${floor.url}${path}`, headers);
      const cost = await perRequest(candidate.counted, `${candidate.url}${path}`, headers);
      lines.push(row(name, floorCost, cost, 0.87));
      return cost;
    };
    // Not a goal: the floor that also writes an allow's headers, against the first row.
    const sameAnswer = await bare(allowHeaders(['sre']));
    const first = adapters['/auth']!;
    const firstHeaders = { ...first.headers, ...credentials['session cookie'] };
    const firstCost = await p1('P1 /auth, session cookie', first.path, firstHeaders);
    const sameAnswerCost = await perRequest(sameAnswer.counted, `${sameAnswer.url}${first.path}`, firstHeaders);
    sameAnswer.counted.stop();
    reference =
      `reference (no goal): a bare node:http server writing an allow's five headers costs ${k(sameAnswerCost)}; ` +
      `P1 /auth, session cookie costs ${k(firstCost)} (ratio ${(sameAnswerCost / firstCost).toFixed(3)})`;
    console.log(reference);
    // The first row with signedIdentity on (X-Auth-Request-Jwt, reused per identity and audience), from a
    // server of its own: a config that turns it on anywhere adds the header to every allow.
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signed = await airy(`${base}  publicUrl: "https://auth.example.com"\n  signedIdentity: true\n  signingKey: ${JSON.stringify(signingKey)}\n`);
    const signedFloor = await perRequest(floor.counted, `${floor.url}${first.path}`, firstHeaders);
    lines.push(
      row('P1 /auth, session cookie, signedIdentity', signedFloor, await perRequest(signed.counted, `${signed.url}${first.path}`, firstHeaders), 0.87),
    );
    signed.counted.stop();
    for (const [adapter, a] of Object.entries(adapters)) {
      if (ADAPTERS !== undefined && !ADAPTERS.includes(adapter)) continue;
      for (const [credential, h] of Object.entries(credentials)) {
        if (a === first && credential === 'session cookie') continue; // measured above
        await p1(`P1 ${adapter}, ${credential}`, a.path, { ...a.headers, ...h });
      }
      await p1(`P1 ${adapter}, named policy with groups`, a.policyPath, { ...a.headers, ...credentials['session cookie'] });
    }
  }

  // P2: behind nginx, the auth service's instructions per subrequest, airy-auth against the bare stub.
  if (floor !== undefined && candidate !== undefined && SECTIONS.has('P2')) {
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
  }

  // P3: the same decision under a large configuration and a session with 1,000 groups.
  if (SECTIONS.has('P3')) {
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
    const cost = (server: typeof smallAiry, session: string) =>
      perRequest(server.counted, `${server.url}/auth?policy=p99`, { ...p3, authorization: `Bearer ${session}` });
    const smallCost = await cost(smallAiry, smallSession);
    lines.push(row('P3 large configuration and 1,000 groups', smallCost, await cost(bigAiry, bigSession), 0.91));
    // The two halves of P3 apart, so a miss says which one it is.
    lines.push(row('P3 (part) large configuration only', smallCost, await cost(bigAiry, smallSession), 0.91));
    lines.push(row('P3 (part) 1,000 groups in the session only', smallCost, await cost(smallAiry, bigSession), 0.91));
    // Not a goal: what node:http alone pays to take the 24 KB request and write the 17 KB answer.
    const smallWire = await bare(allowHeaders(['g99']));
    const bigWire = await bare(allowHeaders(groups));
    const wire = async (server: typeof smallWire, session: string) =>
      perRequest(server.counted, `${server.url}/auth?policy=p99`, { ...p3, authorization: `Bearer ${session}` });
    const smallWireCost = await wire(smallWire, smallSession);
    const bigWireCost = await wire(bigWire, bigSession);
    for (const p of [smallWire, bigWire]) p.counted.stop();
    wireLine =
      `reference (no goal): a bare node:http server taking the same requests and writing the same answers costs ${k(smallWireCost)} ` +
      `with one group and ${k(bigWireCost)} with 1,000 (ratio ${(smallWireCost / bigWireCost).toFixed(3)}): the P3 floor set by the bytes on the wire`;
    console.log(wireLine);
    for (const p of [smallAiry, bigAiry]) p.counted.stop();
  }

  // S: the cost of a shadow configuration, against the same server without one (not a goal: the
  // shadow decides every request twice). A candidate that agrees (the usual case), and one that
  // refuses every request of the row (each counted; the log at its rate limit).
  if (SECTIONS.has('S')) {
    const h = { ...adapters['/auth']!.headers, ...credentials['session cookie'] };
    const path = '/auth?policy=grafana';
    const plain = await airy(base);
    const plainCost = await perRequest(plain.counted, `${plain.url}${path}`, h);
    plain.counted.stop();
    for (const [name, groups] of [
      ['agrees', 'sre,ops'],
      ['disagrees on every request', 'ops'],
    ]) {
      const shadowed = await airyWithShadow(base, base.replace('grafana: {allowedGroups: "sre"}', `grafana: {allowedGroups: "${groups}"}`));
      const cost = await perRequest(shadowed.counted, `${shadowed.url}${path}`, h);
      shadowed.counted.stop();
      const line =
        `S /auth?policy=grafana, session cookie, shadow ${name}: ${k(cost)} ` +
        `against ${k(plainCost)} without a shadow (ratio ${(plainCost / cost).toFixed(3)}, no goal)`;
      console.log(line);
      shadowLines.push(line);
    }
  }

  for (const p of [floor, candidate]) p?.counted.stop();
  issuer.close();
  console.log(`\ninstructions per request (callgrind; sequential keep-alive; ${WARMUP} warm-up requests,`);
  console.log(`then at least ${MIN_WINDOWS} windows of ${WINDOW}, until two in a row are within 3 % of the lowest;`);
  console.log(`then the lower of two windows of ${COUNTED}):\n`);
  console.log(`${'row'.padEnd(44)} ${'airy-auth'.padStart(9)} ${'floor'.padStart(9)}   ratio  goal`);
  for (const l of lines) console.log(l);
  console.log('');
  for (const line of [reference, wireLine, ...shadowLines]) if (line !== '') console.log(line);
  console.log(`\nrequests sent again after a reset of a kept-alive socket: ${resent.count}`);
  if (unsteady.length > 0) console.log(`never steady within ${MAX_WINDOWS} windows (figures may include compilation): ${unsteady.join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  stopAll();
  process.exitCode = 1;
});
