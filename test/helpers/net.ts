import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'undici';
import { waitFor } from './wait.js';

/** A port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A free port below the kernel's ephemeral range, for a server that must get the same port back
 * after a restart (the real apiserver after a SIGKILL). A port the OS hands out (`freePort`) lies
 * in that range, where any `listen(0)` or outgoing connection on the machine may take it while the
 * server is down; below it, nothing is handed out.
 */
export async function stablePort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // Not Linux: keep the usual bound.
  }
  const from = 10_000;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + randomInt(Math.max(1, low - from));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free loopback port between ${from} and ${low}`);
}

/** Polls until `url` answers anything, or throws after `ms`. */
export async function waitForHttp(url: string, ms = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await request(url);
      await res.body.dump();
      return true;
    },
    `${url} to answer`,
    ms,
    50,
  );
}

/**
 * Waits until a child process's `url` answers. Fails at once when the child exits, and after a
 * long backstop otherwise (a busy machine may take many seconds to start a program), always with
 * what the child printed, so a failed start says why.
 */
export async function waitForChildHttp(child: ChildProcess, url: string, output: () => string, what: string, ms = 120_000): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new Error(`${what} exited (code ${code}, signal ${signal}) before ${url} answered; it printed:\n${output().slice(-4000)}`));
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
    child.once('exit', onExit);
  });
  exited.catch(() => {}); // handled by the race below; never unhandled when the wait succeeds first
  try {
    await Promise.race([waitForHttp(url, ms), exited]);
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.includes('printed:') ? message : `${message}\n${what} printed:\n${output().slice(-4000)}`);
  }
}
