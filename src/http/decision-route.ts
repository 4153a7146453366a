import type { IncomingMessage, ServerResponse } from 'node:http';
import { decide } from '../core/decide.js';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { MaybePromise } from '../core/maybe-async.js';
import type { FactsResult } from './auth-request.js';
import type { Handler, ServerDeps } from './deps.js';
import { plain } from './pages.js';

export type Responder = (req: IncomingMessage, res: ServerResponse, decision: Decision, facts: Facts, deps: ServerDeps) => MaybePromise<void>;

/**
 * The shape every gateway adapter shares: request → facts (adapter), facts → decision (core),
 * decision → answer (adapter), with the decision counted and timed in one place.
 */
export function decisionRoute(extract: (req: IncomingMessage) => FactsResult, respond: Responder): Handler {
  return (req, res, deps) => {
    const started = performance.now();
    const facts = extract(req);
    if (!facts.ok) {
      deps.metrics.countDecision(400, 'bad_request');
      plain(res, 400, `400 bad_request: ${facts.why}\n`);
      return;
    }
    // Read the policy once: a reload during this request does not change its answer.
    const decision = decide(facts.facts, deps.store.current, deps.now());
    const finish = (d: Decision) => {
      deps.metrics.countDecision(d.status, d.reason);
      deps.metrics.decisionDuration.observe((performance.now() - started) / 1000);
      return respond(req, res, d, facts.facts, deps);
    };
    return decision instanceof Promise ? decision.then(finish) : finish(decision);
  };
}
