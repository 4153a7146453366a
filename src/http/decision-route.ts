import type { IncomingMessage, ServerResponse } from 'node:http';
import { decide } from '../core/decide.js';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { FactsResult } from './auth-request.js';
import type { Handler, ServerDeps } from './deps.js';

export type Responder = (req: IncomingMessage, res: ServerResponse, decision: Decision, facts: Facts, deps: ServerDeps) => void;

/**
 * The shape every gateway adapter shares: request → facts (adapter), facts → decision (core),
 * decision → answer (adapter), with the decision counted and timed in one place.
 */
export function decisionRoute(extract: (req: IncomingMessage) => FactsResult, respond: Responder): Handler {
  return async (req, res, deps) => {
    const started = process.hrtime.bigint();
    const facts = extract(req);
    if (!facts.ok) {
      deps.metrics.decisions.inc({ status: '400', reason: 'bad_request' });
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`400 bad_request: ${facts.why}\n`);
      return;
    }
    // Read the policy once: a reload during this request does not change its answer.
    const policy = deps.store.current;
    const decision = await decide(facts.facts, policy, deps.now());
    deps.metrics.decisions.inc({ status: String(decision.status), reason: decision.reason });
    deps.metrics.decisionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    respond(req, res, decision, facts.facts, deps);
  };
}
