import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import { LabelTally } from './tally.js';

/**
 * Every metric airy-auth exports, registered on the registry the caller passes in (never the
 * global one), so tests and several servers in one process do not collide.
 */
export function createMetrics(registry: Registry) {
  collectDefaultMetrics({ register: registry });
  // These three are gauges named like counters, which `promtool check metrics` rejects; the
  // per-type gauges nodejs_active_{handles,requests,resources} carry the same numbers.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const registers = [registry];
  // Decisions are counted in tallies and handed to their counters when scraped (see LabelTally).
  const decisionTally = new LabelTally<number, string>();
  const ruleTally = new LabelTally<string, number>();
  const revocationView: RevocationView = { configMap: undefined, live: () => 0, newestAt: () => undefined };
  const metrics = {
    registry,
    decisions: new Counter({
      name: 'airy_auth_decisions_total',
      help: 'Auth decisions by HTTP status and reason.',
      labelNames: ['status', 'reason'] as const,
      registers,
      collect() {
        decisionTally.flush((status, reason, n) => this.inc({ status: String(status), reason }, n));
      },
    }),
    decisionDuration: new FastHistogram(
      'airy_auth_decision_duration_seconds',
      'Time from request to decision, in seconds.',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.2],
      registry,
    ),
    enabled: new Gauge({ name: 'airy_auth_enabled', help: '1 when authentication is on, 0 when the config turns it off.', registers }),
    configGeneration: new Gauge({ name: 'airy_auth_config_generation', help: 'Number of configs applied since start.', registers }),
    configReloads: new Counter({
      name: 'airy_auth_config_reloads_total',
      help: 'Config loads by result (applied, invalid, unchanged, deleted).',
      labelNames: ['result'] as const,
      registers,
    }),
    logins: new Counter({
      name: 'airy_auth_logins_total',
      help: 'Login attempts by provider and result.',
      labelNames: ['provider', 'result'] as const,
      registers,
    }),
    idpDuration: new Histogram({
      name: 'airy_auth_idp_request_duration_seconds',
      help: 'Time of requests to the identity provider, in seconds, by endpoint and outcome (ok, http_4xx, http_5xx, timeout, too_large, unreachable).',
      labelNames: ['provider', 'endpoint', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    watchRestarts: new Counter({
      name: 'airy_auth_watch_restarts_total',
      help: 'Restarts of the Kubernetes watch, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    ruleDecisions: new Counter({
      name: 'airy_auth_rule_decisions_total',
      help: 'Decisions under a route rule, by policy name (or "query" for auth URL parameters alone) and status.',
      labelNames: ['policy', 'status'] as const,
      registers,
      collect() {
        ruleTally.flush((policy, status, n) => this.inc({ policy, status: String(status) }, n));
      },
    }),
    sourceUp: new Gauge({ name: 'airy_auth_config_source_up', help: '1 while the config source (file or apiserver) is reachable.', registers }),
    ...revocationMetrics(registers, revocationView),
    ...shadowMetrics(registers),
  };
  for (const result of ['applied', 'invalid', 'unchanged', 'deleted']) metrics.configReloads.inc({ result }, 0);
  const countDecision = (status: number, reason: string): void => decisionTally.add(status, reason);
  /** Only configured policy names and "query" reach this label: never raw query text. */
  const countRuleDecision = (policy: string, status: number): void => ruleTally.add(policy, status);
  return { ...metrics, countDecision, countRuleDecision };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What the revocation gauges read when scraped: the source sets these (both change with the clock alone). */
export interface RevocationView {
  /** `NAMESPACE/NAME` of the watched ConfigMap; undefined while the feature is off (the labelled gauges are then absent). */
  configMap: string | undefined;
  live: () => number;
  /** When the newest entry seen was made (seconds since the epoch). */
  newestAt: () => number | undefined;
}

/** The metrics of `serve --revocations`; registered always, so dashboards need no feature check. */
function revocationMetrics(registers: Registry[], view: RevocationView) {
  return {
    revocationView: view,
    revocationsApplied: new Counter({
      name: 'airy_auth_revocations_applied_total',
      help: 'Revocation entries this replica began to apply (seen in the ConfigMap or written by it).',
      registers,
    }),
    revocationWrites: new Counter({
      name: 'airy_auth_revocation_writes_total',
      help: 'Writes of revocations to the ConfigMap by result (written, failed).',
      labelNames: ['result'] as const,
      registers,
    }),
    revocations: new Gauge({
      name: 'airy_auth_revocations',
      help: 'Revocation entries in force (not yet past their time) on this replica.',
      registers,
      collect() {
        this.set(view.live());
      },
    }),
    revocationNewestAge: new Gauge({
      name: 'airy_auth_revocation_newest_age_seconds',
      help: 'Seconds since the newest revocation this replica has seen was made; absent until it has seen one.',
      labelNames: ['configmap'] as const,
      registers,
      collect() {
        const at = view.newestAt();
        this.reset();
        if (at !== undefined && view.configMap !== undefined) this.set({ configmap: view.configMap }, Math.max(0, Date.now() / 1000 - at));
      },
    }),
    revocationSourceUp: new Gauge({
      name: 'airy_auth_revocation_source_up',
      help: '1 while the revocation ConfigMap is watched (serve --revocations).',
      labelNames: ['configmap'] as const,
      registers,
    }),
  };
}

/**
 * The metrics of `serve --shadow-config`/`--shadow-configmap` (a candidate config compared with
 * the live one); registered always, so dashboards need no feature check. Labels: statuses and
 * configured policy names only, so their number is bounded by the configs.
 */
function shadowMetrics(registers: Registry[]) {
  // Counted on the request path when the shadow is on: a number, handed to the counter when scraped.
  const compared = { pending: 0 };
  const shadowConfigReloads = new Counter({
    name: 'airy_auth_shadow_config_reloads_total',
    help: 'Shadow config loads by result (applied, invalid, unchanged, deleted).',
    labelNames: ['result'] as const,
    registers,
  });
  for (const result of ['applied', 'invalid', 'unchanged', 'deleted']) shadowConfigReloads.inc({ result }, 0);
  return {
    shadowCompared: compared,
    shadowComparisons: new Counter({
      name: 'airy_auth_shadow_comparisons_total',
      help: 'Decisions also taken under the shadow config.',
      registers,
      collect() {
        if (compared.pending > 0) this.inc(compared.pending);
        compared.pending = 0;
      },
    }),
    shadowDisagreements: new Counter({
      name: 'airy_auth_shadow_disagreements_total',
      help: 'Decisions whose status under the shadow config differs from the answer given, by live status, shadow status and route policy ("none").',
      labelNames: ['live', 'shadow', 'policy'] as const,
      registers,
    }),
    shadowErrors: new Counter({
      name: 'airy_auth_shadow_errors_total',
      help: 'Shadow decisions that failed (threw or rejected): ignored, the answer is the live one.',
      registers,
    }),
    shadowConfigLoaded: new Gauge({
      name: 'airy_auth_shadow_config_loaded',
      help: '1 while a shadow config is in force (compared with every decision).',
      registers,
    }),
    shadowConfigValid: new Gauge({
      name: 'airy_auth_shadow_config_valid',
      help: "1 when the shadow source's latest content is the shadow in force; 0 after it was refused or deleted (the last good one, if any, stays).",
      registers,
    }),
    shadowConfigGeneration: new Gauge({ name: 'airy_auth_shadow_config_generation', help: 'Number of shadow configs applied since start.', registers }),
    shadowConfigReloads,
    shadowSourceUp: new Gauge({
      name: 'airy_auth_shadow_config_source_up',
      help: '1 while the shadow config source (file or apiserver) is reachable.',
      registers,
    }),
  };
}
