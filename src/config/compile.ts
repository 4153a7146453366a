import { createHash } from 'node:crypto';
import { DEFAULT_SESSION_TTL_SECONDS } from '../session/claims.js';
import { createSessionVerifier } from '../session/verifier.js';
import { compileCookieDomain } from './cookie-domain.js';
import { durationSetting } from './duration.js';
import { compileEmails } from './emails.js';
import { type ConfigIssue, hasErrors, IssueList } from './issues.js';
import { decodeJwtSecret } from './jwt-secret.js';
import type { SettingKey } from './keys.js';
import { compileOidc, type OidcSettings, oidcRequested } from './oidc-settings.js';
import { compileOrigins, normalizeOrigin } from './origins.js';
import type { MachineIssuer, Policy, Revocation } from './policy.js';
import { compilePublicPaths } from './public-paths.js';
import { compileRedirectDomains } from './redirect-domains.js';
import { compileRouteRules } from './route-rules.js';
import { SECRET_MAX_CHARS, secretDigest } from './secret-digest.js';
import type { Settings } from './settings.js';
import { booleanValue, listValue, stringValue } from './values.js';

export interface CompileResult {
  /** Present only when there is no error. */
  readonly policy: Policy | undefined;
  readonly issues: readonly ConfigIssue[];
}

/**
 * Validates settings and compiles them into a Policy, collecting every issue instead of stopping
 * at the first. Pure: no I/O, no clock, no environment.
 */
export function compilePolicy(settings: Settings, readIssues: readonly ConfigIssue[] = []): CompileResult {
  const issues = new IssueList();
  issues.items.push(...readIssues);
  const path = (k: SettingKey) => settings.get(k)?.path ?? `security.${k}`;
  const str = (k: SettingKey) => stringValue(settings.get(k), issues);

  const systemTokenText = str('systemToken');
  if (systemTokenText !== undefined && systemTokenText.length < 16) {
    issues.warn(path('systemToken'), `is only ${systemTokenText.length} characters; anyone who guesses it has full API access`, {
      fix: 'use a random value such as `openssl rand -hex 32`',
    });
  }
  if (systemTokenText !== undefined && systemTokenText.length > SECRET_MAX_CHARS) {
    issues.error(path('systemToken'), `is ${systemTokenText.length} characters; at most ${SECRET_MAX_CHARS} are allowed`, {
      fix: 'use a random value such as `openssl rand -hex 32`',
    });
  }
  if (systemTokenText !== undefined && /\s/.test(systemTokenText)) {
    issues.error(path('systemToken'), 'contains white space, which an Authorization header cannot carry intact');
  }
  const jwtSecretText = str('jwtSecret');
  const sessionKey = jwtSecretText === undefined ? undefined : decodeJwtSecret(jwtSecretText, path('jwtSecret'), issues);

  const origins = compileOrigins(listValue(settings.get('allowedOrigins'), issues), path('allowedOrigins'), issues);
  const emailPatterns = listValue(settings.get('allowedEmailPatterns'), issues);
  const emails = emailPatterns.length > 0 ? compileEmails(emailPatterns, path('allowedEmailPatterns'), issues) : undefined;
  const publicPaths = compilePublicPaths(listValue(settings.get('publicPaths'), issues), path('publicPaths'), issues);

  const baseOidc = oidcRequested(settings) ? compileOidc(settings, issues) : undefined;
  if (oidcRequested(settings)) {
    if (jwtSecretText === undefined) {
      issues.error(path('jwtSecret'), 'is required when OIDC login is configured: it signs the session cookie', {
        fix: 'set jwtSecret; generate one with `openssl rand -base64 48`',
      });
    }
    if (emails === undefined) {
      issues.error(path('allowedEmailPatterns'), 'is required with OIDC login, or anyone with an account at the provider gets in', {
        fix: 'list who may log in, e.g. "*@example.com"; "*" allows every verified email',
      });
    }
  }

  const skipPreflight = booleanValue(settings.get('skipPreflight'), issues);
  const allowedGroups = listValue(settings.get('allowedGroups'), issues);
  const routeRules = compileRouteRules(settings.get('policies'), issues);
  const groupsClaim = str('groupsClaim') ?? 'groups';
  const redirectDomains = compileRedirectDomains(listValue(settings.get('redirectDomains'), issues), path('redirectDomains'), issues);
  const revocation = compileRevocation(
    str('sessionsNotBefore'),
    path('sessionsNotBefore'),
    listValue(settings.get('revokedSubjects'), issues),
    listValue(settings.get('revokedEmails'), issues),
    issues,
  );
  const oidc = withGithubGroups(baseOidc, allowedGroups.length > 0 || routeRules.namedGroups.size > 0);
  const machineIssuers = compileMachineIssuers(settings, oidc, issues);
  const publicUrlText = str('publicUrl');
  let publicUrl: string | undefined;
  if (publicUrlText !== undefined) {
    publicUrl = normalizeOrigin(publicUrlText.replace(/\/$/, ''));
    if (publicUrl === undefined)
      issues.error(path('publicUrl'), `"${publicUrlText}" is not a scheme and host`, { allowed: 'https://auth.example.com (no path)' });
  }
  const cookieDomain = compileCookieDomain(str('cookieDomain'), path('cookieDomain'), publicUrl, issues);
  const recheckText = str('sessionRecheck');
  const sessionRecheckSeconds =
    recheckText === undefined ? undefined : durationSetting(recheckText, path('sessionRecheck'), issues, { min: 60, max: 366 * 86400, fallback: 3600 });
  const sessionTtlSeconds = durationSetting(str('sessionTtl'), path('sessionTtl'), issues, {
    min: 60,
    max: 366 * 86400,
    fallback: DEFAULT_SESSION_TTL_SECONDS,
  });

  const tokenAuth = systemTokenText !== undefined && jwtSecretText !== undefined;
  // A public path that covers every path lets every request in, exactly as auth off does, so it
  // is treated as auth off: the loud warning, and a reload to it is refused.
  const enabled = (tokenAuth || oidc !== undefined) && publicPaths.everything === undefined;
  let disabledBecause: string | undefined;
  if (!enabled) {
    disabledBecause =
      publicPaths.everything !== undefined
        ? `publicPaths "${publicPaths.everything}" makes every path public`
        : systemTokenText !== undefined
          ? 'jwtSecret is not set (the seed requires both systemToken and jwtSecret)'
          : jwtSecretText !== undefined
            ? 'systemToken is not set (the seed requires both systemToken and jwtSecret)'
            : 'neither systemToken and jwtSecret nor an OIDC provider is configured';
    issues.warn('security', `authentication is OFF: ${disabledBecause}; every request will be allowed`, {
      fix:
        publicPaths.everything !== undefined
          ? 'list only the paths that need no credentials, such as /webhooks/**'
          : 'set both systemToken and jwtSecret (and optionally OIDC) to protect the API',
    });
  }

  if (hasErrors(issues.items)) return { policy: undefined, issues: issues.items };
  const policy: Policy = Object.freeze({
    enabled,
    disabledBecause,
    systemToken: systemTokenText === undefined ? undefined : secretDigest(systemTokenText),
    sessionKey,
    sessions: sessionKey ? createSessionVerifier(sessionKey) : undefined,
    origins,
    emails,
    publicPaths,
    oidc,
    publicUrl,
    skipPreflight,
    groups: allowedGroups.length > 0 ? new Set(allowedGroups) : undefined,
    routeRules,
    groupsClaim,
    revocation,
    redirectDomains,
    cookieDomain,
    machineIssuers,
    machineClaims: { subject: str('machineSubjectClaim') ?? 'sub', email: str('machineEmailClaim') ?? 'email' },
    sessionTtlSeconds,
    sessionRecheckSeconds,
    loginSuccessUrl: str('loginSuccessUrl') ?? '/',
    logoutSuccessUrl: str('logoutSuccessUrl') ?? '/',
    fingerprint: fingerprintOf(settings),
  });
  return { policy, issues: issues.items };
}

function fingerprintOf(settings: Settings): Map<SettingKey, string> {
  const out = new Map<SettingKey, string>();
  for (const [key, raw] of settings) {
    if (raw.value === undefined || raw.value === null || raw.value === '') continue;
    out.set(key, createHash('sha256').update(JSON.stringify(raw.value)).digest('base64url'));
  }
  return out;
}

/** Keys whose value differs between two policies: for the reload log line, never the values. */
export function changedKeys(before: Policy | undefined, after: Policy): SettingKey[] {
  const keys = new Set<SettingKey>([...(before?.fingerprint.keys() ?? []), ...after.fingerprint.keys()]);
  return [...keys].filter((k) => before?.fingerprint.get(k) !== after.fingerprint.get(k)).sort();
}

/**
 * GitHub has no groups claim: its orgs and teams are read at login, under the `read:org` scope,
 * which is asked for only when some rule of the configuration names a group (an org or a team).
 */
function withGithubGroups(oidc: OidcSettings | undefined, groupRules: boolean): OidcSettings | undefined {
  if (oidc?.preset !== 'github' || !groupRules || !oidc.userInfoUri) return oidc;
  const base = oidc.userInfoUri.replace(/\/+$/, '');
  return {
    ...oidc,
    scopes: oidc.scopes.includes('read:org') ? oidc.scopes : [...oidc.scopes, 'read:org'],
    orgsUri: `${base}/orgs`,
    teamsUri: `${base}/teams`,
  };
}

/** Sessions ended early without rotating jwtSecret: by issue time, by subject, by email. */
function compileRevocation(
  notBeforeText: string | undefined,
  notBeforePath: string,
  subjects: string[],
  emails: string[],
  issues: IssueList,
): Revocation | undefined {
  let notBefore: number | undefined;
  if (notBeforeText !== undefined) {
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(notBeforeText) ? Date.parse(notBeforeText) : Number.NaN;
    if (Number.isNaN(ms)) issues.error(notBeforePath, `"${notBeforeText}" is not a time`, { allowed: 'RFC 3339 with a zone, such as 2026-11-29T10:00:00Z' });
    else notBefore = Math.floor(ms / 1000);
  }
  if (notBefore === undefined && subjects.length === 0 && emails.length === 0) return undefined;
  return { notBefore, subjects: new Set(subjects), emails: new Set(emails.map((e) => e.toLowerCase())) };
}

/** Issuers whose JWT access tokens are accepted from machines: the login provider's, and extra ones. */
function compileMachineIssuers(settings: Settings, oidc: OidcSettings | undefined, issues: IssueList): MachineIssuer[] {
  const out: MachineIssuer[] = [];
  const at = (k: SettingKey) => settings.get(k)?.path ?? `security.${k}`;
  const audience = stringValue(settings.get('machineTokenAudience'), issues);
  if (audience !== undefined) {
    if (oidc?.issuerUri === undefined) {
      issues.error(at('machineTokenAudience'), 'needs an OpenID Connect login provider with an issuer, whose tokens it accepts', {
        fix: 'configure the provider and issuerUri, or list the issuer in extraJwtIssuers',
      });
    } else out.push({ issuer: oidc.issuerUri, audience, jwksUri: oidc.jwkSetUri });
  }
  for (const entry of listValue(settings.get('extraJwtIssuers'), issues)) {
    const [issuer, aud, jwksUri, ...rest] = entry.split('=');
    const urlOk = (u: string | undefined) => u !== undefined && /^https?:\/\/[^\s/]+/.test(u);
    if (!urlOk(issuer) || !aud || rest.length > 0 || (jwksUri !== undefined && !urlOk(jwksUri))) {
      issues.error(at('extraJwtIssuers'), `"${entry}" is not ISSUER=AUDIENCE[=JWKS_URI]`, { allowed: 'https://idp.example.com=my-api' });
      continue;
    }
    out.push({ issuer: issuer!, audience: aud, jwksUri });
  }
  return out;
}
