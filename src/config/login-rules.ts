import { durationSetting } from './duration.js';
import { compileEmails, type EmailMatcher } from './emails.js';
import type { IssueList } from './issues.js';
import { type OidcKey, PROVIDER_FIELDS, PROVIDER_NAME, type SettingKey, suggestKey } from './keys.js';
import { compileOidc, type OidcSettings, oidcRequested } from './oidc-settings.js';
import type { LoginProvider } from './policy.js';
import { PRESETS } from './presets.js';
import { checkProviderNames, compileRouteRules, type RouteRules } from './route-rules.js';
import { RECHECK_BOUNDS } from './session-settings.js';
import { type RawValue, type Settings, settingPath } from './settings.js';
import { describe, listValue, stringValue } from './values.js';

/** Who may log in and who may reach what: the providers, the email patterns, the groups, the named policies. */
export interface LoginRules {
  readonly providers: ReadonlyMap<string, LoginProvider>;
  readonly allowedProviders: ReadonlySet<string> | undefined;
  readonly emails: EmailMatcher | undefined;
  readonly groups: ReadonlySet<string> | undefined;
  readonly routeRules: RouteRules;
  readonly groupsClaim: string;
}

/** OIDC keys that describe one provider: set beside `security.providers`, they are an error (one would be ignored). */
const PROVIDER_ONLY_KEYS: readonly OidcKey[] = [
  'provider',
  ...(Object.keys(PROVIDER_FIELDS).filter((k) => !['displayName', 'allowedEmailPatterns', 'groupsClaim', 'sessionRecheck'].includes(k)) as OidcKey[]),
];
const FIELD_NAMES = Object.keys(PROVIDER_FIELDS);
const DISPLAY_NAME_CHARS = 100;

/**
 * `hasJwtSecret`: a login needs the key that signs its session cookie. `sessionRecheckSeconds`: the
 * global one, which a provider without its own takes.
 */
export function compileLoginRules(settings: Settings, hasJwtSecret: boolean, sessionRecheckSeconds: number | undefined, issues: IssueList): LoginRules {
  const emailPatterns = listValue(settings.get('allowedEmailPatterns'), issues);
  const emails = emailPatterns.length > 0 ? compileEmails(emailPatterns, settingPath(settings, 'allowedEmailPatterns'), issues) : undefined;
  const groupsClaim = stringValue(settings.get('groupsClaim'), issues) ?? 'groups';
  const allowedGroups = listValue(settings.get('allowedGroups'), issues);
  const globals = { emails, groupsClaim, sessionRecheckSeconds };

  const several = providersRaw(settings, issues);
  let providers: LoginProvider[] = [];
  if (several !== undefined) {
    refuseSingleBeside(settings, several.path, issues);
    providers = compileProviders(several, globals, issues);
  } else if (oidcRequested(settings)) {
    const oidc = compileOidc(settings, issues);
    if (emails === undefined) {
      issues.error(settingPath(settings, 'allowedEmailPatterns'), 'is required with OIDC login, or anyone with an account at the provider gets in', {
        fix: 'list who may log in, e.g. "*@example.com"; "*" allows every verified email',
      });
    }
    if (oidc !== undefined) providers = [{ name: oidc.provider, displayName: defaultDisplayName(oidc), settings: oidc, ...globals }];
  }
  if ((several !== undefined || oidcRequested(settings)) && !hasJwtSecret) {
    issues.error(settingPath(settings, 'jwtSecret'), 'is required when OIDC login is configured: it signs the session cookie', {
      fix: 'set jwtSecret; generate one with `openssl rand -base64 48`',
    });
  }

  const names = providers.map((p) => p.name);
  const routeRules = compileRouteRules(settings.get('policies'), issues, names);
  const allowed = listValue(settings.get('allowedProviders'), issues);
  checkProviderNames(allowed, settingPath(settings, 'allowedProviders'), names, issues);
  const unused = allowed.length > 0 ? names.filter((n) => !allowed.includes(n)) : [];
  if (unused.length > 0) {
    // Kept configured on purpose, perhaps (its sessions are refused until it is listed again); but nobody can sign in with it.
    issues.warn(settingPath(settings, 'allowedProviders'), `leaves out ${unused.join(', ')}: no one can sign in with ${unused.length > 1 ? 'them' : 'it'}`, {
      fix: `list ${unused.length > 1 ? 'them' : 'it'} in allowedProviders, or remove ${unused.length > 1 ? 'them' : 'it'} from providers`,
    });
  }
  warnChosenGroups(settings, providers, allowed, allowedGroups.length > 0, routeRules, issues);
  const groupRules = allowedGroups.length > 0 || routeRules.namedGroups.size > 0;
  return {
    providers: new Map(providers.map((p) => [p.name, { ...p, settings: { ...p.settings, groupRules } }])),
    allowedProviders: allowed.length > 0 ? new Set(allowed) : undefined,
    emails,
    groups: allowedGroups.length > 0 ? new Set(allowedGroups) : undefined,
    routeRules,
    groupsClaim,
  };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `security.providers` when it names at least one provider; a value of the wrong shape is reported here. */
function providersRaw(settings: Settings, issues: IssueList): { value: Record<string, unknown>; path: string } | undefined {
  const raw = settings.get('providers');
  if (raw === undefined || raw.value === null || raw.value === undefined || raw.value === '') return undefined;
  if (!isMapping(raw.value)) {
    issues.error(raw.path, `must be a mapping of provider names to their keys, got ${describe(raw.value)}`, {
      allowed: 'NAME: {issuerUri: "https://login.example.com", clientId: "...", clientSecret: "..."}',
    });
    return undefined;
  }
  return Object.keys(raw.value).length > 0 ? { value: raw.value, path: raw.path } : undefined;
}

/** The single-provider keys (`security.oidc`, or flat) beside `security.providers`: one of the two would be ignored. */
function refuseSingleBeside(settings: Settings, providersPath: string, issues: IssueList): void {
  const set = PROVIDER_ONLY_KEYS.filter((k) => !isBlank(settings.get(k)));
  if (set.length === 0) return;
  const provider = stringValue(settings.get('provider'), issues) ?? 'NAME';
  issues.error(
    settingPath(settings, set[0]!),
    `${set.join(', ')} configure the single provider of security.oidc, and security.providers is set too (at ${providersPath}); use one of the two`,
    {
      fix:
        `move ${set.filter((k) => k !== 'provider').join(', ') || 'them'} under security.providers.${provider} (the provider's name is its key); ` +
        'allowedEmailPatterns, groupsClaim, sessionRecheck, loginSuccessUrl, logoutSuccessUrl and sessionTtl may stay where they are: ' +
        'they apply to every provider',
    },
  );
}

function isBlank(raw: RawValue | undefined): boolean {
  const v = raw?.value;
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

interface Globals {
  readonly emails: EmailMatcher | undefined;
  readonly groupsClaim: string;
  readonly sessionRecheckSeconds: number | undefined;
}

/** Each entry of `security.providers`, compiled as a `security.oidc` section named by its key, with its own rules or the global ones. */
function compileProviders(raw: { value: Record<string, unknown>; path: string }, globals: Globals, issues: IssueList): LoginProvider[] {
  const out: LoginProvider[] = [];
  const seen = new Map<string, string>();
  for (const [name, body] of Object.entries(raw.value)) {
    const path = `${raw.path}.${name}`;
    if (!PROVIDER_NAME.test(name)) {
      issues.error(path, `"${name}" cannot be used in the callback path /login/oauth2/code/${name}`, { allowed: 'letters, digits, "-" and "_" (at most 63)' });
      continue;
    }
    // The callback path and the preset compare names without case; two names that differ only so would share them.
    const twin = seen.get(name.toLowerCase());
    if (twin !== undefined) {
      issues.error(path, `"${name}" differs from the provider "${twin}" only in case`, { fix: 'give every provider a distinct name' });
      continue;
    }
    seen.set(name.toLowerCase(), name);
    if (!isMapping(body)) {
      issues.error(path, `must be a mapping of the provider's keys, got ${describe(body)}`, { allowed: FIELD_NAMES.join(', ') });
      continue;
    }
    const compiled = compileProvider(name, body, path, globals, issues);
    if (compiled !== undefined) out.push(compiled);
  }
  return out;
}

function compileProvider(name: string, body: Record<string, unknown>, path: string, globals: Globals, issues: IssueList): LoginProvider | undefined {
  const own = new Map<SettingKey, RawValue>();
  let displayNameRaw: RawValue | undefined;
  for (const [key, value] of Object.entries(body)) {
    const at = `${path}.${key}`;
    if (key === 'displayName') displayNameRaw = { value, path: at };
    else if (FIELD_NAMES.includes(key)) own.set(key as SettingKey, { value, path: at });
    else if (key === 'provider') issues.error(at, 'is the name of the entry here', { fix: `remove it; this provider is "${name}"` });
    else if (['loginSuccessUrl', 'logoutSuccessUrl', 'sessionTtl'].includes(key))
      issues.error(at, `applies to every provider, so it is set once`, { fix: `move it to security.${key}` });
    else {
      const guess = suggestKey(key, FIELD_NAMES);
      issues.error(at, `unknown provider key "${key}"`, { allowed: FIELD_NAMES.join(', '), ...(guess ? { fix: `did you mean "${guess}"?` } : {}) });
    }
  }
  // Last, so the paths of missing keys are derived from the keys the entry has (`path.KEY`).
  own.set('provider', { value: name, path });
  const settings = compileOidc(own, issues);

  const patterns = listValue(own.get('allowedEmailPatterns'), issues);
  const emails = patterns.length > 0 ? compileEmails(patterns, `${path}.allowedEmailPatterns`, issues) : globals.emails;
  if (emails === undefined) {
    issues.error(
      `${path}.allowedEmailPatterns`,
      'is required (here or as the global security.allowedEmailPatterns), or anyone with an account at the provider gets in',
      {
        fix: 'list who may log in, e.g. "*@example.com"; "*" allows every verified email',
      },
    );
  }
  const recheckText = stringValue(own.get('sessionRecheck'), issues);
  const sessionRecheckSeconds =
    recheckText === undefined ? globals.sessionRecheckSeconds : durationSetting(recheckText, `${path}.sessionRecheck`, issues, RECHECK_BOUNDS);
  const groupsClaim = stringValue(own.get('groupsClaim'), issues) ?? globals.groupsClaim;
  const displayName = stringValue(displayNameRaw, issues);
  if (displayName !== undefined && (displayName.length > DISPLAY_NAME_CHARS || /[\x00-\x1f\x7f]/.test(displayName))) {
    issues.error(`${path}.displayName`, `must be at most ${DISPLAY_NAME_CHARS} characters, without control characters`);
  }
  if (settings === undefined) return undefined;
  return { name, displayName: displayName ?? defaultDisplayName(settings), settings, emails, groupsClaim, sessionRecheckSeconds };
}

/** The preset's proper name (GitHub), else the provider's own name. */
function defaultDisplayName(settings: OidcSettings): string {
  return (settings.preset !== undefined ? PRESETS[settings.preset]?.displayName : undefined) ?? settings.provider;
}

/**
 * A GitHub user's groups are their orgs and teams, whose names anyone can choose: an org named
 * like a group of the company IdP gives its owner that group. A group rule that a GitHub session
 * may meet (no `providers` on it, and `allowedProviders` admits GitHub) is warned about.
 */
function warnChosenGroups(
  settings: Settings,
  providers: readonly LoginProvider[],
  allowed: readonly string[],
  globalGroups: boolean,
  routeRules: RouteRules,
  issues: IssueList,
): void {
  if (providers.length < 2) return;
  const chosen = providers.filter((p) => p.settings.preset === 'github' && (allowed.length === 0 || allowed.includes(p.name))).map((p) => p.name);
  if (chosen.length === 0) return;
  const problem = (what: string, names: readonly string[]) =>
    `${what} can be met by a ${names.join(', ')} session: GitHub groups are org and team names, which any GitHub user can create`;
  if (globalGroups) {
    issues.warn(settingPath(settings, 'allowedGroups'), problem('applies to every provider and', chosen), {
      fix: 'set allowedProviders, or move the groups to policies with providers (e.g. providers: corp)',
    });
  }
  const policiesPath = settingPath(settings, 'policies');
  for (const [name, only] of routeRules.groupPolicies) {
    const reach = chosen.filter((n) => only === undefined || only.has(n));
    if (only === undefined && reach.length > 0) {
      issues.warn(`${policiesPath}.${name}.allowedGroups`, problem('has no providers, so it', reach), {
        fix: `add providers to security.policies.${name} (e.g. providers: corp), or name GitHub groups as org:team of an org you own`,
      });
    }
  }
}
