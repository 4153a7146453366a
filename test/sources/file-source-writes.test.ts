import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { startFileSource } from '../../src/sources/file-source.js';
import { PolicyStore } from '../../src/sources/policy-store.js';
import { CLI } from '../helpers/airy-process.js';
import { freePort, waitForChildHttp } from '../helpers/net.js';
import { securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait.js';

let stop: (() => void) | undefined;
afterEach(() => stop?.());

function fileSource(path: string) {
  const logger = memoryLogger();
  const metrics = createMetrics(new Registry());
  const store = new PolicyStore(logger, metrics);
  const source = startFileSource(path, { store, metrics, logger });
  stop = () => void source.stop();
  const said = () => logger.lines.map((l) => `${l.level} ${l.msg}`);
  return { logger, store, source, said };
}

/** A valid config of about `policies` × 120 bytes: the security keys first, then many named policies. */
function bigConfig(policies: number, marker: string): string {
  const lines = [
    securityYaml({ systemToken: TEST_SYSTEM_TOKEN, jwtSecret: TEST_JWT_SECRET, allowedEmailPatterns: `*@${marker}.example.com` }).trimEnd(),
    '  policies:',
  ];
  for (let i = 0; i < policies; i++)
    lines.push(`    team-${i}: { allowedGroups: "acme:team-${i},acme:team-${i}-leads,acme:everyone-in-the-long-group-name-${i}" }`);
  return `${lines.join('\n')}\n`;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

it('a real cp of a large config over the watched file applies it, without a false "config rejected" while cp writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-cp-'));
  const file = join(dir, 'airy.yaml');
  writeFileSync(file, bigConfig(10, 'first'));
  const { store, source, said } = fileSource(file);
  await source.ready;
  expect(store.current?.emails?.matches('ann@first.example.com')).toBe(true);
  // About 16 MB: cp writes it in many pieces, each a change event for the directory watch.
  const big = join(dir, 'next.yaml');
  writeFileSync(big, bigConfig(130_000, 'second'));
  for (let round = 0; round < 3; round++) {
    const marker = round % 2 === 0 ? 'second' : 'first';
    if (round > 0) writeFileSync(big, bigConfig(130_000 + round, marker));
    await run('cp', [big, file]);
    await waitFor(() => store.current?.emails?.matches(`ann@${marker}.example.com`), `the copied config of round ${round}`);
  }
  expect(said().filter((l) => l.includes('rejected'))).toEqual([]);
  expect(said().filter((l) => l.startsWith('info config applied'))).toHaveLength(4);
  rmSync(dir, { recursive: true });
}, 120_000);

it('a config file that was never there is "not found", not "deleted"; one deleted after a read is "deleted"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-missing-'));
  const file = join(dir, 'airy.yaml');
  const { source, said, logger } = fileSource(file);
  await source.ready;
  expect(said()).toEqual(['error config file not found; no valid config yet, answering 503 until it appears']);
  expect(logger.lines[0]!.fields).toMatchObject({ source: file, code: 'ENOENT' });
  writeFileSync(file, bigConfig(1, 'first'));
  await waitFor(() => said().includes('info config applied'), 'the config, once written');
  rmSync(file);
  await waitFor(() => said().some((l) => l.includes('deleted')), 'the deletion');
  expect(said().filter((l) => l.includes('deleted'))).toEqual(['warn config source deleted; keeping the last good config']);
  rmSync(dir, { recursive: true });
});

it('serve started while its config file is still being written waits for the write to end, then applies it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airy-busy-'));
  const file = join(dir, 'airy.yaml');
  writeFileSync(file, bigConfig(3, 'busy'));
  // Keep the file "being written" (its mtime fresh) while the process starts and for a while after.
  let writing = true;
  const toucher = (async () => {
    while (writing) {
      const now = new Date();
      utimesSync(file, now, now);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    // The source is deferring its read; the process must stay up meanwhile.
    await waitFor(() => log.includes('"msg":"airy-auth listening"') || child.exitCode !== null, 'the listening line (or an exit)');
    expect(child.exitCode, log).toBeNull();
    writing = false;
    await toucher;
    await waitForChildHttp(child, `http://127.0.0.1:${port}/readyz`, () => log, 'airy-auth serve');
    await waitFor(() => log.includes('"msg":"config applied"'), 'the config, once its write ended');
    expect(log).not.toContain('rejected');
  } finally {
    writing = false;
    child.kill('SIGTERM');
  }
  rmSync(dir, { recursive: true });
}, 60_000);
