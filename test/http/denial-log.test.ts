import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { mintSession } from '../../src/session/mint.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  policies:
    grafana: { allowedGroups: "acme:sre" }
    admin: { allowedEmailPatterns: "boss@example.com" }
`;

let server: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  server = await startInProcess(compileAiryYaml(CONFIG), () => allRoutes());
});
afterAll(() => server?.close());

async function refusedLine(path: string, claims: { sub: string; email?: string; groups?: string[] }) {
  const key = server.store.current!.sessionKey!;
  const token = await mintSession(key, claims, 3600, Date.now());
  const before = server.logger.lines.length;
  const res = await request(`${server.url}${path}`, {
    headers: { host: 'airy-auth', 'x-original-url': 'https://app.example.com/dashboards', authorization: `Bearer ${token}` },
  });
  await res.body.dump();
  expect(res.statusCode).toBe(403);
  const line = server.logger.lines.slice(before).find((l) => l.msg === 'request');
  expect(line, 'a request line for the refusal').toBeDefined();
  return { fields: line!.fields, token };
}

it('a 403 for a missing group says who was refused and under which policy', async () => {
  const { fields, token } = await refusedLine('/auth?policy=grafana', { sub: 'ann', email: 'ann@example.com', groups: ['support'] });
  expect(fields).toMatchObject({ status: 403, reason: 'group_not_allowed', user: 'ann', email: 'ann@example.com', policy: 'grafana' });
  expect(JSON.stringify(fields)).not.toContain(token);
});

it('a 403 for an email the policy does not list names the user and the policy', async () => {
  const { fields } = await refusedLine('/auth?policy=admin', { sub: 'bob', email: 'bob@example.com' });
  expect(fields).toMatchObject({ status: 403, reason: 'email_not_allowed', user: 'bob', policy: 'admin' });
});

it('a 403 from the global rules names the user; no route policy applied, so none is claimed', async () => {
  const { fields } = await refusedLine('/auth', { sub: 'eve', email: 'eve@elsewhere.org' });
  expect(fields).toMatchObject({ status: 403, reason: 'email_not_allowed', user: 'eve', email: 'eve@elsewhere.org' });
  expect(fields.policy).toBeUndefined();
});

it('oauth2-proxy query rules are labelled "query", never with the raw query text', async () => {
  const { fields } = await refusedLine('/auth?allowed_groups=acme:sre', { sub: 'ann', email: 'ann@example.com', groups: [] });
  expect(fields).toMatchObject({ status: 403, reason: 'group_not_allowed', user: 'ann', policy: 'query' });
});
