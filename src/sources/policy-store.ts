import { type CompileResult, changedKeys } from '../config/compile.js';
import { type ConfigIssue, formatIssue } from '../config/issues.js';
import type { Policy } from '../config/policy.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

export type ApplyOutcome = 'applied' | 'invalid' | 'unchanged';

/**
 * Holds the last good policy. A compile result with errors never replaces it; a request reads
 * `current` once and keeps that object, so a reload never changes a decision half-way.
 */
export class PolicyStore {
  #current: Policy | undefined;
  #generation = 0;
  #lastIssues: readonly ConfigIssue[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /**
     * `serve --require-auth`: a config that would turn authentication off is invalid, at start as
     * on reload. The seed's rule (no secrets, auth off) stays for a bare airy.yaml, but a
     * deployment that must authenticate says so, and a missing or misspelt secret then stalls
     * the rollout (503, not ready) instead of letting every request in behind a green one.
     */
    private readonly options: {
      readonly requireAuth?: boolean;
      /** Called with each policy about to be applied, before any request sees it: the server builds its evaluator here. */
      readonly onApply?: (policy: Policy) => void;
    } = {},
  ) {
    metrics.enabled.set(0);
    metrics.configGeneration.set(0);
  }

  get current(): Policy | undefined {
    return this.#current;
  }
  get generation(): number {
    return this.#generation;
  }
  get lastIssues(): readonly ConfigIssue[] {
    return this.#lastIssues;
  }

  apply(result: CompileResult, source: string): ApplyOutcome {
    this.#lastIssues = result.issues;
    if (!result.policy) {
      this.metrics.configReloads.inc({ result: 'invalid' });
      this.logger.log('error', this.#current ? 'config rejected; keeping the last good config' : 'config rejected; no valid config yet, answering 503', {
        source,
        errors: result.issues.filter((i) => i.severity === 'error').map(formatIssue),
      });
      return 'invalid';
    }
    const next = result.policy;
    // The seed's rule turns auth off when a secret is unset. Under --require-auth that is never
    // meant. Without it, at start that is the operator's choice; on a live reload it is far more
    // likely a deleted key or a typo, and it would let every request in. So both are refused like
    // any other bad config.
    if (!next.enabled && (this.options.requireAuth || this.#current?.enabled)) {
      const problem = this.options.requireAuth
        ? {
            problem: `this config would turn authentication OFF (${next.disabledBecause}), and airy-auth runs with --require-auth`,
            fix:
              'set systemToken and jwtSecret (check the key names in the Secret), or configure OIDC; to run without authentication on purpose, ' +
              'start without --require-auth (Helm: security.allowUnauthenticated=true)',
          }
        : {
            problem: `this config would turn authentication OFF (${next.disabledBecause}) on a running airy-auth`,
            fix: 'restore the missing key; to run without authentication on purpose, restart airy-auth with that config',
          };
      return this.apply({ policy: undefined, issues: [...result.issues, { severity: 'error', path: 'security', ...problem }] }, source);
    }
    const changed = changedKeys(this.#current, next);
    if (this.#current && changed.length === 0) {
      this.metrics.configReloads.inc({ result: 'unchanged' });
      this.#warnIfOff(source);
      return 'unchanged';
    }
    this.options.onApply?.(next);
    this.#current = next;
    this.#generation += 1;
    this.metrics.configReloads.inc({ result: 'applied' });
    this.metrics.configGeneration.set(this.#generation);
    this.metrics.enabled.set(next.enabled ? 1 : 0);
    const warnings = result.issues.filter((i) => i.severity === 'warning').map(formatIssue);
    this.logger.log('info', 'config applied', { source, generation: this.#generation, changedKeys: changed, warnings });
    this.#warnIfOff(source);
    return 'applied';
  }

  #warnIfOff(source: string): void {
    if (this.#current && !this.#current.enabled) {
      this.logger.log('warn', `!!! AUTHENTICATION IS OFF: ${this.#current.disabledBecause}. EVERY REQUEST IS ALLOWED. !!!`, { source });
    }
  }

  /** The source's object is gone: keep deciding on the last good policy, and say so. */
  sourceDeleted(source: string): void {
    this.metrics.configReloads.inc({ result: 'deleted' });
    this.logger.log('warn', this.#current ? 'config source deleted; keeping the last good config' : 'config source deleted; no valid config yet', { source });
  }
}
