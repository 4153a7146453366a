import type { KeyObject } from 'node:crypto';
import type { SessionVerifier } from '../session/verifier.js';
import type { EmailMatcher } from './emails.js';
import type { SettingKey } from './keys.js';
import type { OidcSettings } from './oidc-settings.js';
import type { OriginMatcher } from './origins.js';
import type { PathMatcher } from './public-paths.js';
import type { HostMatcher } from './redirect-domains.js';
import type { RouteRules } from './route-rules.js';
import type { SecretDigest } from './secret-digest.js';

/**
 * A validated, compiled configuration. Built once per config version by `compilePolicy` (no I/O),
 * then only read. Swapping in a new Policy is the whole of a reload.
 */
export interface Policy {
  /** Off only by the seed's rule: neither (systemToken and jwtSecret) nor OIDC is configured. */
  readonly enabled: boolean;
  /** Why auth is off, in words for the loud warning; undefined when on. */
  readonly disabledBecause: string | undefined;
  readonly systemToken: SecretDigest | undefined;
  readonly sessionKey: KeyObject | undefined;
  readonly sessions: SessionVerifier | undefined;
  readonly origins: OriginMatcher;
  readonly emails: EmailMatcher | undefined;
  readonly publicPaths: PathMatcher;
  /**
   * The login providers, in config order: `security.providers`, or the one `security.oidc` names
   * (keyed by its `provider`). Empty when login is off.
   */
  readonly providers: ReadonlyMap<string, LoginProvider>;
  /** `allowedProviders`: a session must come from one of them (undefined: any configured provider). */
  readonly allowedProviders: ReadonlySet<string> | undefined;
  /** `scheme://host` that pins login redirects, when configured. */
  readonly publicUrl: string | undefined;
  /** `allowedGroups`: a session must be in one of them (undefined: no group rule). */
  readonly groups: ReadonlySet<string> | undefined;
  /** Named policies and the auth URL's query rules, resolved per route. */
  readonly routeRules: RouteRules;
  /** Hosts a login may return to besides its own and allowedOrigins (one login for several hosts). */
  readonly redirectDomains: HostMatcher;
  /** Domain attribute of the session cookie (no leading dot); undefined: host-only, as Airy Core. */
  readonly cookieDomain: string | undefined;
  /** Issuers whose JWT access tokens machines may present; empty: machine tokens are off. */
  readonly machineIssuers: readonly MachineIssuer[];
  /** Which claims of a machine token name the caller and its email. */
  readonly machineClaims: { readonly subject: string; readonly email: string };
  /** Sessions revoked without a secret rotation; undefined when none is. */
  readonly revocation: Revocation | undefined;
  /** The global claim that carries groups at login (a provider may name its own). */
  readonly groupsClaim: string;
  /** CORS preflights from allowed origins pass without credentials. */
  readonly skipPreflight: boolean;
  readonly sessionTtlSeconds: number;
  /** The global sessionRecheck in seconds (a provider may set its own); undefined: not re-checked with the provider. */
  readonly sessionRecheckSeconds: number | undefined;
  readonly loginSuccessUrl: string;
  readonly logoutSuccessUrl: string;
  /** A hash per set key, to name changed keys on reload without ever logging a value. */
  readonly fingerprint: ReadonlyMap<SettingKey, string>;
}

/** One login provider, compiled: its settings and the rules for the sessions it signs. */
export interface LoginProvider {
  /** The callback path segment, the session's `idp` claim, a metric label. */
  readonly name: string;
  readonly displayName: string;
  readonly settings: OidcSettings;
  /** Its allowedEmailPatterns, else the global ones. */
  readonly emails: EmailMatcher | undefined;
  readonly groupsClaim: string;
  readonly sessionRecheckSeconds: number | undefined;
}

export interface Revocation {
  /** Sessions issued before this (seconds since the epoch) are refused; those without `iat` too. */
  readonly notBefore: number | undefined;
  readonly subjects: ReadonlySet<string>;
  /** Lower case. */
  readonly emails: ReadonlySet<string>;
}

/** An issuer of machine tokens: its `iss`, the `aud` required, and where its keys are (discovered when absent). */
export interface MachineIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string | undefined;
}
