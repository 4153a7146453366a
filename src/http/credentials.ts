import type { Facts } from '../core/facts.js';
import { SESSION_COOKIE } from '../session/claims.js';
import { cookieValues } from '../session/cookies.js';
import { CREDENTIAL_HEADERS, lowerCased, PREFLIGHT_HEADER } from './gateway-headers.js';
import { isPrintableAscii, REPEATED, type RequestHeaders } from './request-headers.js';

/** What an adapter makes of a request: its facts, or why the request is malformed (a 400). */
export type FactsResult<F extends Facts = Facts> = { ok: true; facts: F } | { ok: false; why: string; forged?: true };

export type Credentials = Pick<Facts, 'authorization' | 'origin' | 'sessionCookies' | 'preflight'>;

/** The credential headers (and the preflight marker), lower-cased for RequestHeaders; every adapter reads them the same way. */
export const CREDENTIAL_HEADER_NAMES: readonly string[] = lowerCased([...CREDENTIAL_HEADERS, PREFLIGHT_HEADER]);

/** The credential facts, or why the request is malformed. */
export function credentialFacts(headers: RequestHeaders): { ok: true; creds: Credentials } | { ok: false; why: string } {
  const authorization = headers.single('authorization');
  const origin = headers.single('origin');
  if (authorization === REPEATED) return { ok: false, why: 'repeated Authorization header' };
  if (origin === REPEATED) return { ok: false, why: 'repeated Origin header' };
  if (authorization !== undefined && !isPrintableAscii(authorization)) return { ok: false, why: 'Authorization is not printable ASCII' };
  const preflight = headers.single('access-control-request-method') !== undefined;
  return { ok: true, creds: { authorization, origin, sessionCookies: cookieValues(headers.cookie(), SESSION_COOKIE), preflight } };
}
