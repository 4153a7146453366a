import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { MachineIssuer, Policy } from '../config/policy.js';
import type { CredentialVerifier } from '../core/evaluator.js';
import type { MaybePromise } from '../core/maybe-async.js';
import type { Metrics } from '../metrics/metrics.js';
import { CLOCK_LEEWAY_SECONDS, type Session, SYSTEM_TOKEN_USER, type TokenProblem, type VerifyResult } from '../session/claims.js';
import { type FailedCheck, joseFailure } from '../session/jose-failure.js';
import { TokenMemo } from '../session/token-memo.js';
import { MAX_LIFETIME_SECONDS } from '../session/verifier.js';
import { groupsOf } from './identity.js';
import { createIdpFetch } from './idp-fetch.js';
import { IssuerKeys, type IssuerKeysTiming } from './issuer-keys.js';

/** Asymmetric algorithms only: an HS256 token "signed" with an issuer's public key is never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MEMO_MAX_CHARS = 4 * 1024 * 1024;

export interface MachineTokensOptions extends Partial<IssuerKeysTiming> {
  /** Overall deadline of one discovery or JWKS call (a request waiting for keys waits at most this). */
  readonly fetchTimeoutMs?: number;
}

/** Defaults: a fetch per issuer at most once a minute, keys refreshed every 10 minutes, calls cut off after 5 s. */
export const MACHINE_KEYS_DEFAULTS = { cooldownMs: 60_000, refreshMs: 600_000, fetchTimeoutMs: 5_000 } as const;

/**
 * Builds the machine-token verifier of each applied policy, with the fetches counted in metrics.
 * `previous` (the verifier of the configuration before) lends what did not change: the whole
 * verifier, memo of verified tokens included, when no machine-token setting changed; else each
 * issuer's key set whose issuer and JWKS URI are unchanged, so a reload fetches no key set again.
 */
export interface MachineTokens {
  verifierFor(policy: Policy, previous?: MachineTokenVerifier): MachineTokenVerifier | undefined;
}

/** A machine token's verification; a refusal says which check failed (never any part of the token). */
export type MachineVerifyResult = VerifyResult | { readonly ok: false; readonly problem: TokenProblem; readonly detail: string };

/** JWT access tokens from configured issuers: tried after the Airy session verifier, on a token it says is not HS256. */
export interface MachineTokenVerifier extends CredentialVerifier {
  readonly reason: 'machine_token';
  verify(token: string, nowMs: number): MaybePromise<MachineVerifyResult>;
  /** Every setting the verifier depends on, as text: equal text, equal verifier. */
  readonly settings: string;
  /** The key set of each issuer, by issuer and JWKS URI. */
  readonly keySets: ReadonlyMap<string, IssuerKeys>;
}

export function createMachineTokens(metrics: Metrics, options: MachineTokensOptions = {}): MachineTokens {
  const timing = { ...MACHINE_KEYS_DEFAULTS, ...options };
  const fetch = createIdpFetch('machine-tokens', metrics, (url) => (url.includes('/.well-known/') ? 'discovery' : 'jwks'), timing.fetchTimeoutMs);
  return {
    verifierFor(policy, previous) {
      if (policy.machineIssuers.length === 0) return undefined;
      const settings = JSON.stringify([policy.machineIssuers, policy.machineClaims, policy.groupsClaim, policy.sessionTtlSeconds]);
      if (previous?.settings === settings) return previous;
      const keySets = new Map<string, IssuerKeys>();
      const issuers = policy.machineIssuers.map((issuer: MachineIssuer) => {
        const id = `${issuer.issuer} ${issuer.jwksUri ?? ''}`;
        let keys = keySets.get(id) ?? previous?.keySets.get(id);
        if (keys === undefined) keys = new IssuerKeys(issuer, fetch, timing);
        keySets.set(id, keys);
        return { issuer, keys };
      });
      return machineVerifier(issuers, policy, settings, keySets);
    },
  };
}

/** Which check refused a token, for the request log's `detail`: never any part of the token. */
export type MachineCheck = FailedCheck | 'lifetime';

function refused(problem: TokenProblem, check: MachineCheck, more?: string): MachineVerifyResult {
  return { ok: false, problem, detail: `machine token refused: ${check}${more ? ` (${more})` : ''}` };
}

function refusalOf(err: unknown): MachineVerifyResult {
  const f = joseFailure(err);
  // A key set that cannot be read is reported where it is fetched; here the token is only unreadable.
  if (f.check === 'keys unavailable') return refused('malformed', 'malformed');
  return refused(f.problem, f.check, f.check === 'claims' || f.check === 'issued-at' ? `"${f.claim}"` : undefined);
}

interface Verified {
  readonly session: Session;
  readonly keys: IssuerKeys;
  /** The key set's version it was verified with: another version means verify it again. */
  readonly version: number;
}

/** `email` unless the token says it is not verified: such an address counts as none, as at login. */
function verifiedEmail(payload: Record<string, unknown>, claim: string): string | undefined {
  const mail = payload[claim];
  if (typeof mail !== 'string') return undefined;
  return payload.email_verified === false || payload.email_verified === 'false' ? undefined : mail;
}

/** An issuer as the policy configures it (its audience is the policy's), with its key set (perhaps carried over). */
interface ConfiguredIssuer {
  readonly issuer: MachineIssuer;
  readonly keys: IssuerKeys;
}

function machineVerifier(issuers: ConfiguredIssuer[], policy: Policy, settings: string, keySets: ReadonlyMap<string, IssuerKeys>): MachineTokenVerifier {
  // Keyed by signature, as the session memo is: hashing a whole token of 500 characters and more
  // on every request cost thousands of instructions.
  const memo = new TokenMemo<Verified>(MEMO_MAX_CHARS);
  const { subject, email } = policy.machineClaims;

  async function verifyFirstTime(token: string, nowMs: number): Promise<MachineVerifyResult> {
    let iss: unknown;
    let alg: unknown;
    try {
      iss = decodeJwt(token).iss;
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return refused('malformed', 'malformed');
    }
    if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) return refused('alg_not_allowed', 'algorithm');
    const configured = issuers.find((i) => i.issuer.issuer === iss);
    if (configured === undefined) return refused('bad_claims', 'issuer');
    const { keys } = configured;
    // No keys yet: this request waits for them (within the fetch deadline). Keys due for their
    // scheduled refresh are refreshed in the background: no request waits on a slow issuer for that.
    if (keys.getKey === undefined) await keys.refresh(nowMs);
    else if (keys.due(nowMs)) void keys.refresh(nowMs);
    let payload: Record<string, unknown> | undefined;
    for (let attempt = 0; payload === undefined; attempt++) {
      const version = keys.version;
      const getKey = keys.getKey;
      if (getKey === undefined) return refused('bad_signature', 'unknown key', `no keys from the issuer yet: ${keys.lastError ?? 'not fetched'}`);
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms: ALGORITHMS,
          issuer: configured.issuer.issuer,
          audience: configured.issuer.audience,
          requiredClaims: ['exp'],
          clockTolerance: CLOCK_LEEWAY_SECONDS,
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        // An unknown kid may be a new key at the issuer: fetch again, when the cooldown allows.
        if (attempt === 0 && err instanceof errors.JWKSNoMatchingKey && keys.mayFetch(nowMs)) {
          await keys.refresh(nowMs);
          if (keys.version !== version) continue;
        }
        // Includes an IdP that cannot be reached for an unknown key: refused, cached keys go on.
        return refusalOf(err);
      }
    }
    const sub = payload[subject];
    const { exp, nbf, iat } = payload;
    if (typeof sub !== 'string' || sub === '' || sub === SYSTEM_TOKEN_USER) return refused('bad_claims', 'claims', `"${subject}"`);
    const nowSeconds = Math.floor(nowMs / 1000);
    // The sessions' bound: a token valid for decades is a leaked key's dream, not a machine's need.
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp > nowSeconds + MAX_LIFETIME_SECONDS) return refused('bad_claims', 'lifetime');
    // No longer than a session (sessionTtl): a revocation entry is kept for the session lifetime,
    // so it must outlive every credential it can match, machine tokens included. Both from its
    // issue time and from now (a token without `iat`, or one claiming a future `iat`).
    const ttl = policy.sessionTtlSeconds;
    if (exp - nowSeconds > ttl + CLOCK_LEEWAY_SECONDS || (typeof iat === 'number' && Number.isFinite(iat) && exp - iat > ttl))
      return refused('bad_claims', 'lifetime', `valid for longer than sessionTtl (${ttl} s)`);
    const session: Session = {
      sub,
      email: verifiedEmail(payload, email),
      groups: groupsOf(payload[policy.groupsClaim]),
      exp,
      nbf: typeof nbf === 'number' ? nbf : undefined,
      iat: typeof iat === 'number' ? iat : undefined,
    };
    memo.set(token, { session, keys, version: keys.version });
    return { ok: true, session };
  }

  return {
    reason: 'machine_token',
    cookies: false,
    settings,
    keySets,
    verify(token, nowMs) {
      const known = memo.get(token);
      // Verified with the key set still in force: answered from memory (a refresh that falls due
      // starts in the background; a new key set makes every entry verify again).
      if (known !== undefined && known.version === known.keys.version) {
        if (known.keys.due(nowMs)) void known.keys.refresh(nowMs);
        // Time claims are checked on every request, as for sessions.
        const now = Math.floor(nowMs / 1000);
        if (known.session.exp + CLOCK_LEEWAY_SECONDS <= now) return refused('expired', 'expiry');
        return { ok: true, session: known.session };
      }
      return verifyFirstTime(token, nowMs);
    },
  };
}
