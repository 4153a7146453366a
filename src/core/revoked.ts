import { CLOCK_LEEWAY_SECONDS, type Session } from '../session/claims.js';
import { type RevocationList, type RevocationTimes, revocationKey } from '../session/revocation-list.js';

/** What the list can name of a login: a session, or the refresh cookie a renewal would mint one from. */
export interface RevocableLogin {
  /** When the person logged in (seconds): `auth_time`, else `iat`; undefined: unknown, so any cut-off refuses it. */
  readonly loginTime: number | undefined;
  readonly jti?: string | undefined;
  readonly sid?: string | undefined;
  /** Undefined when not known yet (a renewal checked before the provider is asked). */
  readonly sub?: string | undefined;
  readonly email?: string | undefined;
}

/** A login's keys in the revocation list; for sessions made once per verified token (the verifier's memo keeps the session object). */
interface LoginKeys {
  readonly jti: string | undefined;
  readonly sid: string | undefined;
  readonly sub: string | undefined;
  readonly email: string | undefined;
}
const keysOf = new WeakMap<Session, LoginKeys>();

function keysOfLogin(login: Omit<RevocableLogin, 'loginTime'>): LoginKeys {
  return {
    jti: login.jti === undefined ? undefined : revocationKey('jti', login.jti),
    sid: login.sid === undefined ? undefined : revocationKey('sid', login.sid),
    sub: login.sub === undefined ? undefined : revocationKey('sub', login.sub),
    email: login.email === undefined ? undefined : revocationKey('email', login.email),
  };
}

function sessionKeys(session: Session): LoginKeys {
  let k = keysOf.get(session);
  if (k === undefined) {
    k = keysOfLogin(session);
    keysOf.set(session, k);
  }
  return k;
}

const live = (t: RevocationTimes | undefined, nowSeconds: number): t is RevocationTimes => t !== undefined && t.until > nowSeconds;

function matches(loginTime: number | undefined, k: LoginKeys, list: RevocationList, nowSeconds: number): boolean {
  const all = list.allBefore;
  if (live(all, nowSeconds) && (loginTime === undefined || loginTime < all.at)) return true;
  if (k.jti !== undefined && live(list.entries.get(k.jti), nowSeconds)) return true;
  if (k.sid !== undefined && live(list.entries.get(k.sid), nowSeconds)) return true;
  // The session may come from a replica whose clock runs ahead: the same leeway as exp and nbf.
  const loggedInBy = (key: string | undefined) => {
    const t = key === undefined ? undefined : list.entries.get(key);
    return live(t, nowSeconds) && (loginTime === undefined || loginTime <= t.at + CLOCK_LEEWAY_SECONDS);
  };
  return loggedInBy(k.sub) || loggedInBy(k.email);
}

/**
 * Whether the cluster's revocation list refuses this session: its own `jti` or its provider
 * session `sid` is listed, its subject or email was revoked at or after the login (within the
 * clock leeway), or the login is before the `all` cut-off. The login time is `auth_time` (kept
 * through renewals), else `iat`. Entries past their `until` are ignored. Pure: the list and the
 * clock are inputs.
 */
export function revokedByList(session: Session, list: RevocationList, nowSeconds: number): boolean {
  if (list.entries.size === 0) return false;
  return matches(session.authTime ?? session.iat, sessionKeys(session), list, nowSeconds);
}

/**
 * The same judgement for a renewal at /login: the refresh cookie's original login time, the
 * `jti` and `sid` of the session it was issued with, and (once the provider answered) the
 * subject and email. A renewal the list refuses must not mint a session no entry matches.
 */
export function loginRevokedByList(login: RevocableLogin, list: RevocationList, nowSeconds: number): boolean {
  if (list.entries.size === 0) return false;
  return matches(login.loginTime, keysOfLogin(login), list, nowSeconds);
}
