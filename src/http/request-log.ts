import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { Logger } from '../log.js';
import type { RequestHeaders } from './request-headers.js';
import { pathOf } from './request-target.js';

/** Which decisions get a request log line: none, the refusals (the default), or all. */
export type RequestLogMode = 'none' | 'denied' | 'all';
export const REQUEST_LOG_MODES: readonly RequestLogMode[] = ['none', 'denied', 'all'];

export interface RequestLogSettings {
  readonly mode: RequestLogMode;
  /** Lower-case name of the header that carries the gateway's request id (X-Request-ID by default). */
  readonly idHeader: string;
}

/** A header to put on an answer, as writeHead takes it. */
export type HeaderPair = readonly [name: string, value: string];

/** A request id as the gateway sent it, when it is a sane one (sent once, visible ASCII); otherwise a new one. */
export function requestIdOf(headers: RequestHeaders, header: string): string {
  const sent = headers.single(header);
  return typeof sent === 'string' && /^[\x21-\x7e]{1,128}$/.test(sent) ? sent : newRequestId();
}

/**
 * A new id in the shape of a UUID: a random prefix drawn once per process and a counter. Ids
 * need to be unique, not secret, and a random UUID per request was a measurable cost.
 */
const ID_PREFIX = randomUUID().slice(0, 24);
let idCounter = 0;
function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x1000000000000;
  return ID_PREFIX + idCounter.toString(16).padStart(12, '0');
}

/**
 * One JSON line per decision: who asked for what, and the answer. What goes in is chosen field by
 * field: the path without its query, the user and email of the identity (on a refusal too), the
 * session id (`jti`, which revokes that one session), the route's policy name; never a token, a
 * cookie, a query string or a secret, whatever the level.
 */
export function logDecision(
  logger: Logger,
  settings: RequestLogSettings,
  entry: {
    readonly id: string;
    readonly adapter: string;
    readonly req: IncomingMessage;
    readonly facts: Facts | undefined;
    readonly status: number;
    readonly reason: string;
    readonly decision: Decision | undefined;
    readonly startedMs: number;
  },
): void {
  if (settings.mode === 'none' || (settings.mode === 'denied' && entry.status === 200)) return;
  const d = entry.decision;
  const user = d && 'user' in d ? d.user : undefined;
  const email = d && 'email' in d ? d.email : undefined;
  const jti = d && 'jti' in d ? d.jti : undefined;
  const provider = d && 'provider' in d ? d.provider : undefined;
  logger.log('info', 'request', {
    requestId: entry.id,
    adapter: entry.adapter,
    method: entry.facts?.method ?? entry.req.method,
    host: entry.facts?.host,
    path: entry.facts?.path ?? pathOf(entry.req.url).slice(0, 512),
    status: entry.status,
    reason: entry.reason,
    // Which check refused a credential (a machine token's issuer, audience, expiry...); never the credential.
    detail: d && 'detail' in d ? d.detail : undefined,
    user,
    email,
    // The login provider that signed the person in: with several, says which account was used.
    provider,
    // The route's policy name (or `query`): with the reason, says which rule refused whom.
    policy: d?.rule,
    // The key of the rule that refused (`security.policies.grafana.allowedGroups`), as `explain` names it.
    ruleKey: d && 'ruleKey' in d ? d.ruleKey : undefined,
    jti,
    durationMs: Math.round((performance.now() - entry.startedMs) * 1000) / 1000,
  });
}
