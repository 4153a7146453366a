import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';

/**
 * Red team, "a config that silently opens a route": NGINX Gateway Fabric's ExternalAuth (the shape
 * of test/e2e/nginx/ingress-nginx.ts, which proxies to the configured URL as written) pointed at
 * `/gateway-api?allowed_groups=admins` or `/gateway-api?policy=admin`. /auth and /forward-auth apply
 * or refuse such a query ("a rule on the auth URL applies on every call"); /gateway-api ignores it,
 * so every signed-in user passes, with no warning. It must apply the rule or refuse the call.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  policies:
    admin: { allowedGroups: "admins" }
`;

describeWithTools('red team: NGINX Gateway Fabric with a rule query on /gateway-api', { nginx: nginxInstalled }, () => {
  let airy: AiryProcess;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const gateways: Record<string, RunningNginx> = {};
  let ann = '';
  beforeAll(async () => {
    upstream = await startEchoUpstream();
    airy = await startAiry(CONFIG);
    ann = await mintSession(compileAiryYaml(CONFIG).policy!.sessionKey!, { sub: 'ann-id', email: 'ann@example.com', groups: ['staff'] }, 600, Date.now());
    for (const query of ['', '?allowed_groups=admins', '?policy=admin']) {
      gateways[query] = await startNginx({
        paths: [
          {
            path: '/',
            upstream: `127.0.0.1:${upstream.port}`,
            ngf: {
              authUrl: `${airy.url}/gateway-api${query}`,
              allowedHeaders: ['Cookie', 'Origin'],
              allowedResponseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups'],
            },
          },
        ],
      });
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(Object.values(gateways).map((g) => g.stop()));
    await airy?.stop();
    await upstream?.close();
  });

  const status = async (query: string) => {
    const res = await request(`${gateways[query]!.url}/admin`, { headers: { authorization: `Bearer ${ann}`, accept: 'application/json' } });
    await res.body.dump();
    return res.statusCode;
  };

  it('control: without a rule, a signed-in user is allowed', async () => {
    expect(await status('')).toBe(200);
  });

  for (const query of ['?allowed_groups=admins', '?policy=admin']) {
    it(`/gateway-api${query} refuses a user outside admins`, async () => {
      expect(await status(query)).not.toBe(200);
    });
  }
});
