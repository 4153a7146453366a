import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForChildHttp } from './net.js';

export { CLI } from './repo.js';

import { CLI } from './repo.js';

export interface AiryProcess {
  readonly url: string;
  readonly port: number;
  readonly metricsUrl: string;
  readonly configPath: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr (its JSON log) so far. */
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built CLI (`serve`) as a real process on loopback with the given airy.yaml text. */
export async function startAiry(yamlText: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<AiryProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-auth-'));
  const configPath = join(dir, 'airy.yaml');
  writeFileSync(configPath, yamlText);
  return startAiryWith(['--config', configPath, ...extraArgs], env, configPath);
}

/** Starts `airy-auth serve` with these source arguments (`--config F` or `--configmap NS/N ...`). */
export async function startAiryWith(sourceArgs: string[], env: NodeJS.ProcessEnv = {}, configPath = ''): Promise<AiryProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', ...sourceArgs, '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitForChildHttp(child, `${url}/healthz`, () => log, 'airy-auth serve');
  return {
    url,
    port,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    configPath,
    child,
    logs: () => log,
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
