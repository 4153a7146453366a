import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RevocationEntry, RevocationList } from '../session/revocation-list.js';
import type { Evaluators } from './evaluators.js';
import type { RequestLogSettings } from './request-log.js';
import type { ShadowComparison } from './shadow.js';

/** The policy in force now; a request reads it once and keeps that object. */
export interface PolicySnapshot {
  readonly current: Policy | undefined;
}

/** What every route handler may use. The clock is injected so tests control time. */
export interface ServerDeps {
  readonly policies: PolicySnapshot;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** True once shutdown began: /readyz answers 503 so Kubernetes stops sending traffic before the drain. */
  readonly shuttingDown: () => boolean;
  /** The evaluator (the credential verifiers) of each applied policy. */
  readonly evaluators: Evaluators;
  /** Which decisions are logged, and the header of the gateway's request id. */
  readonly requestLog: RequestLogSettings;
  /** The cluster's revocation list (`serve --revocations`); absent: the feature is off. */
  readonly revocations?: Revocations | undefined;
  /** The candidate config's comparison (`serve --shadow-config`); absent: the shadow is off. */
  readonly shadow?: ShadowComparison | undefined;
}

/** The revocation list in force now, and the way to add to it (for every replica). */
export interface Revocations {
  readonly current: RevocationList;
  /**
   * Writes the entries to the ConfigMap. They apply on this replica at once, whether or not the
   * write succeeds; the promise rejects when the write failed (the caller must say so).
   */
  record(entries: readonly RevocationEntry[]): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, deps: ServerDeps) => void | Promise<void>;
