import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import type { LoginProvider, Policy } from '../config/policy.js';
import { type LogoutClaims, LogoutReplayGuard, verifyLogoutToken } from '../oidc/logout-token.js';
import { providerClientOf } from '../oidc/provider-clients.js';
import { type RevocationEntry, revocationEntry } from '../session/revocation-list.js';
import type { Handler } from './deps.js';

/** A logout token is a few hundred bytes; a form body larger than this is not one. */
const MAX_BODY_BYTES = 16 * 1024;
const replays = new LogoutReplayGuard();

function answer(res: ServerResponse, status: number, body?: { error: string; error_description: string }, extra: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(text)),
    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...extra,
  });
  res.end(text);
}

/** The form body, or undefined when it is larger than the limit (the rest is not read). */
function readForm(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * POST /backchannel-logout: OIDC Back-Channel Logout 1.0. The provider posts a signed logout token
 * when a person logs out there (or is logged out); the sessions minted from that provider session
 * (`sid`), or else every session of that subject, are revoked through the revocation ConfigMap, so
 * the logout reaches every replica. The token is the only credential: nothing else in the request
 * is trusted. 200 when recorded; 400 for a token that is not valid (or replayed); 504 when it
 * applies on this replica but could not be written for the others (the provider may send it again).
 */
export const backchannelLogout: Handler = async (req, res, deps) => {
  if (req.method !== 'POST') return answer(res, 405, { error: 'invalid_request', error_description: 'POST only' }, { Allow: 'POST' });
  const policy = deps.policies.current;
  if (policy === undefined) return answer(res, 503, { error: 'temporarily_unavailable', error_description: 'no valid config loaded' });
  const oidcProviders = [...policy.providers.values()].filter((p) => p.settings.protocol === 'oidc');
  if (oidcProviders.length === 0 || deps.revocations === undefined) {
    return answer(res, 501, { error: 'invalid_request', error_description: 'back-channel logout needs an OIDC provider and serve --revocations' });
  }
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return answer(res, 400, { error: 'invalid_request', error_description: 'expected a form body' });
  const body = await readForm(req);
  const tokens = body === undefined ? [] : new URLSearchParams(body).getAll('logout_token');
  if (tokens.length !== 1) return refuse(res, deps, 'malformed', 'expected exactly one logout_token (of at most 16 KB)');

  const candidates = issuingProviders(tokens[0]!, oidcProviders);
  if (candidates.length === 0) return refuse(res, deps, 'bad_claims', "the token's iss is not the issuer of a configured OpenID Connect provider");
  const nowMs = deps.now();
  // Two providers may be two clients of one issuer: the one whose client id the token is for (its
  // audience, checked with its keys) is the provider; the first refusal is the answer when none is.
  let provider: LoginProvider | undefined;
  let claims: LogoutClaims | undefined;
  let refusal: { problem: string; detail: string } | undefined;
  for (const candidate of candidates) {
    const verified = await verifyLogoutToken(tokens[0]!, providerClientOf(policy, candidate.name, { metrics: deps.metrics })!, nowMs);
    if (verified.ok) {
      provider = candidate;
      claims = verified.claims;
      break;
    }
    refusal ??= verified;
  }
  if (provider === undefined || claims === undefined) return refuse(res, deps, refusal!.problem, refusal!.detail);
  const nowSeconds = Math.floor(nowMs / 1000);
  let entry: RevocationEntry;
  if (claims.sid !== undefined) entry = revocationEntry('sid', claims.sid, nowSeconds, policy.sessionTtlSeconds);
  else if (provider.settings.userNameAttribute === 'sub') {
    // A subject with white space at an edge names no session (revocationEntry refuses it).
    if (claims.sub!.trim() !== claims.sub) return refuse(res, deps, 'bad_claims', 'sub begins or ends with white space');
    entry = revocationEntry('sub', claims.sub!, nowSeconds, policy.sessionTtlSeconds);
  } else {
    // Sessions name their user by another attribute: a bare `sub` names none of them.
    return refuse(
      res,
      deps,
      'bad_claims',
      `the token has no sid, and sessions are not named by sub (userNameAttributeName is ${provider.settings.userNameAttribute})`,
    );
  }
  if (!replays.firstUse(claims.jti, claims.iat, nowSeconds)) return refuse(res, deps, 'replayed', 'this logout token was already used');

  try {
    await deps.revocations.record([entry]);
  } catch (err) {
    replays.forget(claims.jti);
    deps.logger.log('error', 'back-channel logout applied on this replica only: the revocation list could not be written', {
      provider: provider.name,
      by: entry.kind,
      error: err instanceof Error ? err.message.slice(0, 200) : String(err),
    });
    return answer(res, 504, {
      error: 'temporarily_unavailable',
      error_description: 'logged out on this replica only; the revocation could not be written for the others',
    });
  }
  deps.metrics.logins.inc({ provider: provider.name, result: 'backchannel_logout' });
  deps.logger.log('info', 'back-channel logout recorded', {
    provider: provider.name,
    by: entry.kind,
    key: entry.key,
    ...(claims.sub ? { user: claims.sub } : {}),
  });
  answer(res, 200);
};

/**
 * The providers whose logout token this may be, by its `iss` (read before the signature is
 * checked, only to choose whose keys check it): the one OpenID Connect provider, or those whose
 * issuerUri it names. The token is then verified against those alone.
 */
function issuingProviders(token: string, providers: readonly LoginProvider[]): readonly LoginProvider[] {
  if (providers.length === 1) return providers;
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return [];
  }
  if (typeof iss !== 'string') return [];
  const bare = (u: string) => u.replace(/\/+$/, '');
  return providers.filter((p) => p.settings.issuerUri !== undefined && bare(p.settings.issuerUri) === bare(iss));
}

/** The metric label of a refusal: the one provider, else none (a refused token names no provider it may be trusted for). */
function refusalLabel(policy: Policy | undefined): string {
  return policy?.providers.size === 1 ? policy.providers.keys().next().value! : 'none';
}

function refuse(res: ServerResponse, deps: Parameters<Handler>[2], problem: string, detail: string): void {
  deps.metrics.logins.inc({ provider: refusalLabel(deps.policies.current), result: `backchannel_${problem}` });
  deps.logger.log('warn', 'back-channel logout refused', { reason: problem, detail });
  answer(res, 400, { error: 'invalid_request', error_description: `logout token refused: ${problem}` });
}
