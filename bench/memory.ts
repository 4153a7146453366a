/**
 * `npm run bench:memory`: P4.
 *   idle RSS of `serve --config`, against a bare node:http server started the same way (goal ≤ 1.5×);
 *   a soak (BENCH_SOAK_SECONDS, default 600) at a steady load of valid, invalid and distinct tokens
 *   with a hot reload every 10 s: RSS flat (last minute within 5 % of the first minute after
 *   warm-up), 0 failed and 0 wrong answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAiryYaml } from '../src/config/load.js';
import { mintSession } from '../src/session/mint.js';
import { freePort, waitForHttp } from '../test/helpers/net.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../test/helpers/policies.js';
import { CLI } from '../test/helpers/repo.js';

const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const mib = (b: number) => (b / 1048576).toFixed(1);

async function settle(pid: number): Promise<number> {
  // Idle: a few seconds after start, after the first requests, the smallest of several readings.
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 300));
    least = Math.min(least, rssOf(pid));
  }
  return least;
}

function ask(agent: Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-bench-mem-'));
  const configPath = join(dir, 'airy.yaml');
  writeFileSync(configPath, securityYaml(PROTECTED));
  const [barePort, airyPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const bare = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => { s.writeHead(200); s.end(); }).listen(${barePort}, '127.0.0.1')`]);
  const airy = spawn(
    process.execPath,
    [CLI, 'serve', '--config', configPath, '--host', '127.0.0.1', '--port', String(airyPort), '--metrics-port', String(metricsPort)],
    {
      stdio: 'ignore',
    },
  );
  try {
    await waitForHttp(`http://127.0.0.1:${barePort}/`);
    await waitForHttp(`http://127.0.0.1:${airyPort}/healthz`);
    const bareIdle = await settle(bare.pid!);
    const airyIdle = await settle(airy.pid!);
    const ratio = airyIdle / bareIdle;
    console.log(
      `\nP4 idle RSS: airy-auth ${mib(airyIdle)} MiB, bare node:http ${mib(bareIdle)} MiB: ${ratio.toFixed(2)}× (goal ≤ 1.50×) ` +
        (ratio <= 1.5 ? 'met' : 'NOT MET'),
    );

    const key = compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!;
    const valid = await mintSession(key, { sub: 'soak', email: 'soak@example.com' }, 86400 * 2, Date.now());
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const url = `http://127.0.0.1:${airyPort}/auth`;
    const started = Date.now();
    let sent = 0;
    let failed = 0;
    let wrong = 0;
    let reloads = 0;
    const samples: { t: number; rss: number }[] = [];
    const reload = setInterval(() => {
      reloads++;
      // Flip a harmless key: every reload is a real one (a new policy), never a change of who gets in.
      writeFileSync(configPath, securityYaml({ ...PROTECTED, publicPaths: reloads % 2 ? '/webhooks/**,/healthz,/status' : PROTECTED.publicPaths }));
    }, 10_000);
    const heapUsed = async () => {
      const text = await new Promise<string>((resolve) => {
        request(`http://127.0.0.1:${metricsPort}/metrics`, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        })
          .on('error', () => resolve(''))
          .end();
      });
      return Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    };
    const heap: { t: number; used: number }[] = [];
    const sample = setInterval(() => {
      samples.push({ t: Date.now() - started, rss: rssOf(airy.pid!) });
      void heapUsed().then((used) => heap.push({ t: Date.now() - started, used }));
    }, 5_000);
    const worker = async () => {
      while (Date.now() - started < SOAK_SECONDS * 1000) {
        const kind = sent % 4;
        sent++;
        const distinct = kind === 3 ? await mintSession(key, { sub: `u${sent}`, email: `u${sent}@example.com` }, 3600, Date.now()) : undefined;
        const headers: Record<string, string> =
          kind === 0
            ? { authorization: `Bearer ${valid}` }
            : kind === 1
              ? { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` }
              : kind === 2
                ? { authorization: `Bearer ${valid.slice(0, -3)}xyz` }
                : { authorization: `Bearer ${distinct}` };
        const status = await ask(agent, url, { host: 'app.example.com', ...headers });
        if (status === 0 || status >= 500) failed++;
        else if ((kind === 2) !== (status === 401)) wrong++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    clearInterval(reload);
    clearInterval(sample);
    agent.destroy();
    const warm = samples.filter((s) => s.t >= 60_000 && s.t < 120_000).map((s) => s.rss);
    const last = samples.filter((s) => s.t >= SOAK_SECONDS * 1000 - 60_000).map((s) => s.rss);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const drift = avg(last) / avg(warm) - 1;
    const heapWarm = avg(heap.filter((s) => s.t >= 60_000 && s.t < 120_000).map((s) => s.used));
    const heapLast = avg(heap.filter((s) => s.t >= SOAK_SECONDS * 1000 - 60_000).map((s) => s.used));
    console.log(`P4 soak: V8 heap in use ${mib(heapWarm)} MiB in the 2nd minute, ${mib(heapLast)} MiB in the last (live data, not RSS)`);
    console.log(
      `P4 soak ${SOAK_SECONDS} s: ${sent} requests, ${reloads} reloads, ${failed} failed, ${wrong} wrong; RSS ${mib(avg(warm))} MiB in the 2nd minute, ` +
        `${mib(avg(last))} MiB in the last: ${(drift * 100).toFixed(1)} % (goal within ±5 %) ` +
        (Math.abs(drift) <= 0.05 && failed === 0 && wrong === 0 ? 'met' : 'NOT MET'),
    );
  } finally {
    bare.kill('SIGKILL');
    airy.kill('SIGKILL');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
