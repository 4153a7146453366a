import { createHash } from 'node:crypto';
import { createSessionVerifier } from '../session/verifier.js';
import { compileAuthSwitch } from './auth-switch.js';
import { compileCredentials } from './credentials.js';
import { type ConfigIssue, hasErrors, IssueList } from './issues.js';
import type { SettingKey } from './keys.js';
import { compileLoginRules } from './login-rules.js';
import { compileMachineTokens } from './machine-tokens.js';
import { compileOrigins } from './origins.js';
import type { Policy } from './policy.js';
import { compilePublicPaths } from './public-paths.js';
import { compileRevocation } from './revocation.js';
import { secretDigest } from './secret-digest.js';
import { compileSessionSettings } from './session-settings.js';
import { type Settings, settingPath } from './settings.js';
import { booleanValue, listValue } from './values.js';

export interface CompileResult {
  /** Present only when there is no error. */
  readonly policy: Policy | undefined;
  readonly issues: readonly ConfigIssue[];
}

/**
 * Validates settings and compiles them into a Policy, collecting every issue instead of stopping
 * at the first: each concern is compiled on its own into the one issue list. Pure: no I/O, no
 * clock, no environment.
 */
export function compilePolicy(settings: Settings, readIssues: readonly ConfigIssue[] = []): CompileResult {
  const issues = new IssueList();
  issues.items.push(...readIssues);
  const credentials = compileCredentials(settings, issues);
  const origins = compileOrigins(listValue(settings.get('allowedOrigins'), issues), settingPath(settings, 'allowedOrigins'), issues);
  const publicPaths = compilePublicPaths(listValue(settings.get('publicPaths'), issues), settingPath(settings, 'publicPaths'), issues);
  const sessions = compileSessionSettings(settings, issues);
  const login = compileLoginRules(settings, credentials.jwtSecretText !== undefined, sessions.sessionRecheckSeconds, issues);
  const skipPreflight = booleanValue(settings.get('skipPreflight'), issues);
  const revocation = compileRevocation(settings, issues);
  const providerSettings = [...login.providers.values()].map((p) => p.settings);
  const machineTokens = compileMachineTokens(settings, providerSettings, issues);
  const authSwitch = compileAuthSwitch(credentials, providerSettings.length > 0, publicPaths, issues);

  if (hasErrors(issues.items)) return { policy: undefined, issues: issues.items };
  const { systemTokenText, sessionKey } = credentials;
  const policy: Policy = Object.freeze({
    ...authSwitch,
    systemToken: systemTokenText === undefined ? undefined : secretDigest(systemTokenText),
    sessionKey,
    sessions: sessionKey ? createSessionVerifier(sessionKey) : undefined,
    origins,
    publicPaths,
    skipPreflight,
    ...login,
    ...sessions,
    revocation,
    ...machineTokens,
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
