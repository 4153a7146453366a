import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/decision.js';
import type { Facts } from '../../src/core/facts.js';
import type { MaybePromise } from '../../src/core/maybe-async.js';
import { createShadow, type ShadowOptions } from '../../src/http/shadow.js';
import { memoryLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';

const FACTS: Facts = {
  method: 'GET',
  scheme: 'https',
  host: 'grafana.example.com',
  path: '/d/home',
  origin: undefined,
  authorization: 'Bearer secret-token-value-123',
  sessionCookies: ['cookie-value-456'],
  ruleQuery: 'policy=grafana',
};

const ALLOW: Decision = { status: 200, reason: 'session_cookie', user: 'ann', email: 'ann@example.com', groups: ['devs'], jti: 'j1', rule: 'grafana' };
const REFUSE: Decision = { status: 403, reason: 'group_not_allowed', user: 'ann', email: 'ann@example.com', missingGroups: ['admins'], rule: 'grafana' };

/** A shadow over a candidate that decides with `decideUnder`, a clock the test moves, and its metrics and log. */
function setUp(decideUnder: (facts: Facts, candidate: string) => MaybePromise<Decision>, more: Partial<ShadowOptions<string>> = {}) {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const logger = memoryLogger();
  const clock = { ms: 1_000_000 };
  const candidate: { current: string | undefined } = { current: 'candidate' };
  const shadow = createShadow<string>({ candidate, decideUnder, metrics, logger, now: () => clock.ms, ...more });
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const values = (m?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
    return values.filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((n, v) => n + v.value, 0);
  };
  const lines = () => logger.lines.filter((l) => l.msg === 'shadow disagrees');
  return { shadow, candidate, clock, value, lines, logger };
}

describe('shadow comparison', () => {
  it('counts a different status with the statuses and the route policy as labels, and logs both reasons with the request id', async () => {
    const { shadow, value, lines } = setUp(() => REFUSE);
    shadow.compare('req-1', FACTS, ALLOW);
    expect(await value('airy_auth_shadow_disagreements_total', { live: '200', shadow: '403', policy: 'grafana' })).toBe(1);
    expect(await value('airy_auth_shadow_comparisons_total')).toBe(1);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]!.fields).toMatchObject({
      requestId: 'req-1',
      host: 'grafana.example.com',
      path: '/d/home',
      policy: 'grafana',
      liveStatus: 200,
      liveReason: 'session_cookie',
      shadowStatus: 403,
      shadowReason: 'group_not_allowed',
      user: 'ann',
      email: 'ann@example.com',
      suppressed: 0,
    });
  });

  it('never writes the credential, cookie or query of the request', () => {
    const { shadow, logger } = setUp(() => REFUSE);
    shadow.compare('req-1', FACTS, ALLOW);
    const text = JSON.stringify(logger.lines);
    for (const secret of ['secret-token-value-123', 'cookie-value-456', 'policy=grafana']) expect(text).not.toContain(secret);
  });

  it('labels policy "none" without a route rule, and the shadow rule when only the shadow has one', async () => {
    const { shadow, value } = setUp((_f, _c) => ({ status: 401, reason: 'no_credentials' }));
    shadow.compare('a', FACTS, { status: 200, reason: 'auth_disabled' });
    expect(await value('airy_auth_shadow_disagreements_total', { live: '200', shadow: '401', policy: 'none' })).toBe(1);
    const other = setUp(() => REFUSE);
    other.shadow.compare('b', FACTS, { status: 403, reason: 'invalid_rule', ruleProblem: 'no policy grafana' });
    // Same status: not a disagreement, whatever the reasons.
    expect(await other.value('airy_auth_shadow_disagreements_total')).toBe(0);
    other.shadow.compare('c', FACTS, { status: 503, reason: 'no_config' });
    expect(await other.value('airy_auth_shadow_disagreements_total', { live: '503', shadow: '403', policy: 'grafana' })).toBe(1);
  });

  it('counts nothing when the statuses agree: two allows, or two refusals for different reasons', async () => {
    const { shadow, value, lines } = setUp((_f, _c) => ({ status: 403, reason: 'email_not_allowed', rule: 'grafana' }));
    shadow.compare('a', FACTS, REFUSE);
    const allows = setUp(() => ({ ...ALLOW, reason: 'public_path' }));
    allows.shadow.compare('b', FACTS, ALLOW);
    expect(await value('airy_auth_shadow_disagreements_total')).toBe(0);
    expect(await allows.value('airy_auth_shadow_disagreements_total')).toBe(0);
    expect(await value('airy_auth_shadow_comparisons_total')).toBe(1);
    expect(lines()).toEqual([]);
    expect(allows.lines()).toEqual([]);
  });

  it('rate-limits the log to linesPerSecond and says on the next line how many it left out; the counter has them all', async () => {
    const { shadow, clock, value, lines } = setUp(() => REFUSE, { linesPerSecond: 3 });
    for (let i = 0; i < 10; i++) shadow.compare(`r${i}`, FACTS, ALLOW);
    expect(lines().map((l) => l.fields.requestId)).toEqual(['r0', 'r1', 'r2']);
    clock.ms += 999;
    shadow.compare('r10', FACTS, ALLOW);
    expect(lines()).toHaveLength(3);
    clock.ms += 1;
    shadow.compare('r11', FACTS, ALLOW);
    expect(lines()).toHaveLength(4);
    expect(lines()[3]!.fields).toMatchObject({ requestId: 'r11', suppressed: 8 });
    expect(await value('airy_auth_shadow_disagreements_total')).toBe(12);
  });

  it('samples one disagreement in sampleEvery, before the rate limit', async () => {
    const { shadow, value, lines } = setUp(() => REFUSE, { sampleEvery: 4, linesPerSecond: 100 });
    for (let i = 1; i <= 12; i++) shadow.compare(`r${i}`, FACTS, ALLOW);
    expect(lines().map((l) => [l.fields.requestId, l.fields.suppressed])).toEqual([
      ['r4', 3],
      ['r8', 3],
      ['r12', 3],
    ]);
    expect(await value('airy_auth_shadow_disagreements_total')).toBe(12);
  });

  it('counts a shadow decision that throws or rejects and ignores it; compare itself never throws', async () => {
    const throwing = setUp(() => {
      throw new Error('boom');
    });
    expect(() => throwing.shadow.compare('a', FACTS, ALLOW)).not.toThrow();
    expect(await throwing.value('airy_auth_shadow_errors_total')).toBe(1);

    let reject!: (e: Error) => void;
    const rejecting = setUp(() => new Promise<Decision>((_r, j) => (reject = j)));
    rejecting.shadow.compare('b', FACTS, ALLOW);
    reject(new Error('verify failed'));
    await new Promise((r) => setImmediate(r));
    expect(await rejecting.value('airy_auth_shadow_errors_total')).toBe(1);
    expect(await rejecting.value('airy_auth_shadow_disagreements_total')).toBe(0);
    expect(rejecting.lines()).toEqual([]);
  });

  it('compares an asynchronous shadow decision once it settles', async () => {
    let resolve!: (d: Decision) => void;
    const { shadow, value, lines } = setUp(() => new Promise<Decision>((r) => (resolve = r)));
    shadow.compare('late', FACTS, ALLOW);
    expect(await value('airy_auth_shadow_disagreements_total')).toBe(0);
    resolve(REFUSE);
    await new Promise((r) => setImmediate(r));
    expect(await value('airy_auth_shadow_disagreements_total', { live: '200', shadow: '403', policy: 'grafana' })).toBe(1);
    expect(lines()[0]!.fields.requestId).toBe('late');
  });

  it('does no work while no shadow config is loaded', async () => {
    let calls = 0;
    const { shadow, candidate, value } = setUp(() => {
      calls++;
      return REFUSE;
    });
    candidate.current = undefined;
    shadow.compare('a', FACTS, ALLOW);
    expect(calls).toBe(0);
    expect(await value('airy_auth_shadow_comparisons_total')).toBe(0);
    candidate.current = 'loaded';
    shadow.compare('b', FACTS, ALLOW);
    expect(calls).toBe(1);
  });
});
