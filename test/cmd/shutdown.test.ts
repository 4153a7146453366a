import { Agent, request as httpRequest } from 'node:http';
import { request } from 'undici';
import { expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait.js';

it('on SIGTERM keeps answering but reports not ready for the shutdown delay, then drains and exits 0', async () => {
  const airy = await startAiry(securityYaml(PROTECTED), ['--shutdown-delay-seconds', '1', '--drain-seconds', '5']);
  expect((await request(`${airy.url}/readyz`)).statusCode).toBe(200);
  const exited = new Promise<number | null>((resolve) => airy.child.once('exit', (code) => resolve(code)));
  airy.child.kill('SIGTERM');
  await waitFor(async () => (await request(`${airy.url}/readyz`)).statusCode === 503, '/readyz to report not ready');
  // Kubernetes is still sending traffic while it removes the endpoint: it must be served.
  const during = await request(`${airy.url}/auth`, { headers: { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
  expect(during.statusCode).toBe(200);
  await during.body.dump();
  expect(await exited).toBe(0);
  expect(airy.logs()).toContain('"msg":"stopped"');
});

interface LoadResult {
  sent: number;
  answered: number;
  resets: string[];
}

/**
 * `clients` keep-alive connections, each sending its next request as soon as the last is
 * answered, as a gateway's upstream pool does. A connection whose answer says
 * `Connection: close` is done, as a gateway would stop using it.
 */
function keepAliveLoad(airy: AiryProcess, clients: number): { result: LoadResult; done: Promise<void> } {
  const result: LoadResult = { sent: 0, answered: 0, resets: [] };
  const one = (agent: Agent) =>
    new Promise<'again' | 'stop'>((resolve) => {
      result.sent++;
      const req = httpRequest(
        { agent, host: '127.0.0.1', port: airy.port, path: '/auth', headers: { host: 'app.example.com', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } },
        (res) => {
          res.resume();
          res.on('end', () => {
            result.answered++;
            resolve(res.headers.connection === 'close' ? 'stop' : 'again');
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Refused: the request was never sent (the server had stopped listening). Anything else
        // (a reset, a hang-up) is a request the client had sent and lost.
        if (err.code !== 'ECONNREFUSED') result.resets.push(err.code ?? err.message);
        resolve('stop');
      });
      req.end();
    });
  const done = Promise.all(
    Array.from({ length: clients }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while ((await one(agent)) === 'again');
      agent.destroy();
    }),
  ).then(() => undefined);
  return { result, done };
}

it('a rolling update fails no request: SIGTERM under keep-alive load at 32 connections resets none, 5 runs out of 5', async () => {
  const runs: LoadResult[] = [];
  for (let run = 0; run < 5; run++) {
    const airy = await startAiry(securityYaml(PROTECTED), ['--drain-seconds', '10']);
    const exited = new Promise<number | null>((resolve) => airy.child.once('exit', (code) => resolve(code)));
    const load = keepAliveLoad(airy, 32);
    await waitFor(() => load.result.answered >= 2000, 'the load to be under way');
    airy.child.kill('SIGTERM');
    await load.done;
    expect(await exited, airy.logs()).toBe(0);
    runs.push(load.result);
  }
  console.log(`SIGTERM under load: ${runs.map((r) => `${r.answered}/${r.sent} answered, ${r.resets.length} resets`).join('; ')}`);
  for (const r of runs) expect(r.resets).toEqual([]);
}, 180_000);
