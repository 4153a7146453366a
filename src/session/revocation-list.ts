import { createHash } from 'node:crypto';

/**
 * The revocation list kept in a ConfigMap (`serve --revocations`), as data: what a session is
 * revoked by, and until when the entry matters. Pure: parsed and built here, checked by the core,
 * watched and written by the sources.
 *
 * The ConfigMap holds one data key, `revocations`, with one line per entry: `KEY REVOKED_AT UNTIL`
 * (seconds since the epoch), where KEY is
 * - `jti.H`: the one session with this `jti`;
 * - `sid.H`: the sessions minted from this provider session (`sid`, OIDC Back-Channel Logout);
 * - `sub.H`, `email.H`: every session of this subject or email issued at or before REVOKED_AT;
 * - `all`: every session issued before REVOKED_AT (and those without an issue time).
 * H is 72 bits of SHA-256 over the kind and the value (an email in lower case), so no email stands
 * in the object in clear and a line has a fixed size of about 40 bytes: 10,000 entries are about
 * 400 KB. One key, not one per entry: the apiserver records every key a writer set in the object's
 * managedFields, which would add some 25 bytes per entry to the stored object.
 * UNTIL is REVOKED_AT plus the session lifetime: after it no session the entry could match is
 * still valid, so it is ignored, and the next writer leaves it out.
 */
export type RevocationKind = 'jti' | 'sid' | 'sub' | 'email' | 'all';
export const REVOCATION_KINDS: readonly RevocationKind[] = ['jti', 'sid', 'sub', 'email', 'all'];

export interface RevocationTimes {
  /** When it was revoked (seconds); for `all`, the cut-off. */
  readonly at: number;
  /** After this (seconds) the entry no longer matters. */
  readonly until: number;
}

/** A revocation to write: what, and its times. */
export interface RevocationEntry extends RevocationTimes {
  readonly kind: RevocationKind;
  /** The data key (`KIND.HASH`, or `all`). */
  readonly key: string;
}

/** A frozen list, built once per change of the ConfigMap (and of the replica's own unwritten entries). */
export interface RevocationList {
  /** Every entry by data key, expired ones included (the check compares `until` with its clock). */
  readonly entries: ReadonlyMap<string, RevocationTimes>;
  /** The `all` entry, when there is one. */
  readonly allBefore: RevocationTimes | undefined;
  /** The latest `at` of any entry: how fresh the list this replica has seen is. */
  readonly newestAt: number | undefined;
}

export const EMPTY_REVOCATIONS: RevocationList = Object.freeze({ entries: new Map(), allBefore: undefined, newestAt: undefined });

const HASH_CHARS = 12;
/** A value longer than this is no jti, sid, subject or email anyone issues. */
export const MAX_REVOKED_VALUE_CHARS = 1024;

/** The data key of an entry: `KIND.HASH`, or `all`. */
export function revocationKey(kind: Exclude<RevocationKind, 'all'>, value: string): string {
  const normalized = kind === 'email' ? value.toLowerCase() : value;
  return `${kind}.${createHash('sha256').update(`${kind}\0${normalized}`).digest('base64url').slice(0, HASH_CHARS)}`;
}

/** An entry revoking `value` at `atSeconds`, kept for `lifetimeSeconds`. */
export function revocationEntry(kind: RevocationKind, value: string, atSeconds: number, lifetimeSeconds: number): RevocationEntry {
  if (kind !== 'all' && (value === '' || value.length > MAX_REVOKED_VALUE_CHARS))
    throw new TypeError(`a ${kind} to revoke must be 1 to ${MAX_REVOKED_VALUE_CHARS} characters`);
  // A subject or an email with white space at an edge is a copy-paste slip (`revoke --email "ann@example.com "`):
  // the entry would be reported written and match nobody. Ids (jti, sid) are taken as they are.
  if ((kind === 'sub' || kind === 'email') && value.trim() !== value) throw new TypeError(`a ${kind} to revoke must not begin or end with white space`);
  const at = Math.floor(atSeconds);
  return { kind, key: kind === 'all' ? 'all' : revocationKey(kind, value), at, until: at + Math.ceil(lifetimeSeconds) };
}

/** The one data key of the revocation ConfigMap. */
export const REVOCATIONS_KEY = 'revocations';
const LINE = /^((?:jti|sid|sub|email)\.[A-Za-z0-9_-]{12}|all) (\d{1,12}) (\d{1,12})$/;

/**
 * The list in a ConfigMap's data, merged with `extra` entries (a replica's own writes not yet seen
 * in it). Lines and keys that are not entries are skipped and named in `skipped` (someone edited
 * the object by hand); nothing here throws.
 */
export function parseRevocations(
  data: Readonly<Record<string, string>> | undefined,
  extra: readonly RevocationEntry[] = [],
): { list: RevocationList; skipped: string[] } {
  const entries = new Map<string, RevocationTimes>();
  const skipped: string[] = [];
  let newestAt: number | undefined;
  const add = (key: string, t: RevocationTimes) => {
    const before = entries.get(key);
    // One key twice (an edit, or a write not yet seen in the object): the later revocation wins.
    if (before === undefined || t.at > before.at || (t.at === before.at && t.until > before.until)) entries.set(key, t);
    if (newestAt === undefined || t.at > newestAt) newestAt = t.at;
  };
  for (const key of Object.keys(data ?? {})) if (key !== REVOCATIONS_KEY && skipped.length < 20) skipped.push(`key ${key.slice(0, 80)}`);
  const text = data?.[REVOCATIONS_KEY];
  if (typeof text === 'string') {
    let lineNumber = 0;
    for (const line of text.split('\n')) {
      lineNumber++;
      // A line saved with CRLF (an edit on Windows) is the same entry.
      const entryLine = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (entryLine === '') continue;
      const m = LINE.exec(entryLine);
      if (m === null) {
        if (skipped.length < 20) skipped.push(`line ${lineNumber}`);
        continue;
      }
      add(m[1]!, { at: Number(m[2]), until: Number(m[3]) });
    }
  }
  for (const e of extra) add(e.key, { at: e.at, until: e.until });
  return { list: Object.freeze({ entries, allBefore: entries.get('all'), newestAt }), skipped };
}

/** The `revocations` value for a list: its entries in force, one line each. */
export function formatRevocations(list: RevocationList, nowSeconds: number): string {
  let out = '';
  for (const [key, t] of list.entries) if (t.until > nowSeconds) out += `${key} ${t.at} ${t.until}\n`;
  return out;
}

/** Entries whose time is not over. */
export function liveCount(list: RevocationList, nowSeconds: number): number {
  let n = 0;
  for (const t of list.entries.values()) if (t.until > nowSeconds) n++;
  return n;
}
