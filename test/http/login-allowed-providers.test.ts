import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

/**
 * `allowedProviders` leaves out a configured provider: a login through it would end in a session
 * every route refuses, so the chooser does not offer it and no login through it starts.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  allowedProviders: "corp,partner"
  providers:
    corp:
      issuerUri: "https://login.example.com"
      clientId: "airy"
      clientSecret: "corp-secret-0123"
    partner:
      issuerUri: "https://id.partner.example"
      clientId: "airy"
      clientSecret: "partner-secret-0123"
    github:
      clientId: "gh-client"
      clientSecret: "gh-secret-0123"
`;

let srv: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  srv = await startInProcess(compileAiryYaml(CONFIG), () => allRoutes());
});
afterAll(async () => srv?.close());

const get = async (path: string) => {
  const res = await request(`${srv.url}${path}`, { headers: { host: 'app.example.com' } });
  return { status: res.statusCode, location: res.headers.location, html: await res.body.text() };
};

it('check warns that no one can sign in with the provider left out', () => {
  const warnings = compileAiryYaml(CONFIG).issues.filter((i) => i.severity === 'warning');
  expect(warnings).toEqual([expect.objectContaining({ path: 'security.allowedProviders', problem: 'leaves out github: no one can sign in with it' })]);
});

it('the chooser offers only the providers allowedProviders admits', async () => {
  const { status, html } = await get('/login?rd=/');
  expect(status).toBe(200);
  const offered = [...html.matchAll(/<a href="\/oauth2\/authorization\/([^"?]+)\?/g)].map((m) => m[1]);
  expect(offered).toEqual(['corp', 'partner']);
});

it('a login through the provider left out does not start: 404 listing the ones that may', async () => {
  for (const path of ['/login?provider=github&rd=/', '/oauth2/authorization/github?rd=/', '/login/oauth2/code/github?code=x&state=y']) {
    const { status, html, location } = await get(path);
    expect(status, path).toBe(404);
    expect(location, path).toBeUndefined();
    expect(html, path).toContain('corp');
    expect(html, path).not.toContain('github');
  }
  // The ones admitted still start.
  const corp = await get('/login?provider=corp&rd=/');
  expect(corp.status).toBe(302);
  expect(corp.location).toContain('/oauth2/authorization/corp');
});
