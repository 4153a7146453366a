import { createRemoteJWKSet, customFetch, decodeJwt, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { MachineIssuer, Policy } from '../config/policy.js';
import type { MachineTokenVerifier } from '../core/machine-token.js';
import type { Metrics } from '../metrics/metrics.js';
import { CLOCK_LEEWAY_SECONDS, type Session, SYSTEM_TOKEN_USER, type TokenProblem, type VerifyResult } from '../session/claims.js';
import { TokenMemo } from '../session/token-memo.js';
import { groupsOf } from './identity.js';
import { createIdpFetch, type IdpFetch } from './idp-fetch.js';

/** Asymmetric algorithms only: an HS256 token "signed" with an issuer's public key is never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** An unknown `kid` refetches the JWKS at most this often; keys already fetched stay while the IdP is down. */
const REFETCH_COOLDOWN_MS = 60_000;
const MEMO_MAX_CHARS = 4 * 1024 * 1024;

/** Verifiers per compiled policy: built once per config, reused while it is in force. */
export interface MachineTokens {
  forPolicy(policy: Policy): MachineTokenVerifier | undefined;
}

export function createMachineTokens(metrics: Metrics): MachineTokens {
  const perPolicy = new WeakMap<Policy, MachineTokenVerifier>();
  // Key sets are kept across reloads per issuer and JWKS URI, so a reload does not refetch them.
  const keySets = new Map<string, IssuerKeys>();
  const fetch = createIdpFetch('machine-tokens', metrics, (url) => (url.includes('/.well-known/') ? 'discovery' : 'jwks'));
  return {
    forPolicy(policy) {
      if (policy.machineIssuers.length === 0) return undefined;
      let verifier = perPolicy.get(policy);
      if (!verifier) {
        const issuers = policy.machineIssuers.map((i) => {
          const id = `${i.issuer} ${i.jwksUri ?? ''}`;
          let keys = keySets.get(id);
          if (!keys) {
            keys = issuerKeys(i, fetch);
            keySets.set(id, keys);
          }
          return { config: i, keys };
        });
        verifier = machineVerifier(issuers, policy);
        perPolicy.set(policy, verifier);
      }
      return verifier;
    },
  };
}

type IssuerKeys = () => Promise<JWTVerifyGetKey>;

/** The issuer's JWKS, from jwkSetUri or discovery; a failed discovery is tried again on the next token. */
function issuerKeys(issuer: MachineIssuer, fetch: IdpFetch): IssuerKeys {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const options = { cooldownDuration: REFETCH_COOLDOWN_MS, cacheMaxAge: Number.POSITIVE_INFINITY, [customFetch]: fetch as never };
  return () => {
    keys ??= (async () => {
      let uri = issuer.jwksUri;
      if (uri === undefined) {
        const res = await fetch(`${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
        const md = res.ok ? ((await res.json()) as { jwks_uri?: unknown }) : undefined;
        if (typeof md?.jwks_uri !== 'string') throw new Error(`discovery at ${issuer.issuer} gave no jwks_uri (HTTP ${res.status})`);
        uri = md.jwks_uri;
      }
      return createRemoteJWKSet(new URL(uri), options);
    })().catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return keys;
  };
}

function problemOf(err: unknown): TokenProblem {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'bad_signature';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'nbf' ? 'not_yet_valid' : 'bad_claims';
  return 'malformed';
}

function machineVerifier(issuers: { config: MachineIssuer; keys: IssuerKeys }[], policy: Policy): MachineTokenVerifier {
  // Keyed by signature, as the session memo is: hashing a whole token of 500 characters and more
  // on every request cost thousands of instructions.
  const memo = new TokenMemo<Session>(MEMO_MAX_CHARS);
  const { subject, email } = policy.machineClaims;

  async function verifyFirstTime(token: string, nowMs: number): Promise<VerifyResult> {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, problem: 'malformed' };
    }
    const issuer = issuers.find((i) => i.config.issuer === iss);
    if (issuer === undefined) return { ok: false, problem: 'bad_claims' };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await issuer.keys(), {
        algorithms: ALGORITHMS,
        issuer: issuer.config.issuer,
        audience: issuer.config.audience,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_LEEWAY_SECONDS,
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      // Includes an IdP that cannot be reached for an unknown key: refused, cached keys go on.
      return { ok: false, problem: problemOf(err) };
    }
    const sub = payload[subject];
    const mail = payload[email];
    const { exp, nbf, iat } = payload;
    if (typeof sub !== 'string' || sub === '' || sub === SYSTEM_TOKEN_USER || typeof exp !== 'number' || !Number.isFinite(exp)) {
      return { ok: false, problem: 'bad_claims' };
    }
    const session: Session = {
      sub,
      email: typeof mail === 'string' ? mail : undefined,
      groups: groupsOf(payload[policy.groupsClaim]),
      exp,
      nbf: typeof nbf === 'number' ? nbf : undefined,
      iat: typeof iat === 'number' ? iat : undefined,
    };
    memo.set(token, session);
    return { ok: true, session };
  }

  return {
    verify(token, nowMs) {
      const known = memo.get(token);
      if (known !== undefined) {
        // Time claims are checked on every request, as for sessions.
        const now = Math.floor(nowMs / 1000);
        if (known.exp + CLOCK_LEEWAY_SECONDS <= now) return { ok: false, problem: 'expired' };
        return { ok: true, session: known };
      }
      return verifyFirstTime(token, nowMs);
    },
  };
}
