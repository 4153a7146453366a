import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForChildHttp } from '../helpers/net.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { REPO_ROOT } from '../helpers/repo.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

describe('Dockerfile', () => {
  it('builds on Node 22 in separate stages, keeps only production dependencies, and runs the CLI as a non-root user', () => {
    const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));
    const arg = (name: string) => `\${${name}}`; // a Dockerfile build-arg reference
    expect(stages).toEqual([`FROM ${arg('NODE_IMAGE')} AS production-dependencies`, `FROM ${arg('NODE_IMAGE')} AS build`, `FROM ${arg('RUNTIME_IMAGE')}`]);
    expect(dockerfile).toContain('npm ci --omit=dev');
    // The dev dependencies are installed, used and removed in one step: no layer holds them.
    expect(dockerfile).toMatch(/npm ci --ignore-scripts[^\n]*&& npx tsc -p tsconfig.json && rm -rf node_modules/);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "dist\/cmd\/airy-auth.js"\]$/m);
    // The chart runs the same uid.
    expect(readFileSync(join(REPO_ROOT, 'helm/airy-auth/values.yaml'), 'utf8')).toMatch(/^securityContext:\n( {2}.*\n)* {2}runAsUser: 65532$/m);
  });

  it('builds offline and behind a TLS-intercepting proxy: pinned bases, no remote syntax frontend, optional CA and npmrc secrets', () => {
    // `# syntax=` makes BuildKit fetch a frontend image from Docker Hub before anything else.
    expect(dockerfile).not.toMatch(/^#\s*syntax=/im);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=docker\.io\/library\/node:22-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs22-debian12:nonroot@sha256:[0-9a-f]{64}$/m);
    const npmCi = dockerfile.split(/\n(?=\S)/).filter((step) => step.includes('npm ci'));
    expect(npmCi).toHaveLength(2);
    for (const step of npmCi) {
      expect(step).toContain('--mount=type=secret,id=npmrc,target=/root/.npmrc');
      expect(step).toContain('--mount=type=secret,id=npm-ca');
      expect(step).not.toContain('required');
    }
    expect(dockerfile).toMatch(/^COPY examples \.\/examples$/m);
  });
});

/**
 * There is no Docker engine here, so this runs what the image's last stage holds: package.json,
 * the production-only node_modules (`npm ci --omit=dev`, as the Dockerfile does) and dist/, in a
 * directory of its own, and checks that it starts and serves.
 */
describe('the pruned production tree (what the image runs)', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airy-image-'));
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(REPO_ROOT, f), join(dir, f));
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
    if (ci.status !== 0) throw new Error(`npm ci --omit=dev failed: ${ci.stderr}`);
    cpSync(join(REPO_ROOT, 'dist', 'cmd'), join(dir, 'dist', 'cmd'), { recursive: true });
    cpSync(join(REPO_ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
    writeFileSync(join(dir, 'airy.yaml'), securityYaml(PROTECTED));
    const port = await freePort();
    child = spawn(
      process.execPath,
      ['dist/cmd/airy-auth.js', 'serve', '--config', 'airy.yaml', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(await freePort())],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, NODE_ENV: 'production' } },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    url = `http://127.0.0.1:${port}`;
    await waitForChildHttp(child, `${url}/healthz`, () => output, 'airy-auth from the production tree');
  }, 180_000);
  afterAll(() => child?.kill('SIGTERM'));

  it('has no development dependency in node_modules', () => {
    for (const dev of ['vitest', 'typescript', 'oidc-provider', 'playwright-core', '@aws-cdk/lambda-layer-kubectl-v33'])
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    for (const prod of ['jose', 'openid-client', '@kubernetes/client-node', 'prom-client', 'undici'])
      expect(existsSync(join(dir, 'node_modules', prod)), prod).toBe(true);
  });

  it('starts and decides', async () => {
    expect((await request(`${url}/readyz`)).statusCode).toBe(200);
    const res = await request(`${url}/auth`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-auth-request-user']).toBe('system-token');
    expect((await request(`${url}/auth`)).statusCode).toBe(401);
  });
});
