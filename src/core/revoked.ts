import { CLOCK_LEEWAY_SECONDS, type Session } from '../session/claims.js';
import { type RevocationList, type RevocationTimes, revocationKey } from '../session/revocation-list.js';

/** A session's keys in the revocation list, made once per verified token (the verifier's memo keeps the session object). */
interface SessionKeys {
  readonly jti: string | undefined;
  readonly sid: string | undefined;
  readonly sub: string;
  readonly email: string | undefined;
}
const keysOf = new WeakMap<Session, SessionKeys>();

function keys(session: Session): SessionKeys {
  let k = keysOf.get(session);
  if (k === undefined) {
    k = {
      jti: session.jti === undefined ? undefined : revocationKey('jti', session.jti),
      sid: session.sid === undefined ? undefined : revocationKey('sid', session.sid),
      sub: revocationKey('sub', session.sub),
      email: session.email === undefined ? undefined : revocationKey('email', session.email),
    };
    keysOf.set(session, k);
  }
  return k;
}

const live = (t: RevocationTimes | undefined, nowSeconds: number): t is RevocationTimes => t !== undefined && t.until > nowSeconds;

/**
 * Whether the cluster's revocation list refuses this session: its own `jti` or its provider
 * session `sid` is listed, its subject or email was revoked at or after it was issued (within the clock leeway), or it was
 * issued before the `all` cut-off. Entries past their `until` are ignored. Pure: the list and the
 * clock are inputs.
 */
export function revokedByList(session: Session, list: RevocationList, nowSeconds: number): boolean {
  if (list.entries.size === 0) return false;
  const all = list.allBefore;
  if (live(all, nowSeconds) && (session.iat === undefined || session.iat < all.at)) return true;
  const k = keys(session);
  if (k.jti !== undefined && live(list.entries.get(k.jti), nowSeconds)) return true;
  if (k.sid !== undefined && live(list.entries.get(k.sid), nowSeconds)) return true;
  // The session may come from a replica whose clock runs ahead: the same leeway as exp and nbf.
  const issuedBy = (t: RevocationTimes | undefined) => live(t, nowSeconds) && (session.iat === undefined || session.iat <= t.at + CLOCK_LEEWAY_SECONDS);
  return issuedBy(list.entries.get(k.sub)) || (k.email !== undefined && issuedBy(list.entries.get(k.email)));
}
