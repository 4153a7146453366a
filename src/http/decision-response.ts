import type { ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Allow, Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import { EMAIL_HEADER, GROUPS_HEADER, JWT_HEADER, USER_HEADER } from './gateway-headers.js';
import type { HeaderPair } from './request-log.js';
import { identityAssertion } from './signed-identity-header.js';

/**
 * Header values must not carry control or non-ASCII characters, so such a value is
 * percent-encoded; so is any value with a `%`, so that a literal `%C3%BC` (sent as `%25C3%25BC`)
 * never arrives as the same header as `ü`, and any value with a space at either end, which HTTP
 * trims (`" admin "` would arrive as `admin`). Upstreams percent-decode to get the identity back.
 */
const HEADER_PLAIN = /^(?:[\x21-\x24\x26-\x7e](?:[\x20-\x24\x26-\x7e]*[\x21-\x24\x26-\x7e])?)?$/;
export function headerSafe(value: string): string {
  return HEADER_PLAIN.test(value) ? value : encodeURIComponent(value);
}

/** One group in the comma-joined groups header: encoded like any value, and a comma inside it too. */
function groupSafe(group: string): string {
  return group.includes(',') ? encodeURIComponent(group) : headerSafe(group);
}

/**
 * The groups header for one session's groups, built once: the array belongs to the memoized
 * session, and encoding a long list on every request cost more than the decision itself.
 */
const groupsHeaderOf = new WeakMap<readonly string[], string>();
function groupsHeader(groups: readonly string[]): string {
  let value = groupsHeaderOf.get(groups);
  if (value === undefined) {
    value = groups.map(groupSafe).join(',');
    groupsHeaderOf.set(groups, value);
  }
  return value;
}

/** The challenge for a 401: RFC 6750 error code when a token was presented but refused. */
function wwwAuthenticate(decision: Decision): string {
  return decision.status === 401 && decision.reason === 'invalid_token' ? 'Bearer realm="airy-auth", error="invalid_token"' : 'Bearer realm="airy-auth"';
}

/**
 * An allow, for every adapter: gateways read only the status and identity headers, and every
 * extra header or body byte measurably costs throughput on this hot path (see bench/). All three
 * identity headers are always sent, empty when there is no identity (a public path, auth off):
 * Envoy and Caddy only replace a header that the answer carries, so leaving one out would let a
 * client's forged X-Auth-Request-User through. A flat array is the cheapest form writeHead takes.
 */
export function writeAllow(res: ServerResponse, decision: Allow, echo: HeaderPair, facts: Facts, policy: Policy | undefined, now: () => number): void {
  // The one check an allow pays when no route asks for a signed identity.
  const signing = policy?.signedIdentity;
  if (signing !== undefined) {
    writeSignedAllow(res, decision, echo, identityAssertion(decision, facts, signing, now()));
    return;
  }
  res.writeHead(200, [
    USER_HEADER,
    headerSafe(decision.user ?? ''),
    EMAIL_HEADER,
    headerSafe(decision.email ?? ''),
    GROUPS_HEADER,
    decision.groups === undefined ? '' : groupsHeader(decision.groups),
    'Content-Length',
    '0',
    echo[0],
    echo[1],
  ]);
  res.end();
}

/** An allow with X-Auth-Request-Jwt: whenever signedIdentity is on for any route, on every allow (empty without one). */
function writeSignedAllow(res: ServerResponse, decision: Allow, echo: HeaderPair, assertion: string): void {
  res.writeHead(200, [
    USER_HEADER,
    headerSafe(decision.user ?? ''),
    EMAIL_HEADER,
    headerSafe(decision.email ?? ''),
    GROUPS_HEADER,
    decision.groups === undefined ? '' : groupsHeader(decision.groups),
    JWT_HEADER,
    assertion,
    'Content-Length',
    '0',
    echo[0],
    echo[1],
  ]);
  res.end();
}

/** The plain answer used by auth_request-style gateways, which read only the status and headers. */
export function writeDecision(res: ServerResponse, decision: Decision, echo: HeaderPair, facts: Facts, policy: Policy | undefined, now: () => number): void {
  if (decision.status === 200) return writeAllow(res, decision, echo, facts, policy, now);
  const body = `${decision.status} ${decision.reason}\n`;
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(body)),
    [echo[0]]: echo[1],
  };
  if (decision.status === 401) headers['WWW-Authenticate'] = wwwAuthenticate(decision);
  res.writeHead(decision.status, headers);
  res.end(body);
}
