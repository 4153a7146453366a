import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainCommand } from '../../cmd/explain.js';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { CORE_TABLE_CONFIG } from '../helpers/decision-tables.js';
import { startInProcess } from '../helpers/in-process.js';

async function explain(configFile: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code: number;
  try {
    code = await explainCommand(
      [configFile, ...args],
      (s) => {
        out += s;
      },
      (s) => {
        err += s;
      },
    );
  } catch (e) {
    code = 2;
    err += (e as Error).message;
  }
  return { code, out, err };
}

/**
 * A call the server cannot read (malformed) or refuses as forged never reaches the decision; explain
 * must still say what the server answers: /forward-auth answers a malformed call with 400, and any
 * adapter answers a call whose headers name two requests with 403 forwarded_mismatch.
 */
describe('explain answers an unreadable call as the server does', () => {
  let server: Awaited<ReturnType<typeof startInProcess>>;
  let configFile: string;
  beforeAll(async () => {
    server = await startInProcess(compileAiryYaml(CORE_TABLE_CONFIG), () => allRoutes());
    configFile = join(mkdtempSync(join(tmpdir(), 'airy-rt3-explain-')), 'airy.yaml');
    writeFileSync(configFile, CORE_TABLE_CONFIG);
  });
  afterAll(async () => server?.close());

  async function served(path: string, headers: Record<string, string | string[]>): Promise<{ status: number; reason: unknown }> {
    const before = server.logger.lines.length;
    const res = await request(`${server.url}${path}`, { headers });
    await res.body.dump();
    const logged = server.logger.lines.slice(before).find((l) => l.fields.reason !== undefined);
    return { status: res.statusCode, reason: logged?.fields.reason };
  }

  it('a repeated X-Forwarded-Host on /forward-auth: 400 bad_request from both', async () => {
    const live = await served('/forward-auth', {
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': ['app.example.com', 'other.example.com'],
      'x-forwarded-uri': '/',
    });
    expect(live).toEqual({ status: 400, reason: 'bad_request' });
    const ex = await explain(configFile, [
      '--url',
      'https://app.example.com/',
      '--auth-url',
      'http://airy-auth/forward-auth',
      '--header',
      'X-Forwarded-Host: other.example.com',
      '--json',
    ]);
    expect(ex.err).toBe('');
    expect(JSON.parse(ex.out)).toMatchObject({ status: live.status, reason: live.reason });
    expect(ex.code).toBe(1);
  });

  it('an X-Original-URL naming another request on /forward-auth: 403 forwarded_mismatch from both', async () => {
    const live = await served('/forward-auth', {
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      'x-forwarded-uri': '/',
      'x-original-url': 'https://admin.example.com/',
    });
    expect(live).toEqual({ status: 403, reason: 'forwarded_mismatch' });
    const ex = await explain(configFile, [
      '--url',
      'https://app.example.com/',
      '--auth-url',
      'http://airy-auth/forward-auth',
      '--header',
      'X-Original-URL: https://admin.example.com/',
    ]);
    expect(ex.out).toMatch(/^403 forwarded_mismatch: /);
    expect(ex.code).toBe(1);
  });

  it('a path with encoded dots is judged as sent, not as the URL parser resolves it', async () => {
    // WHATWG URL turns `%2e%2e` into `..`: `/admin/%2e%2e/webhooks/x` would become the public `/webhooks/x`.
    const path = '/admin/%2e%2e/webhooks/x';
    const live = await served('/auth', { 'x-original-url': `https://app.example.com${path}`, 'x-original-method': 'GET' });
    expect(live).toEqual({ status: 401, reason: 'no_credentials' });
    const ex = await explain(configFile, ['--url', `https://app.example.com${path}`, '--json']);
    expect(JSON.parse(ex.out)).toMatchObject({ status: 401, reason: 'no_credentials' });
    const fa = await explain(configFile, ['--url', `https://app.example.com${path}`, '--auth-url', 'http://airy-auth/forward-auth', '--json']);
    expect(JSON.parse(fa.out)).toMatchObject({ status: 401, reason: 'no_credentials' });
  });

  it('a usage mistake in --header never echoes the value it was given', async () => {
    const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl';
    const ex = await explain(configFile, ['--url', 'https://app.example.com/', '--header', `Authorization=Bearer ${secret}`]);
    expect(ex.code).toBe(2);
    expect(`${ex.out}${ex.err}`).not.toContain(secret.slice(0, 12));
  });
});
