import type { IssueList } from './issues.js';
import { ALL_KEYS, isOidcKey, isSecurityKey, keySpec, keyType, type SettingKey, suggestKey } from './keys.js';

/** A value as written by the user, with the place it was written (for messages). */
export interface RawValue {
  readonly value: unknown;
  readonly path: string;
}

/** The security settings of one source, before validation. Keys are canonical (OIDC keys flattened). */
export type Settings = ReadonlyMap<SettingKey, RawValue>;

/**
 * Adds one key to `into`, reporting unknown keys (with a suggestion) and the same key given twice.
 * Shared by the airy.yaml reader and the flat ConfigMap reader so both speak the same language.
 */
export function putSetting(
  into: Map<SettingKey, RawValue>,
  key: string,
  value: unknown,
  path: string,
  issues: IssueList,
  candidates: readonly string[] = ALL_KEYS,
): void {
  if (!isSecurityKey(key) && !isOidcKey(key)) {
    const guess = suggestKey(key, candidates);
    issues.error(path, `unknown key "${key}"`, {
      fix: guess ? `did you mean "${guess}"?` : `remove it; known keys: ${candidates.join(', ')}`,
    });
    return;
  }
  const earlier = into.get(key);
  if (earlier) {
    issues.error(path, `"${key}" is also set at ${earlier.path}`, { fix: 'keep exactly one of the two' });
    return;
  }
  into.set(key, { value, path });
}

/**
 * Overlay wins key by key (a Secret over a ConfigMap). A `named` key set in both is merged entry by
 * entry and field by field: the Secret's `providers.corp.clientSecret` joins the ConfigMap's
 * `providers.corp.clientId`.
 */
export function overlaySettings(base: Settings, overlay: Settings): Settings {
  const merged = new Map(base);
  for (const [key, value] of overlay) {
    const under = merged.get(key);
    if (under !== undefined && keyType(keySpec(key)) === 'named' && isMapping(under.value) && isMapping(value.value)) {
      const entries: Record<string, unknown> = { ...under.value };
      for (const [name, body] of Object.entries(value.value)) {
        const before = entries[name];
        entries[name] = isMapping(before) && isMapping(body) ? { ...before, ...body } : body;
      }
      merged.set(key, { value: entries, path: under.path });
    } else merged.set(key, value);
  }
  return merged;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where a key was written, or where it would be written in airy.yaml: for messages. */
export function settingPath(settings: Settings, key: SettingKey): string {
  return settings.get(key)?.path ?? `security.${key}`;
}
