import { createHash, createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
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

const derivedKeys = new Map<string, WeakMap<KeyObject, KeyObject>>();

/** A key of its own per purpose, derived from jwtSecret, so a sealed blob is never a session (nor the other blob). */
function derivedKey(sessionKey: KeyObject, purpose: string): KeyObject {
  let perKey = derivedKeys.get(purpose);
  if (!perKey) {
    perKey = new WeakMap();
    derivedKeys.set(purpose, perKey);
  }
  let key = perKey.get(sessionKey);
  if (!key) {
    key = createSecretKey(Buffer.from(hkdfSync('sha256', sessionKey.export(), Buffer.alloc(0), purpose, 32)));
    perKey.set(sessionKey, key);
  }
  return key;
}

const stateKey = (sessionKey: KeyObject) => derivedKey(sessionKey, 'airy-auth login state v1');
const refreshKey = (sessionKey: KeyObject) => derivedKey(sessionKey, 'airy-auth refresh token v1');
const logoutKey = (sessionKey: KeyObject) => derivedKey(sessionKey, 'airy-auth logout ticket v1');

/**
 * The refresh token cookie: sent only to the login paths, where a session is renewed (and, at the
 * end of a logout, revoked); the apps behind the gateway never see it.
 */
export const REFRESH_COOKIE = 'airy_auth_refresh';
export const REFRESH_COOKIE_PATH = '/login';

/** Encrypted and authenticated (dir + A256GCM), with an expiry: the browser holds it but can neither read nor change it. */
async function seal(key: KeyObject, payload: Record<string, unknown>, ttlSeconds: number, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .encrypt(key);
}

type Opened = { ok: true; payload: Record<string, unknown> } | { ok: false; problem: 'expired' | 'invalid' };

/** The payload of `seal`, or why it is not usable; nothing here throws. */
async function open(key: KeyObject, sealed: string, nowMs: number): Promise<Opened> {
  try {
    const { payload } = await jwtDecrypt(sealed, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
    });
    return { ok: true, payload };
  } catch (err) {
    return { ok: false, problem: (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid' };
  }
}

/** A sealed refresh token, and when the person logged in (seconds), carried through every renewal. */
export interface SealedRefresh {
  readonly refreshToken: string;
  /** The login with the provider this token comes from: `sessionsNotBefore` refuses it when older. Undefined in cookies of older versions. */
  readonly loginTime: number | undefined;
  /** The `jti` of the session issued with this cookie: the revocation list's `jti` entry for it refuses the renewal. */
  readonly jti?: string | undefined;
  /** The provider session (`sid`) of the login: a back-channel logout of it refuses the renewal. */
  readonly sid?: string | undefined;
  /** The provider that issued the token, which alone may renew or revoke it. Undefined in cookies of older versions. */
  readonly provider?: string | undefined;
}

/** Seals the provider's refresh token for its cookie, with the time of the login it comes from and the session it goes with. */
export function sealRefreshToken(sessionKey: KeyObject, refresh: SealedRefresh, ttlSeconds: number, nowMs: number): Promise<string> {
  return seal(
    refreshKey(sessionKey),
    {
      rt: refresh.refreshToken,
      ...(refresh.loginTime === undefined ? {} : { lt: refresh.loginTime }),
      ...(refresh.jti === undefined ? {} : { jti: refresh.jti }),
      ...(refresh.sid === undefined ? {} : { sid: refresh.sid }),
      ...(refresh.provider === undefined ? {} : { idp: refresh.provider }),
    },
    ttlSeconds,
    nowMs,
  );
}

const idValue = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' && v.length <= 1024 ? v : undefined);

export async function openRefreshToken(sessionKey: KeyObject, sealed: string, nowMs: number): Promise<SealedRefresh | undefined> {
  const opened = await open(refreshKey(sessionKey), sealed, nowMs);
  if (!opened.ok || typeof opened.payload.rt !== 'string') return undefined;
  const lt = opened.payload.lt;
  return {
    refreshToken: opened.payload.rt,
    loginTime: typeof lt === 'number' && Number.isFinite(lt) ? lt : undefined,
    jti: idValue(opened.payload.jti),
    sid: idValue(opened.payload.sid),
    provider: idValue(opened.payload.idp),
  };
}

/** How long a logout ticket is valid. */
const LOGOUT_TICKET_TTL_SECONDS = 60;

/**
 * A logout handed from /logout (of any host) to /login of the login host, where the refresh
 * cookie is sent: sealed, one minute, and bound to the session cookie the browser holds (its
 * SHA-256), so only that browser can use it: a ticket someone got for their own session logs
 * nobody else out.
 */
export function sealLogoutTicket(sessionKey: KeyObject, sessionCookie: string, nowMs: number): Promise<string> {
  return seal(logoutKey(sessionKey), { h: sessionDigest(sessionCookie) }, LOGOUT_TICKET_TTL_SECONDS, nowMs);
}

/** Whether `ticket` was sealed for one of these session cookies, within the last minute. */
export async function logoutTicketMatches(sessionKey: KeyObject, ticket: string, sessionCookies: readonly string[], nowMs: number): Promise<boolean> {
  const opened = await open(logoutKey(sessionKey), ticket, nowMs);
  if (!opened.ok || typeof opened.payload.h !== 'string') return false;
  const sealed = Buffer.from(opened.payload.h, 'base64url');
  return sessionCookies.some((c) => {
    const digest = Buffer.from(sessionDigest(c), 'base64url');
    return digest.length === sealed.length && timingSafeEqual(digest, sealed);
  });
}

function sessionDigest(sessionCookie: string): string {
  return createHash('sha256').update(sessionCookie).digest('base64url');
}

/** Seals the login state: any replica can finish the login, and the browser can neither read the PKCE verifier nor change rd. */
export function sealLoginState(sessionKey: KeyObject, state: LoginState, nowMs: number): Promise<string> {
  return seal(stateKey(sessionKey), { ...state }, LOGIN_STATE_TTL_SECONDS, nowMs);
}

export type OpenedState = { ok: true; state: LoginState } | { ok: false; problem: 'expired' | 'invalid' };

export async function openLoginState(sessionKey: KeyObject, sealed: string, nowMs: number): Promise<OpenedState> {
  const opened = await open(stateKey(sessionKey), sealed, nowMs);
  if (!opened.ok) return opened;
  const { state, nonce, codeVerifier, rd, provider, redirectUri } = opened.payload;
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

/** Every name a login state cookie can have, so logout can clear them all. */
export const STATE_COOKIE_NAMES: readonly string[] = Array.from({ length: STATE_COOKIE_SLOTS }, (_, i) => `${STATE_COOKIE_PREFIX}${i}`);

export function stateCookieName(state: string): string {
  let h = 0;
  for (let i = 0; i < state.length; i++) h = (h * 31 + state.charCodeAt(i)) >>> 0;
  return `${STATE_COOKIE_PREFIX}${h % STATE_COOKIE_SLOTS}`;
}
