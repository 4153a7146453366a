import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';

/** The value of one exposition line, e.g. `airy_auth_decisions_total{status="200",reason="system_token"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the metrics the decision path writes (counted cheaply, exported at scrape)', () => {
  it('exports decision counts once each: a second scrape adds nothing that was not counted again', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    for (let i = 0; i < 3; i++) metrics.countDecision(200, 'system_token');
    metrics.countDecision(401, 'no_credentials');
    metrics.countRuleDecision('grafana', 403);
    const first = await registry.metrics();
    expect(sample(first, 'airy_auth_decisions_total{status="200",reason="system_token"}')).toBe(3);
    expect(sample(first, 'airy_auth_decisions_total{status="401",reason="no_credentials"}')).toBe(1);
    expect(sample(first, 'airy_auth_rule_decisions_total{policy="grafana",status="403"}')).toBe(1);
    const second = await registry.metrics();
    expect(sample(second, 'airy_auth_decisions_total{status="200",reason="system_token"}')).toBe(3);
    metrics.countDecision(200, 'system_token');
    metrics.decisions.inc({ status: '431', reason: 'bad_request' }); // the parser's refusals count directly
    const third = await registry.metrics();
    expect(sample(third, 'airy_auth_decisions_total{status="200",reason="system_token"}')).toBe(4);
    expect(sample(third, 'airy_auth_decisions_total{status="431",reason="bad_request"}')).toBe(1);
  });

  it('exports the decision duration as a Prometheus histogram: cumulative buckets, +Inf, sum and count', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    for (const seconds of [0.00001, 0.00005, 0.0003, 0.004, 0.3]) metrics.decisionDuration.observe(seconds);
    const text = await registry.metrics();
    const bucket = (le: string) => sample(text, `airy_auth_decision_duration_seconds_bucket{le="${le}"}`);
    expect(text).toContain('# TYPE airy_auth_decision_duration_seconds histogram');
    expect(bucket('0.00005')).toBe(2); // a value on a bound is in that bucket (le: less or equal)
    expect(bucket('0.0001')).toBe(2);
    expect(bucket('0.0005')).toBe(3);
    expect(bucket('0.005')).toBe(4);
    expect(bucket('0.2')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(sample(text, 'airy_auth_decision_duration_seconds_count')).toBe(5);
    expect(sample(text, 'airy_auth_decision_duration_seconds_sum')).toBeCloseTo(0.30436, 10);
    registry.resetMetrics();
    expect(sample(await registry.metrics(), 'airy_auth_decision_duration_seconds_count')).toBe(0);
  });
});
