import { execFileSync, spawnSync } from 'node:child_process';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { PROTECTED, securityYaml, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools, hasProgram } from '../helpers/tools.js';

describeWithTools('the metrics endpoint passes promtool', { promtool: hasProgram('promtool', ['--version']) }, () => {
  let airy: AiryProcess;
  beforeAll(async () => {
    airy = await startAiry(securityYaml(PROTECTED));
    for (const headers of [{}, { authorization: TEST_SYSTEM_TOKEN }, { authorization: 'Bearer nope' }]) {
      await (await request(`${airy.url}/auth`, { headers })).body.dump();
    }
  });
  afterAll(() => airy?.stop());

  it('serves every required metric on the metrics port only, in a format promtool accepts', async () => {
    const text = await (await request(airy.metricsUrl)).body.text();
    for (const name of [
      'airy_auth_decisions_total',
      'airy_auth_decision_duration_seconds_bucket',
      'airy_auth_enabled',
      'airy_auth_config_generation',
      'airy_auth_config_reloads_total',
      'process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/^airy_auth_enabled 1$/m);
    expect(text).toMatch(/^airy_auth_config_generation 1$/m);
    expect(text).not.toContain(TEST_SYSTEM_TOKEN);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
    expect((await request(`${airy.url}/metrics`)).statusCode).toBe(404);
  });

  it('promtool itself is real (it rejects a broken exposition)', () => {
    expect(() => execFileSync('promtool', ['check', 'metrics'], { input: 'bad metric line{\n', stdio: 'pipe' })).toThrow();
  });
});
