import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, SignJWT } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

/** A machine (a CI job) calls an API behind ingress-nginx with the token its IdP issued it. */
describeWithTools('machine tokens through real nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let jwks: Server;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = 'https://ci.example.com';

  beforeAll(async () => {
    const jwk = { ...(await exportJWK(publicKey)), kid: 'ci-1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUri = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
    upstream = await startEchoUpstream();
    airy = await startAiry(
      `${securityYaml(PROTECTED)}  extraJwtIssuers: "${issuer}=deploy-api=${jwksUri}"\n  policies:\n    deploy: {allowedGroups: "deployers"}\n`,
    );
    nginx = await startNginx({
      paths: [
        {
          path: '/',
          upstream: `127.0.0.1:${upstream.port}`,
          annotations: { 'auth-url': `${airy.url}/auth?policy=deploy`, 'auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Groups' },
        },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
    jwks?.close();
  });

  const token = (claims: Record<string, unknown>) =>
    new SignJWT({ iss: issuer, aud: 'deploy-api', sub: 'ci-job', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'ci-1' })
      .setExpirationTime('5m')
      .sign(privateKey);
  const call = async (jwt: string) => {
    const res = await request(`${nginx.url}/deploy`, { headers: { host: 'api.example.com', authorization: `Bearer ${jwt}` } });
    const text = await res.body.text();
    return { status: res.statusCode, echo: res.statusCode === 200 ? (JSON.parse(text) as { headers: Record<string, string> }) : undefined };
  };

  it('lets a machine in with its IdP token, under the same per-app rules as people', async () => {
    const allowed = await call(await token({ groups: ['deployers'] }));
    expect(allowed.status).toBe(200);
    expect(allowed.echo!.headers['x-auth-request-user']).toBe('ci-job');
    expect(allowed.echo!.headers['x-auth-request-groups']).toBe('deployers');
    expect((await call(await token({ groups: ['readers'] }))).status).toBe(403);
    expect((await call(await token({ groups: ['deployers'], aud: 'other-api' }))).status).toBe(401);
    const metrics = await (await request(airy.metricsUrl)).body.text();
    expect(metrics).toMatch(/airy_auth_decisions_total\{status="200",reason="machine_token"\} [1-9]/);
  });
});
