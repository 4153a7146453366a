import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml } from '../helpers/policies.js';

const CHART_MEMORY_LIMIT = 192 * 1024 * 1024;

let airy: AiryProcess;
beforeAll(async () => {
  airy = await startAiry(securityYaml(PROTECTED));
});
afterAll(async () => {
  await airy?.stop();
});

async function rss(): Promise<number> {
  const text = await (await request(airy.metricsUrl)).body.text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]);
}

it("keeps RSS under the chart's 192 Mi limit after 25,000 distinct valid 6 KB tokens (the memo is bounded by size)", async () => {
  const key = compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!;
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const agent = new Agent({ connections: 8 });
  const filler = randomBytes(3200).toString('base64url'); // ~5.9 KB per token once encoded
  let allowed = 0;
  for (let batch = 0; batch < 25; batch++) {
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        new SignJWT({ pad: `${batch}.${i}.${filler}` }).setProtectedHeader({ alg: 'HS256' }).setSubject(`u${batch}.${i}`).setExpirationTime(exp).sign(key),
      ),
    );
    const statuses = await Promise.all(
      tokens.map(async (t) => {
        const res = await request(`${airy.url}/auth`, { dispatcher: agent, headers: { host: 'app.example.com', authorization: `Bearer ${t}` } });
        await res.body.dump();
        return res.statusCode;
      }),
    );
    allowed += statuses.filter((s) => s === 200).length;
  }
  await agent.close();
  expect(allowed).toBe(25_000);
  const after = await rss();
  expect(after, `RSS ${(after / 1048576).toFixed(1)} MiB`).toBeLessThan(CHART_MEMORY_LIMIT);
  console.log(`memo test: RSS after 25,000 distinct 6 KB tokens: ${(after / 1048576).toFixed(1)} MiB`);
}, 300_000);
