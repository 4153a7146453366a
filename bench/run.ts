/**
 * `npm run bench`: throughput ratios measured in one run on loopback with wrk, so machine noise
 * affects both sides alike. Rounds alternate baseline and candidate; the median of each is used.
 *   P1  GET /auth with a valid session cookie, direct  vs  a bare node:http 200 server
 *   P2  nginx (ingress-nginx shape) → airy-auth        vs  the same nginx → a bare 200 auth stub
 * and, by the P1 method, each gateway adapter's endpoint with the headers its gateway sends.
 */
import { compileAiryYaml } from '../src/config/load.js';
import { mintSession } from '../src/session/mint.js';
import { startAiry } from '../test/helpers/airy-process.js';
import { startNginx } from '../test/helpers/nginx.js';
import { PROTECTED, securityYaml } from '../test/helpers/policies.js';
import { hasProgram } from '../test/helpers/programs.js';
import { startBareServer } from './bare-server.js';
import { median, type WrkResult, wrk } from './wrk.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Row {
  readonly name: string;
  readonly baseline: WrkResult[];
  readonly candidate: WrkResult[];
  readonly target: number;
}

async function compare(name: string, target: number, baselineUrl: string, candidateUrl: string, headers: Record<string, string>): Promise<Row> {
  const baseline: WrkResult[] = [];
  const candidate: WrkResult[] = [];
  await wrk(candidateUrl, 1, headers); // warm-up: JIT, keep-alive pools
  await wrk(baselineUrl, 1, headers);
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(await wrk(baselineUrl, SECONDS, headers));
    candidate.push(await wrk(candidateUrl, SECONDS, headers));
  }
  const bad = candidate.reduce((n, r) => n + r.non2xx, 0);
  if (bad > 0) throw new Error(`${name}: ${bad} candidate answers were not 2xx; the benchmark is not measuring allows`);
  return { name, baseline, candidate, target };
}

function report(rows: Row[]): void {
  console.log(`\nwrk -t1 -c16, ${ROUNDS} alternating rounds of ${SECONDS}s each, medians:\n`);
  console.log('metric        baseline rps  airy-auth rps  ratio   target  p50 ms (base/airy)  p99 ms (base/airy)');
  for (const r of rows) {
    const b = median(r.baseline.map((x) => x.rps));
    const c = median(r.candidate.map((x) => x.rps));
    const ratio = c / b;
    const lat = (xs: WrkResult[], k: 'p50ms' | 'p99ms') => median(xs.map((x) => x[k])).toFixed(3);
    const p50 = `${lat(r.baseline, 'p50ms')}/${lat(r.candidate, 'p50ms')}`;
    const p99 = `${lat(r.baseline, 'p99ms')}/${lat(r.candidate, 'p99ms')}`;
    const verdict = ratio >= r.target ? 'met' : 'NOT MET';
    console.log(
      [
        r.name.padEnd(13),
        b.toFixed(0).padStart(12),
        ` ${c.toFixed(0).padStart(13)}`,
        ` ${ratio.toFixed(3)}`,
        ` ≥${r.target.toFixed(2)}`,
        ` ${p50.padStart(18)}`,
        ` ${p99.padStart(18)}`,
        ` ${verdict}`,
      ].join(' '),
    );
  }
}

async function main(): Promise<void> {
  if (!hasProgram('nginx', ['-v'])) throw new Error('nginx is not installed: apt-get install nginx libnginx-mod-http-set-misc');
  if (!hasProgram('wrk', ['-v']) && !hasProgram('which', ['wrk'])) throw new Error('wrk is not installed: apt-get install wrk');
  const yaml = securityYaml(PROTECTED);
  const session = await mintSession(compileAiryYaml(yaml).policy!.sessionKey!, { sub: 'bench', email: 'bench@example.com' }, 3600, Date.now());
  const cookie = `airy_auth_token=${session}`;
  const airy = await startAiry(yaml);
  const bare = await startBareServer();
  const stub = await startBareServer();
  const upstream = await startBareServer();
  const rows: Row[] = [];
  try {
    rows.push(await compare('P1', 0.9, `${bare.url}/auth`, `${airy.url}/auth`, { cookie }));
    // One row per gateway protocol, each against the same bare server, with its gateway's headers.
    const adapters: [string, string, Record<string, string>][] = [
      [
        'forward-auth',
        '/forward-auth',
        { cookie, 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/inbox?tab=open' },
      ],
      ['envoy', '/envoy/inbox?tab=open', { cookie }],
      ['gateway-api', '/gateway-api/inbox?tab=open', { cookie }],
    ];
    for (const [name, path, headers] of adapters) rows.push(await compare(name, 0.9, `${bare.url}${path}`, `${airy.url}${path}`, headers));
    const up = upstream.url.replace('http://', '');
    const site = (authUrl: string) => ({
      paths: [
        {
          path: '/',
          upstream: up,
          annotations: {
            'auth-url': authUrl,
            'auth-signin': 'https://auth.example.com/login',
            'auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email',
          },
        },
      ],
    });
    const viaAiry = await startNginx(site(`${airy.url}/auth`));
    const viaStub = await startNginx(site(`${stub.url}/auth`));
    try {
      rows.push(await compare('P2', 0.95, `${viaStub.url}/page`, `${viaAiry.url}/page`, { cookie }));
    } finally {
      await viaAiry.stop();
      await viaStub.stop();
    }
  } finally {
    await airy.stop();
    bare.stop();
    stub.stop();
    upstream.stop();
  }
  report(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
