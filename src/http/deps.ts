import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PolicyStore } from '../sources/policy-store.js';

/** What every route handler may use. The clock is injected so tests control time. */
export interface ServerDeps {
  readonly store: PolicyStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Set on SIGTERM: /readyz answers 503 so Kubernetes stops sending traffic before the drain. */
  readonly shuttingDown?: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, deps: ServerDeps) => void | Promise<void>;
