import { writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** Sessions that end when they should, without rotating jwtSecret: hot-reloaded, applied on the next request. */
describeWithTools('session revocation through real nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const tokens: Record<string, string> = {};
  const key = compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!;

  beforeAll(async () => {
    const now = Date.now();
    tokens.old = await mintSession(key, { sub: 'old', email: 'old@example.com' }, 86400, now - 7_200_000);
    tokens.ann = await mintSession(key, { sub: 'ann', email: 'ann@example.com' }, 86400, now);
    tokens.bob = await mintSession(key, { sub: 'bob', email: 'Bob@Example.com' }, 86400, now);
    tokens.noIat = await new SignJWT({ email: 'x@example.com' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(key);
    upstream = await startEchoUpstream();
    airy = await startAiry(securityYaml(PROTECTED));
    nginx = await startNginx({ paths: [{ path: '/', upstream: `127.0.0.1:${upstream.port}`, annotations: { 'auth-url': `${airy.url}/auth` } }] });
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  const status = async (who: string) => {
    const res = await request(`${nginx.url}/x`, { headers: { host: 'app.example.com', authorization: `Bearer ${tokens[who]}` } });
    await res.body.dump();
    return res.statusCode;
  };
  const reload = async (extra: Record<string, string>, check: () => Promise<boolean>) => {
    writeFileSync(airy.configPath, securityYaml({ ...PROTECTED, ...extra }));
    await waitFor(check, `the reload with ${JSON.stringify(extra)}`);
  };

  it('refuses sessions issued before sessionsNotBefore (and those without iat), keeps the newer ones', async () => {
    for (const who of ['old', 'ann', 'bob', 'noIat']) expect(await status(who), who).toBe(200);
    const cut = new Date(Date.now() - 3_600_000).toISOString();
    await reload({ sessionsNotBefore: cut }, async () => (await status('old')) === 401);
    expect(await status('noIat')).toBe(401);
    expect(await status('ann')).toBe(200);
  });

  it('refuses revoked subjects and emails (case-insensitive) on the next request, and lets them back when removed', async () => {
    await reload({ revokedSubjects: 'ann', revokedEmails: 'bob@example.com' }, async () => (await status('ann')) === 401);
    expect(await status('bob')).toBe(401);
    expect(await status('old')).toBe(200); // sessionsNotBefore is gone from this config
    const metrics = await (await request(airy.metricsUrl)).body.text();
    expect(metrics).toMatch(/airy_auth_decisions_total\{status="401",reason="session_revoked"\} [1-9]/);
    await reload({}, async () => (await status('ann')) === 200);
    expect(await status('bob')).toBe(200);
  });

  it('rejects a sessionsNotBefore that is not a time, keeping the last good config', async () => {
    const before = await status('ann');
    writeFileSync(airy.configPath, securityYaml({ ...PROTECTED, sessionsNotBefore: 'yesterday' }));
    await waitFor(() => airy.logs().includes('\\"yesterday\\" is not a time'), 'the refusal');
    expect(await status('ann')).toBe(before);
  });
});
