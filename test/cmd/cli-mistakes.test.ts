import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearestFlag } from '../../cmd/args.js';
import { CLI } from '../helpers/airy-process.js';
import { REPO_ROOT } from '../helpers/repo.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const INGRESSES = join(REPO_ROOT, 'test/migrate/fixtures/ingresses.yaml');

describe('a mistyped flag names the nearest one', () => {
  it.each([
    [['token', '--secret-fil', 's.yaml'], '--secret-file'],
    [['serve', '--confg', 'airy.yaml'], '--config'],
    [['serve', '--metric-port', '9090'], '--metrics-port'],
    [['check', 'airy.yaml', '--strcit'], '--strict'],
    [['configmap', 'airy.yaml', '--namespce', 'x'], '--namespace'],
    [['migrate', INGRESSES, '--to', 'traefik', '--allow-partal'], '--allow-partial'],
    [['token', '--group', 'a'], '--groups'],
  ])('%j suggests %s, exits 2 and prints the usage', (args, flag) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`; did you mean ${flag}?`);
    expect(r.stderr).toContain(`usage: airy-auth ${args[0]}`);
    expect(r.stdout).toBe('');
  });

  it('a mistyped command names the nearest one too', () => {
    const r = run('chek', 'airy.yaml');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "chek"; did you mean check?');
    expect(run('frobnicate').stderr).not.toContain('did you mean');
  });

  it('suggests nothing when no flag is close', () => {
    const r = run('serve', '--xyzzy');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--xyzzy'");
    expect(r.stderr).not.toContain('did you mean');
  });

  it('picks by edits, swaps and prefixes, and stays quiet for distant words', () => {
    const flags = ['config', 'configmap', 'secret', 'port', 'metrics-port', 'log-level', 'help'];
    expect(nearestFlag('cofnig', flags)).toBe('config');
    expect(nearestFlag('secrte', flags)).toBe('secret');
    expect(nearestFlag('metrics', flags)).toBe('metrics-port');
    expect(nearestFlag('hepl', flags)).toBe('help');
    expect(nearestFlag('prot', flags)).toBe('port');
    expect(nearestFlag('x', flags)).toBeUndefined();
    expect(nearestFlag('verbose', flags)).toBeUndefined();
    expect(nearestFlag('', flags)).toBeUndefined();
  });
});

describe('migrate --gateway belongs to Gateway API', () => {
  it.each([
    [['--gateway', 'public'], '--gateway applies only to --to gateway-api'],
    [['--gateway=public'], '--gateway applies only to --to gateway-api'],
    [['--gateway-namespace', 'gw'], '--gateway-namespace applies only to --to gateway-api'],
    [['--gateway', 'public', '--gateway-namespace', 'gw'], '--gateway and --gateway-namespace apply only to --to gateway-api'],
  ])('with --to traefik, %j is an error (exit 2), not silently ignored', (flags, message) => {
    const r = run('migrate', INGRESSES, '--to', 'traefik', '--allow-partial', ...flags);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('with --to gateway-api the same flags are used', () => {
    const r = run('migrate', INGRESSES, '--to', 'gateway-api', '--gateway', 'public', '--gateway-namespace', 'gw', '--allow-partial');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('name: public');
    expect(r.stdout).toContain('namespace: gw');
  });
});

it('a reader that stops early (| head) ends the command quietly, without a stack trace', () => {
  const example = join(REPO_ROOT, 'examples', 'airy.yaml');
  // check prints two lines; head takes one and closes the pipe before the second is written.
  const r = spawnSync('bash', ['-c', `for i in 1 2 3 4 5; do node ${CLI} check ${example} | head -c 10 >/dev/null; done`], { encoding: 'utf8' });
  expect(r.stderr).not.toContain('EPIPE');
  expect(r.stderr).toBe('');
});
