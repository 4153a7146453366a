import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A process under valgrind's callgrind with instrumentation off until asked: instruction counts
 * are the same from run to run on a busy machine, where times are not. Counting is switched on
 * for a batch of requests only, then dumped and read back.
 */
export interface Counted {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Instructions executed while `send` runs, from a dump of exactly that window. */
  count(send: () => Promise<void>): Promise<number>;
  stop(): void;
}

const running = new Set<ChildProcess>();

/** Kills every process still under callgrind: a failed run must end, not wait on its children. */
export function stopAll(): void {
  for (const c of running) c.kill('SIGKILL');
}

/**
 * Every process counted runs with V8's memory reducer off, the floors as much as airy-auth. The
 * reducer runs when a process has been idle for a while (as each server is while the bench counts
 * another), and airy-auth, after it ran, took 33 % to 50 % more instructions per request through
 * the rest of a run (82.1k per /auth without an idle minute, 109.0k after one, 84.0k after one
 * with the reducer off). So the bench counts servers in continuous use, the floors alike.
 */
const NODE_FLAGS = ['--no-memory-reducer'];

export async function underCallgrind(nodeArgs: string[], ready: () => Promise<boolean>): Promise<Counted> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-callgrind-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'cg.out')}`,
      process.execPath,
      ...NODE_FLAGS,
      ...nodeArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 300_000;
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`under callgrind, the process exited: ${stderr.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`under callgrind, the process did not start: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  running.add(child);
  child.on('exit', () => running.delete(child));
  const pid = child.pid!;
  let dumps = 0;
  return {
    pid,
    child,
    async count(send) {
      await run('callgrind_control', ['-z', String(pid)]); // zero whatever counted since the last dump
      await run('callgrind_control', ['-i', 'on', String(pid)]);
      await send();
      await run('callgrind_control', ['-i', 'off', String(pid)]);
      await run('callgrind_control', ['-d', String(pid)]);
      dumps++;
      const files = readdirSync(dir).filter((f) => f.startsWith('cg.out'));
      const latest = files.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).at(-1)!;
      const text = readFileSync(join(dir, latest), 'utf8');
      const total = /^totals:\s+(\d+)/m.exec(text);
      if (!total) throw new Error(`no totals in ${latest} (dump ${dumps})`);
      return Number(total[1]);
    },
    stop: () => child.kill('SIGKILL'),
  };
}

/** Requests sent again because a kept-alive socket was reset under them; reported with the figures. */
export const resent = { count: 0 };

function once(url: string, agent: Agent, headers: Record<string, string>, status: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === status ? resolve() : reject(new Error(`${url}: ${res.statusCode}, not ${status}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `n` requests, one after another on one keep-alive connection; every answer must have `status`.
 * A reset of a reused socket (the server closed it as the request went out; node:http never
 * retries) is sent once more on a new socket and counted, so it cannot hang or end a long run.
 */
export async function sendSequential(url: string, n: number, headers: Record<string, string>, status = 200): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < n; i++) {
      try {
        await once(url, agent, headers, status);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
        resent.count++;
        await once(url, agent, headers, status);
      }
    }
  } finally {
    agent.destroy();
  }
}
