import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { MachineIssuer } from '../config/policy.js';
import type { IdpFetch } from './idp-fetch.js';

export interface IssuerKeysTiming {
  /** No two fetches of one issuer's keys start closer together than this, whatever their outcome. */
  readonly cooldownMs: number;
  /** Keys older than this are fetched again, so a key removed at the issuer stops working. */
  readonly refreshMs: number;
}

/**
 * An issuer's JWKS, fetched by airy-auth itself (from jwkSetUri, or the jwks_uri discovery names).
 *
 * Every fetch attempt, failed or not, starts the cooldown: an unknown `kid`, or keys due for their
 * scheduled refresh, cause a fetch only when the last attempt is older than `cooldownMs`, so a
 * stranger sending tokens with made-up kids against an issuer that answers 500 causes one fetch
 * a minute, not one per token. The last good key set stays in use while the issuer is down.
 * `version` changes when a fetch brings a different key set, so a memo of tokens verified with
 * the old set knows to verify them again.
 */
export class IssuerKeys {
  #set: { getKey: JWTVerifyGetKey; text: string; fetchedMs: number } | undefined;
  #lastAttemptMs = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  #version = 0;
  /** Why the last fetch failed (secret-free), for the refusal's detail. */
  lastError: string | undefined;

  constructor(
    readonly issuer: MachineIssuer,
    private readonly fetch: IdpFetch,
    private readonly timing: IssuerKeysTiming,
  ) {}

  get version(): number {
    return this.#version;
  }

  get getKey(): JWTVerifyGetKey | undefined {
    return this.#set?.getKey;
  }

  /** A fetch is due: no keys yet or keys past their refresh time, and the cooldown is over. */
  due(nowMs: number): boolean {
    const stale = this.#set === undefined || nowMs - this.#set.fetchedMs >= this.timing.refreshMs;
    return stale && this.mayFetch(nowMs);
  }

  mayFetch(nowMs: number): boolean {
    return this.#pending !== undefined || nowMs - this.#lastAttemptMs >= this.timing.cooldownMs || nowMs < this.#lastAttemptMs;
  }

  /** Fetches the key set when the cooldown allows (sharing a fetch already under way); never throws. */
  refresh(nowMs: number): Promise<void> {
    if (this.#pending) return this.#pending;
    if (!this.mayFetch(nowMs)) return Promise.resolve();
    this.#lastAttemptMs = nowMs;
    this.#pending = this.#fetchKeys(nowMs).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetchKeys(nowMs: number): Promise<void> {
    try {
      const uri = this.issuer.jwksUri ?? (await this.#discover());
      const res = await this.fetch(uri, { headers: { accept: 'application/json' }, redirect: 'manual' });
      if (!res.ok) throw new Error(`the JWKS at ${new URL(uri).origin} answered HTTP ${res.status}`);
      const text = await res.text();
      const jwks = JSON.parse(text) as JSONWebKeySet;
      if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw new Error('the JWKS has no "keys" list');
      if (this.#set?.text !== text) this.#version++;
      this.#set = { getKey: createLocalJWKSet(jwks), text, fetchedMs: nowMs };
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : 'unknown error';
    }
  }

  async #discover(): Promise<string> {
    const res = await this.fetch(`${this.issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
    });
    const md = res.ok ? ((await res.json()) as { jwks_uri?: unknown }) : undefined;
    if (typeof md?.jwks_uri !== 'string') throw new Error(`discovery at ${this.issuer.issuer} gave no jwks_uri (HTTP ${res.status})`);
    return md.jwks_uri;
  }
}
