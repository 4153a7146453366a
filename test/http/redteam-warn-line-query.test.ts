import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { allRoutes } from '../../src/http/routes.js';
import { startInProcess } from '../helpers/in-process.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

/**
 * Red team, "no query in any log line": Caddy's `forward_auth { uri /forward-auth }` (the shape
 * docs/gateways.md shows) sends the client's own query on the auth call. A query of the app that
 * holds a rule key (`?policy=`, `?allowed_emails=`) is then read as a rule, refused, and the warning
 * quotes up to 64 characters of the app's query values: a reset token, an invitation code or an
 * address lands in the log. The warning may name the key; it must never quote the value.
 */
const CONFIG = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
`;

let srv: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  srv = await startInProcess(compileAiryYaml(CONFIG), () => allRoutes());
});
afterAll(() => srv?.close());

it('a query value the client chose never reaches a log line (Caddy forward_auth without a rule)', async () => {
  const secret = 'rst_9f2c1e7a4b6d8f0a2c4e6b8d0f1a3c5e';
  for (const query of [`policy=${secret}`, `allowed_emails=${secret}`, `allowed_email_domains=${secret}.x!`]) {
    // Caddy 2.6 with `uri /forward-auth`: the auth call's query is the client's (checked with Debian caddy).
    const res = await request(`${srv.url}/forward-auth?${query}`, {
      headers: {
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.example.com',
        'x-forwarded-uri': `/account/reset?${query}`,
        accept: 'application/json',
      },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(403);
  }
  const logged = srv.logger.lines.map((l) => JSON.stringify(l)).filter((l) => l.includes(secret.slice(0, 20)));
  expect(logged).toEqual([]);
});
