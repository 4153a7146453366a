import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { freePort, waitForChildHttp } from '../helpers/net.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED } from '../helpers/policies.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { FORGER_KEY, TEST_SIGNING_KEY } from '../helpers/signing-keys.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

const ISSUER = 'https://auth.example.com';
/** nginx listens on plain HTTP, so the original request (and the assertion's audience) is http://app.example.com. */
const APP = 'http://app.example.com';
const IDENTITY = 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups,X-Auth-Request-Jwt';

/**
 * The signed identity end to end: airy-auth (the built CLI) behind a real nginx shaped as
 * ingress-nginx renders `auth-url` + `auth-response-headers`, and as the upstream the docs'
 * example app (examples/verify-identity.mjs), which verifies X-Auth-Request-Jwt with jose against
 * airy-auth's /.well-known/jwks.json. A client's forged header never reaches it through nginx, and
 * sent to it directly (a request that bypassed the gateway) it is refused.
 */
describeWithTools('X-Auth-Request-Jwt verified by an upstream behind real nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let app: { child: ChildProcess; url: string; output: () => string };
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  const config = yaml.dump({ security: { ...PROTECTED, publicUrl: ISSUER, signedIdentity: true, signingKey: TEST_SIGNING_KEY.sec1 } });
  const key = compileAiryYaml(config).policy!.sessionKey!;
  const kid = compileAiryYaml(config).policy!.signedIdentity!.signer.kid;

  beforeAll(async () => {
    [airy, echo] = await Promise.all([startAiry(config), startEchoUpstream()]);
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [join(REPO_ROOT, 'examples', 'verify-identity.mjs')], {
      env: { ...process.env, AIRY_AUTH_JWKS: `${airy.url}/.well-known/jwks.json`, AIRY_AUTH_ISSUER: ISSUER, APP_ORIGIN: APP, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    app = { child, url: `http://127.0.0.1:${port}`, output: () => output };
    await waitForChildHttp(child, app.url, app.output, 'examples/verify-identity.mjs');
    const annotations = { 'auth-url': `${airy.url}/auth`, 'auth-response-headers': IDENTITY };
    nginx = await startNginx({
      paths: [
        { path: '/echo/', upstream: `127.0.0.1:${echo.port}`, annotations },
        { path: '/webhooks/', upstream: `127.0.0.1:${echo.port}`, annotations },
        { path: '/', upstream: `127.0.0.1:${port}`, annotations },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    app?.child.kill();
    await Promise.all([airy?.stop(), echo?.close()]);
  });

  async function viaNginx(path: string, headers: Record<string, string> = {}) {
    const res = await request(`${nginx.url}${path}`, { headers: { host: 'app.example.com', ...headers } });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }
  async function direct(assertion: string) {
    const res = await request(`${app.url}/x`, { headers: { 'x-auth-request-jwt': assertion, 'x-auth-request-user': 'admin' } });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }
  const forged = (claims: Record<string, unknown>, signWith = FORGER_KEY.privateKey) =>
    new SignJWT({ email: 'boss@example.com', groups: ['admins'], ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(ISSUER)
      .setAudience(APP)
      .setSubject('admin')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(signWith);

  it('the app verifies the systemToken and a session through nginx, and reads who it is from the assertion', async () => {
    const system = await viaNginx('/inbox', { authorization: `Bearer ${PROTECTED.systemToken}` });
    expect(system, app.output()).toMatchObject({ status: 200, body: { identity: { sub: 'system-token', groups: [] } } });
    const session = await mintSession(key, { sub: 'u-42', email: 'ann@example.com', groups: ['sre'] }, 600, Date.now());
    const ann = await viaNginx('/inbox', { cookie: `airy_auth_token=${session}` });
    expect(ann).toMatchObject({ status: 200, body: { identity: { sub: 'u-42', email: 'ann@example.com', groups: ['sre'] } } });
  });

  it("a client's forged X-Auth-Request-Jwt is overwritten by nginx: the upstream sees only airy-auth's", async () => {
    const forgery = await forged({});
    const r = await viaNginx('/inbox', { authorization: `Bearer ${PROTECTED.systemToken}`, 'x-auth-request-jwt': forgery });
    expect(r).toMatchObject({ status: 200, body: { identity: { sub: 'system-token' } } });
    const raw = await viaNginx('/echo/x', { authorization: `Bearer ${PROTECTED.systemToken}`, 'x-auth-request-jwt': forgery });
    const seen = (raw.body.headers as Record<string, string>)['x-auth-request-jwt'];
    expect(seen).toMatch(/^ey/);
    expect(seen).not.toBe(forgery);
  });

  it('on a public path (an allow without identity) a forged header is dropped: the upstream gets none', async () => {
    const r = await viaNginx('/webhooks/github', { 'x-auth-request-jwt': await forged({}) });
    expect(r.status).toBe(200);
    expect(r.body.headers).not.toHaveProperty('x-auth-request-jwt');
  });

  it('sent to the app directly, bypassing the gateway, a forgery is refused: another key, alg none, another audience, expired', async () => {
    const other = await request(`${airy.url}/auth`, {
      headers: { 'x-original-url': 'http://other.example.com/x', 'x-original-method': 'GET', authorization: `Bearer ${PROTECTED.systemToken}` },
    });
    await other.body.dump();
    const forOtherApp = String(other.headers['x-auth-request-jwt']);
    const genuine = await request(`${airy.url}/auth`, {
      headers: { 'x-original-url': `${APP}/x`, 'x-original-method': 'GET', authorization: `Bearer ${PROTECTED.systemToken}` },
    });
    await genuine.body.dump();
    // What makes the refusals below mean something: airy-auth's own assertion for this app passes.
    expect(await direct(String(genuine.headers['x-auth-request-jwt']))).toMatchObject({ status: 200, body: { identity: { sub: 'system-token' } } });

    expect(await direct(await forged({}))).toEqual({ status: 401, body: { error: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' } });
    const none = new UnsecuredJWT({ email: 'boss@example.com' }).setIssuer(ISSUER).setAudience(APP).setSubject('admin').setIssuedAt().setExpirationTime('1m');
    expect((await direct(none.encode())).status).toBe(401);
    expect(await direct(forOtherApp)).toEqual({ status: 401, body: { error: 'ERR_JWT_CLAIM_VALIDATION_FAILED' } });
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(ISSUER)
      .setAudience(APP)
      .setSubject('u-42')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(TEST_SIGNING_KEY.privateKey);
    expect(await direct(expired)).toEqual({ status: 401, body: { error: 'ERR_JWT_EXPIRED' } });
  });
});
