import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

/**
 * Red team, trust model: docs/gateways.md and docs/rules.md now tell users of Traefik's
 * ingress-nginx provider to write `nginx.ingress.kubernetes.io/auth-url: .../forward-auth` on
 * their Ingresses. That provider exists to serve the very Ingress objects ingress-nginx serves, and
 * during a migration both controllers serve them. Under real ingress-nginx that annotation is a
 * full bypass: ingress-nginx sets X-Original-URL and passes every client header, so the client's
 * X-Forwarded-Host/-Uri describe the request on /forward-auth (`proxy_set_header X-Forwarded-Proto
 * ""` even removes the proto, which then defaults to http). The mirror of the /auth refusal is
 * missing: /forward-auth must refuse a call whose X-Original-URL names another request than its
 * X-Forwarded-*, as /auth does the other way round.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicPaths: "/webhooks/**"
`;

describeWithTools('red team: an Ingress whose auth-url names /forward-auth, served by ingress-nginx', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  beforeAll(async () => {
    upstream = await startEchoUpstream();
    airy = await startAiry(CONFIG);
    const identity = 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups';
    nginx = await startNginx({
      paths: [
        { path: '/', upstream: `127.0.0.1:${upstream.port}`, annotations: { 'auth-url': `${airy.url}/forward-auth`, 'auth-response-headers': identity } },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  const send = (target: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { host, port } = new URL(nginx.url);
      const socket = connect(Number(port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('close', () => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
        if (!m) return reject(new Error(`no status line: ${JSON.stringify(data.slice(0, 200))}`));
        resolve({ status: Number(m[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
      socket.on('error', reject);
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n${extra.join('')}Connection: close\r\n\r\n`);
    });

  it('control: without forged headers the call is refused (no X-Forwarded-Host/-Uri from nginx)', async () => {
    expect((await send('/admin', {})).status).not.toBe(200);
  });

  it('a client X-Forwarded-Host/-Uri never make /admin public through ingress-nginx', async () => {
    const seen = await send('/admin', { 'X-Forwarded-Host': 'app.example.com', 'X-Forwarded-Uri': '/webhooks/x' });
    // Before the fix: 200, and the upstream echoes "url":"/admin" with no identity.
    expect(`${seen.status} ${seen.body.slice(0, 40)}`).not.toMatch(/^200/);
  });
});
