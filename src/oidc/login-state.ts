import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/** How long a started login may take before the callback refuses it. */
export const LOGIN_STATE_TTL_SECONDS = 600;
const STATE_COOKIE_PREFIX = 'airy_auth_state_';

/** What the callback needs from the start of the login; kept in the browser, not on a server. */
export interface LoginState {
  readonly state: string;
  readonly nonce: string | undefined;
  readonly codeVerifier: string;
  readonly rd: string;
  readonly provider: string;
  readonly redirectUri: string;
}

const stateKeys = new WeakMap<KeyObject, KeyObject>();

/** A key of its own for login state, derived from jwtSecret, so a state blob is never a session. */
function stateKey(sessionKey: KeyObject): KeyObject {
  let key = stateKeys.get(sessionKey);
  if (!key) {
    key = createSecretKey(Buffer.from(hkdfSync('sha256', sessionKey.export(), Buffer.alloc(0), 'airy-auth login state v1', 32)));
    stateKeys.set(sessionKey, key);
  }
  return key;
}

/**
 * Seals the login state into an encrypted, authenticated JWT (dir + A256GCM): the browser holds
 * it for any replica to finish the login, but can neither read the PKCE verifier nor change rd.
 */
export async function sealLoginState(sessionKey: KeyObject, state: LoginState, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new EncryptJWT({ ...state })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOGIN_STATE_TTL_SECONDS)
    .encrypt(stateKey(sessionKey));
}

export type OpenedState = { ok: true; state: LoginState } | { ok: false; problem: 'expired' | 'invalid' };

export async function openLoginState(sessionKey: KeyObject, sealed: string, nowMs: number): Promise<OpenedState> {
  try {
    const { payload } = await jwtDecrypt(sealed, stateKey(sessionKey), {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
    });
    const { state, nonce, codeVerifier, rd, provider, redirectUri } = payload;
    if (
      typeof state !== 'string' ||
      typeof codeVerifier !== 'string' ||
      typeof rd !== 'string' ||
      typeof provider !== 'string' ||
      typeof redirectUri !== 'string'
    ) {
      return { ok: false, problem: 'invalid' };
    }
    if (nonce !== undefined && typeof nonce !== 'string') return { ok: false, problem: 'invalid' };
    return { ok: true, state: { state, nonce, codeVerifier, rd, provider, redirectUri } };
  } catch (err) {
    return { ok: false, problem: (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid' };
  }
}

/**
 * Login state cookies go to the callback path only, where the browser sends all of them at once.
 * A login that is never finished leaves its cookie for 10 minutes, so the names come from a few
 * slots chosen by the state: abandoned logins reuse slots instead of piling up, and two tabs
 * logging in at once usually get different slots. With each cookie at most
 * STATE_COOKIE_MAX_BYTES, the Cookie header at the callback stays well under the 8 KB a header
 * line may have in nginx, and each cookie under the browsers' 4096 bytes.
 */
export const STATE_COOKIE_SLOTS = 3;
export const STATE_COOKIE_MAX_BYTES = 2000;

export function stateCookieName(state: string): string {
  let h = 0;
  for (let i = 0; i < state.length; i++) h = (h * 31 + state.charCodeAt(i)) >>> 0;
  return `${STATE_COOKIE_PREFIX}${h % STATE_COOKIE_SLOTS}`;
}
