/**
 * `npm run bench:startup`: how long airy-auth takes to start, against `node -e 0` on the same
 * machine in the same run (rounds alternate, medians reported), so a busy machine slows both.
 *   --help, check FILE: until the process exits        goal: within 0.3 s of node -e 0
 *   serve --config FILE: until /healthz answers 200     goal: within 1 s of node -e 0
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/net.js';
import { PROTECTED, securityYaml } from '../test/helpers/policies.js';
import { CLI } from '../test/helpers/repo.js';
import { median } from './wrk.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);

function timeToExit(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(performance.now() - started));
  });
}

async function timeToHealthy(config: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'], {
    stdio: 'ignore',
  });
  try {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
        req.end();
      });
      if (ok) return performance.now() - started;
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-bench-start-'));
  const config = join(dir, 'airy.yaml');
  writeFileSync(config, securityYaml(PROTECTED));
  const samples: Record<string, number[]> = { node: [], help: [], check: [], serve: [] };
  await timeToExit([CLI, '--help']); // warm the file cache
  for (let i = 0; i < ROUNDS; i++) {
    samples.node!.push(await timeToExit(['-e', '0']));
    samples.help!.push(await timeToExit([CLI, '--help']));
    samples.check!.push(await timeToExit([CLI, 'check', config]));
    samples.serve!.push(await timeToHealthy(config));
  }
  const base = median(samples.node!);
  console.log(`\ncold start, ${ROUNDS} alternating rounds, medians (ms):\n`);
  console.log(`node -e 0                 ${base.toFixed(0).padStart(6)}`);
  for (const [name, label, goal] of [
    ['help', 'airy-auth --help', 300],
    ['check', 'airy-auth check FILE', 300],
    ['serve', 'serve --config: healthy', 1000],
  ] as const) {
    const m = median(samples[name]!);
    const over = m - base;
    console.log(`${label.padEnd(26)}${m.toFixed(0).padStart(6)}   +${over.toFixed(0)} over node -e 0, goal +${goal}: ${over <= goal ? 'met' : 'NOT MET'}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
