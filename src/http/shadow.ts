import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { MaybePromise } from '../core/maybe-async.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

/** Takes the decision of every request a second time, under the candidate config; never changes an answer. */
export interface ShadowComparison {
  /** Called after the live answer was written; returns at once, whatever the shadow decision does. */
  compare(requestId: string, facts: Facts, live: Decision): void;
}

export interface ShadowOptions<C> {
  /** The shadow config in force now (read once per comparison); undefined: none loaded yet, nothing compared. */
  readonly candidate: { readonly current: C | undefined };
  /** The server's own decision under the candidate (injected: the composition root knows how decisions are taken). */
  readonly decideUnder: (facts: Facts, candidate: C) => MaybePromise<Decision>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Milliseconds, for the log's rate limit. */
  readonly now: () => number;
  /** At most this many disagreement lines per second (default 10); the counter counts them all. */
  readonly linesPerSecond?: number;
  /** Log one disagreement in this many (default 1: each, up to the rate limit). */
  readonly sampleEvery?: number;
}

export const SHADOW_LOG_DEFAULTS = { linesPerSecond: 10, sampleEvery: 1 } as const;

/**
 * A disagreement is a different status: the answer the gateway would have acted on changes. Two
 * refusals with the same status for different reasons (a 403 for a group, a 403 for an email)
 * are the same answer to the person asking, and two allows are the same answer to the upstream:
 * neither is counted or logged. So the counter measures exactly the answers a promotion would
 * change.
 */
export function disagrees(live: Decision, shadow: Decision): boolean {
  return live.status !== shadow.status;
}

/**
 * The comparison of `serve --shadow-config`/`--shadow-configmap`. A failing shadow decision (it
 * throws or rejects) is counted in `airy_auth_shadow_errors_total` and otherwise ignored. Log
 * lines carry the request id, both statuses and reasons, the route's policy and the identity
 * (user and email, as the request log does); never a token, cookie or query. They are sampled
 * and rate-limited; each line says how many disagreements went unlogged since the previous one.
 */
export function createShadow<C>(options: ShadowOptions<C>): ShadowComparison {
  const { candidate, decideUnder, metrics, logger, now } = options;
  const perSecond = Math.max(0, Math.floor(options.linesPerSecond ?? SHADOW_LOG_DEFAULTS.linesPerSecond));
  const sampleEvery = Math.max(1, Math.floor(options.sampleEvery ?? SHADOW_LOG_DEFAULTS.sampleEvery));
  let seen = 0;
  let windowStart = Number.NEGATIVE_INFINITY;
  let linesInWindow = 0;
  let unlogged = 0;

  const failed = (): void => metrics.shadowErrors.inc();

  function record(requestId: string, facts: Facts, live: Decision, shadow: Decision): void {
    if (!disagrees(live, shadow)) return;
    const policy = live.rule ?? shadow.rule ?? 'none';
    metrics.shadowDisagreements.inc({ live: String(live.status), shadow: String(shadow.status), policy });
    seen++;
    if (seen % sampleEvery !== 0) {
      unlogged++;
      return;
    }
    const at = now();
    if (at - windowStart >= 1000 || at < windowStart) {
      windowStart = at;
      linesInWindow = 0;
    }
    if (linesInWindow >= perSecond) {
      unlogged++;
      return;
    }
    linesInWindow++;
    logger.log('info', 'shadow disagrees', {
      requestId,
      method: facts.method,
      host: facts.host,
      path: facts.path,
      policy,
      liveStatus: live.status,
      liveReason: live.reason,
      shadowStatus: shadow.status,
      shadowReason: shadow.reason,
      user: identity(live, 'user') ?? identity(shadow, 'user'),
      email: identity(live, 'email') ?? identity(shadow, 'email'),
      suppressed: unlogged,
    });
    unlogged = 0;
  }

  return {
    compare(requestId, facts, live) {
      const current = candidate.current;
      if (current === undefined) return;
      metrics.shadowCompared.pending++;
      let shadow: MaybePromise<Decision>;
      try {
        shadow = decideUnder(facts, current);
      } catch {
        failed();
        return;
      }
      if (shadow instanceof Promise) {
        shadow.then((d) => record(requestId, facts, live, d)).catch(failed);
        return;
      }
      try {
        record(requestId, facts, live, shadow);
      } catch {
        failed();
      }
    },
  };
}

function identity(d: Decision, field: 'user' | 'email'): string | undefined {
  if (!(field in d)) return undefined;
  const value = (d as { readonly user?: string; readonly email?: string })[field];
  return typeof value === 'string' ? value : undefined;
}
