import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/airy-process.js';

/** The CLI as a process: its exit code and what it printed. */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'revoke', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A kubeconfig whose apiserver is a closed port on loopback: every request is refused. */
async function unreachableKubeconfig(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  const path = join(mkdtempSync(join(tmpdir(), 'airy-revoke-')), 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: c, user: u, namespace: ns}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return path;
}

describe('airy-auth revoke', () => {
  it('prints its usage', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: airy-auth revoke \[flags\]/);
    for (const flag of ['--revocations', '--session', '--subject', '--email', '--all-before', '--lifetime']) expect(r.stdout).toContain(flag);
  });

  it.each([
    [[], /revoke needs --revocations/],
    [['--revocations', 'ns/list'], /name what to revoke/],
    [['--revocations', 'ns/list', '--all-before', 'yesterday'], /is not RFC 3339/],
    [['--revocations', 'ns/list', '--all-before', '2999-01-01T00:00:00Z'], /is in the future/],
    [['--revocations', 'ns/list', '--session', 'x', '--lifetime', '30'], /a minute or more/],
    [['--revocations', 'Not A Name', '--session', 'x'], /--revocations: .*lower-case DNS names/],
  ])('refuses %j with a usage error (exit 2)', async (args, message) => {
    const r = await run(args, { KUBECONFIG: await unreachableKubeconfig() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('says NOT revoked and exits 1 when the apiserver cannot be reached: never a silent success', async () => {
    const r = await run(['--revocations', 'ns/list', '--session', 'a-stolen-session'], { KUBECONFIG: await unreachableKubeconfig() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^airy-auth revoke: NOT revoked: cannot reach the apiserver to change configmap ns\/list: /);
    expect(r.stdout).toBe('');
  });
});
