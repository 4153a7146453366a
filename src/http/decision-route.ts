import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import { decide } from '../core/decide.js';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { FactsResult } from './credentials.js';
import type { Handler } from './deps.js';
import { plain } from './pages.js';
import { RequestHeaders } from './request-headers.js';
import { type HeaderPair, logDecision, requestIdOf } from './request-log.js';
import { RuleProblemLog } from './rule-problem-log.js';

/**
 * Writes the answer; `policy` is the snapshot the decision was made on, never a later one, and
 * `echo` (the request id) goes on the answer whatever it is; `now` is the clock, read only by an
 * allow that is signed (signedIdentity). Headers are given to one writeHead:
 * a setHeader before it sends Node down its slower merging path on every request.
 */
export type Responder<F extends Facts> = (
  res: ServerResponse,
  decision: Decision,
  facts: F,
  policy: Policy | undefined,
  echo: HeaderPair,
  now: () => number,
) => void;

/** A gateway protocol: the headers it reads (lower case), and how it makes facts of them. */
export interface Adapter<F extends Facts> {
  readonly name: string;
  readonly headers: ReadonlySet<string>;
  facts(req: IncomingMessage, headers: RequestHeaders): FactsResult<F>;
  /** The status of a malformed call (reason bad_request): 400 unless the gateway turns a 400 into a 500. */
  readonly malformedStatus?: 400 | 403;
}

/** The answer to a call the adapter cannot read (malformed) or refuses (forged); `explain` says the same. */
export function unreadableAnswer(
  adapter: Pick<Adapter<Facts>, 'malformedStatus'>,
  facts: { readonly forged?: true },
): { status: 400 | 403; reason: 'forwarded_mismatch' | 'bad_request' } {
  return facts.forged ? { status: 403, reason: 'forwarded_mismatch' } : { status: adapter.malformedStatus ?? 400, reason: 'bad_request' };
}

/**
 * The shape every gateway adapter shares: request → facts (adapter), facts → decision (core),
 * decision → answer (adapter), with the decision counted, timed and logged in one place, and
 * the request id echoed so the gateway can log the same id. The headers are read in one pass,
 * the request id's with the adapter's.
 */
export function decisionRoute<F extends Facts>(adapter: Adapter<F>, respond: Responder<F>): Handler {
  const wantedWithId = new Map<string, ReadonlySet<string>>();
  return (req, res, deps) => {
    const started = performance.now();
    const idHeader = deps.requestLog.idHeader;
    let wanted = wantedWithId.get(idHeader);
    if (wanted === undefined) {
      wanted = new Set([...adapter.headers, idHeader]);
      wantedWithId.set(idHeader, wanted);
    }
    const headers = new RequestHeaders(req, wanted);
    const id = requestIdOf(headers, idHeader);
    const echo: HeaderPair = [idHeader, id];
    const facts = adapter.facts(req, headers);
    if (!facts.ok) {
      const { status, reason } = unreadableAnswer(adapter, facts);
      deps.metrics.countDecision(status, reason);
      logDecision(deps.logger, deps.requestLog, {
        id,
        adapter: adapter.name,
        req,
        facts: undefined,
        status,
        reason,
        decision: undefined,
        startedMs: started,
      });
      plain(res, status, `${status} ${reason}: ${facts.why}\n`, { [idHeader]: id });
      return;
    }
    // Read the policy once: a reload during this request (even during an asynchronous verify)
    // does not change its answer, and the responder sees the same snapshot.
    const policy = deps.policies.current;
    const decision = decide(facts.facts, policy === undefined ? undefined : deps.evaluators.forPolicy(policy), deps.now());
    const finish = (d: Decision) => {
      deps.metrics.countDecision(d.status, d.reason);
      if (d.rule !== undefined) deps.metrics.countRuleDecision(d.rule, d.status);
      if (d.status === 403 && d.ruleProblem !== undefined) ruleProblemLogOf(deps).report(d.ruleProblem, facts.facts.host, deps.now());
      deps.metrics.decisionDuration.observe((performance.now() - started) / 1000);
      respond(res, d, facts.facts, policy, echo, deps.now);
      logDecision(deps.logger, deps.requestLog, {
        id,
        adapter: adapter.name,
        req,
        facts: facts.facts,
        status: res.statusCode,
        reason: d.reason,
        decision: d,
        startedMs: started,
      });
      // After the answer: the shadow's decision is compared, never sent.
      if (deps.shadow !== undefined) deps.shadow.compare(id, facts.facts, d);
    };
    return decision instanceof Promise ? decision.then(finish) : finish(decision);
  };
}

/** One warning log per logger (so per server), whichever adapter met the mistake. */
const ruleProblemLogs = new WeakMap<object, RuleProblemLog>();
function ruleProblemLogOf(deps: Parameters<Handler>[2]): RuleProblemLog {
  let log = ruleProblemLogs.get(deps.logger);
  if (log === undefined) {
    log = new RuleProblemLog(deps.logger);
    ruleProblemLogs.set(deps.logger, log);
  }
  return log;
}
