import { errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { CLOCK_LEEWAY_SECONDS } from '../session/claims.js';
import { joseFailure } from '../session/jose-failure.js';
import { IssuerKeys } from './issuer-keys.js';
import type { ProviderClient } from './provider-client.js';

/** The event a logout token must carry (OIDC Back-Channel Logout 1.0, 2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Asymmetric only: a provider signs with its private key; HS* would let anyone holding the client secret forge one. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** A logout token issued longer ago than this is refused: it is sent at once, and this bounds the replay memory. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 300;
const MAX_ID_CHARS = 255;

/** Who a verified logout token logs out: the provider's session (`sid`), or every session of `sub`. */
export interface LogoutClaims {
  readonly jti: string;
  readonly iat: number;
  readonly sid: string | undefined;
  readonly sub: string | undefined;
}

export type LogoutTokenProblem = 'malformed' | 'alg_not_allowed' | 'bad_signature' | 'bad_claims' | 'too_old' | 'not_a_logout_token' | 'keys_unavailable';

export type LogoutTokenResult =
  | { readonly ok: true; readonly claims: LogoutClaims }
  | { readonly ok: false; readonly problem: LogoutTokenProblem; readonly detail: string };

/**
 * The endpoint is open to anyone, so what a stranger's token can make airy-auth fetch is bounded
 * as for machine tokens: the provider's keys are an IssuerKeys (one fetch attempt per minute
 * whatever its outcome, the last good keys kept, a refresh every 10 minutes), and a failed
 * discovery is not tried again for a minute.
 */
const KEYS_TIMING = { cooldownMs: 60_000, refreshMs: 600_000 };
const DISCOVERY_COOLDOWN_MS = 60_000;

interface ProviderKeyState {
  keys: IssuerKeys | undefined;
  discoveryFailedMs: number | undefined;
  discoveryError: string | undefined;
}
/** Per client, so the keys survive a config reload that keeps the provider's client. */
const keyStates = new WeakMap<ProviderClient, ProviderKeyState>();

/** The provider's signing keys (its jwks_uri, through the provider's fetch), kept per provider settings. */
async function providerKeys(pc: ProviderClient, nowMs: number): Promise<{ issuer: string; keys: IssuerKeys }> {
  let state = keyStates.get(pc);
  if (state === undefined) {
    state = { keys: undefined, discoveryFailedMs: undefined, discoveryError: undefined };
    keyStates.set(pc, state);
  }
  const failed = state.discoveryFailedMs;
  if (failed !== undefined && nowMs - failed < DISCOVERY_COOLDOWN_MS && nowMs >= failed)
    throw new Error(`discovery failed less than a minute ago (${state.discoveryError ?? 'unknown'})`);
  let md: ReturnType<Awaited<ReturnType<ProviderClient['configuration']>>['serverMetadata']>;
  try {
    md = (await pc.configuration()).serverMetadata();
    state.discoveryFailedMs = undefined;
  } catch (err) {
    state.discoveryFailedMs = nowMs;
    state.discoveryError = err instanceof Error ? err.message.slice(0, 200) : 'unknown';
    throw err;
  }
  if (!md.jwks_uri) throw new Error('the provider publishes no jwks_uri');
  if (state.keys?.issuer.jwksUri !== md.jwks_uri) {
    state.keys = new IssuerKeys({ issuer: md.issuer, audience: pc.settings.clientId, jwksUri: md.jwks_uri }, pc.fetch, KEYS_TIMING);
  }
  return { issuer: md.issuer, keys: state.keys };
}

/**
 * Verifies a logout token as OIDC Back-Channel Logout 1.0 (2.6) says: signed by the provider's
 * keys with an asymmetric algorithm, `iss` the provider, `aud` this client, `iat` recent, a `jti`,
 * the back-channel logout event, `sid` or `sub`, and no `nonce` (which would make it an ID token).
 * The `jti` replay check is the caller's.
 */
export async function verifyLogoutToken(token: string, pc: ProviderClient, nowMs: number): Promise<LogoutTokenResult> {
  let issuer: string;
  let keys: IssuerKeys;
  try {
    ({ issuer, keys } = await providerKeys(pc, nowMs));
  } catch (err) {
    return {
      ok: false,
      problem: 'keys_unavailable',
      detail: `the provider's keys cannot be read: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
    };
  }
  // No keys yet: this request waits for them (within the fetch deadline); keys due for their
  // refresh are refreshed in the background.
  if (keys.getKey === undefined) await keys.refresh(nowMs);
  else if (keys.due(nowMs)) void keys.refresh(nowMs);
  let payload: Record<string, unknown> | undefined;
  let typ: string | undefined;
  for (let attempt = 0; payload === undefined; attempt++) {
    const getKey: JWTVerifyGetKey | undefined = keys.getKey;
    if (getKey === undefined)
      return { ok: false, problem: 'keys_unavailable', detail: `the provider's keys cannot be read: ${keys.lastError ?? 'not fetched'}`.slice(0, 300) };
    try {
      const verified = await jwtVerify(token, getKey, {
        algorithms: ALGORITHMS,
        issuer,
        audience: pc.settings.clientId,
        requiredClaims: ['iat', 'jti'],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        clockTolerance: CLOCK_LEEWAY_SECONDS,
        currentDate: new Date(nowMs),
      });
      payload = verified.payload as Record<string, unknown>;
      typ = verified.protectedHeader.typ;
    } catch (err) {
      // An unknown kid: the provider may have rotated its keys; fetch once, if the cooldown allows.
      if (attempt === 0 && err instanceof errors.JWKSNoMatchingKey && keys.mayFetch(nowMs)) {
        await keys.refresh(nowMs);
        continue;
      }
      return problemOf(err);
    }
  }
  // "logout+jwt" is the type the spec recommends; a plain JWT (or none) is what most providers send.
  if (typ !== undefined && !/^(application\/)?(logout\+jwt|jwt)$/i.test(typ))
    return { ok: false, problem: 'not_a_logout_token', detail: `typ "${typ.slice(0, 40)}"` };
  const events = payload.events;
  const event =
    typeof events === 'object' && events !== null && !Array.isArray(events) ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return { ok: false, problem: 'not_a_logout_token', detail: 'no back-channel logout event' };
  if (payload.nonce !== undefined) return { ok: false, problem: 'not_a_logout_token', detail: 'a nonce (an ID token, not a logout token)' };
  const sid = idClaim(payload.sid);
  const sub = idClaim(payload.sub);
  const jti = idClaim(payload.jti);
  if ((payload.sid !== undefined && sid === undefined) || (payload.sub !== undefined && sub === undefined) || jti === undefined)
    return { ok: false, problem: 'bad_claims', detail: 'sid, sub or jti is not a string of 1 to 255 characters' };
  if (sid === undefined && sub === undefined) return { ok: false, problem: 'bad_claims', detail: 'neither sid nor sub' };
  return { ok: true, claims: { jti, iat: payload.iat as number, sid, sub } };
}

function idClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v.length <= MAX_ID_CHARS ? v : undefined;
}

function problemOf(err: unknown): LogoutTokenResult {
  const detail = err instanceof Error ? err.message.slice(0, 200) : 'unknown';
  const f = joseFailure(err);
  if (f.check === 'expiry' || f.check === 'issued-at') return { ok: false, problem: 'too_old', detail };
  if (f.check === 'keys unavailable') return { ok: false, problem: 'keys_unavailable', detail };
  if (f.problem === 'alg_not_allowed' || f.problem === 'bad_signature' || f.problem === 'bad_claims' || f.problem === 'malformed')
    return { ok: false, problem: f.problem, detail };
  // not_yet_valid: a logout token has no nbf to speak of; one in the future is a bad claim.
  return { ok: false, problem: 'bad_claims', detail };
}

/**
 * The `jti`s of logout tokens already taken, until they are too old to be accepted anyway. A
 * replay to another replica only records the same revocation again.
 */
export class LogoutReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  /** True the first time a jti is seen (and it is remembered); false for a replay. */
  firstUse(jti: string, iat: number, nowSeconds: number): boolean {
    for (const [k, until] of this.#seen) {
      if (until > nowSeconds && this.#seen.size < this.max) break;
      this.#seen.delete(k);
    }
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, Math.max(iat, nowSeconds) + LOGOUT_TOKEN_MAX_AGE_SECONDS + CLOCK_LEEWAY_SECONDS);
    return true;
  }

  /** The revocation was not recorded: the provider's retry of this token must be taken. */
  forget(jti: string): void {
    this.#seen.delete(jti);
  }
}
