import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { annotationBlocks, ensureHelm, renderNotes } from '../helpers/helm.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { annotationsFrom } from './nginx/ingress-nginx.js';

/**
 * The annotations that the chart's NOTES.txt prints, applied as they are to the ingress-nginx
 * shaped nginx, must protect an upstream: the docs and the behaviour are tested together.
 * Only the in-cluster Service address is swapped for the local airy-auth's.
 */
describeWithTools('the annotations NOTES.txt prints protect an upstream through nginx', { helm: ensureHelm() !== undefined, nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;

  beforeAll(async () => {
    const [pages, api] = annotationBlocks(renderNotes());
    expect(pages!['nginx.ingress.kubernetes.io/auth-signin']).toBe('https://$host/login');
    expect(api!['nginx.ingress.kubernetes.io/auth-signin']).toBeUndefined();
    upstream = await startEchoUpstream();
    airy = await startAiry(securityYaml(PROTECTED));
    const local = (block: Record<string, string>) =>
      annotationsFrom(Object.fromEntries(Object.entries(block).map(([k, v]) => [k, v.replace('http://airy-auth.airy.svc.cluster.local:8080', airy.url)])));
    nginx = await startNginx({
      paths: [
        { path: '/api/', upstream: `127.0.0.1:${upstream.port}`, annotations: local(api!) },
        { path: '/', upstream: `127.0.0.1:${upstream.port}`, annotations: local(pages!) },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await airy?.stop();
    await upstream?.close();
  });

  it('sends a browser without credentials to https://$host/login, and passes the identity with the token', async () => {
    const page = await request(`${nginx.url}/inbox`, { headers: { host: 'app.example.com' } });
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe('https://app.example.com/login?rd=http://app.example.com%2Finbox');
    await page.body.dump();
    const ok = await request(`${nginx.url}/inbox`, { headers: { host: 'app.example.com', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(((await ok.body.json()) as { headers: Record<string, string> }).headers['x-auth-request-user']).toBe('system-token');
  });

  it('answers the API variant with 401, not a redirect', async () => {
    const res = await request(`${nginx.url}/api/x`, { headers: { host: 'app.example.com' } });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});
