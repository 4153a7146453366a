import { request } from 'undici';
import { expect, it } from 'vitest';
import { startAiry } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

it('on SIGTERM keeps answering but reports not ready for the shutdown delay, then drains and exits 0', async () => {
  const airy = await startAiry(securityYaml(PROTECTED), ['--shutdown-delay-seconds', '1', '--drain-seconds', '5']);
  expect((await request(`${airy.url}/readyz`)).statusCode).toBe(200);
  const exited = new Promise<number | null>((resolve) => airy.child.once('exit', (code) => resolve(code)));
  airy.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  // Kubernetes is still sending traffic while it removes the endpoint: it must be served.
  expect((await request(`${airy.url}/readyz`)).statusCode).toBe(503);
  const during = await request(`${airy.url}/auth`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
  expect(during.statusCode).toBe(200);
  await during.body.dump();
  expect(await exited).toBe(0);
  expect(airy.logs()).toContain('"msg":"stopped"');
});
