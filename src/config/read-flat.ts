import { IssueList } from './issues.js';
import { ALL_KEYS, isOidcKey, isSecurityKey, keySpec, keyType, type SettingKey } from './keys.js';
import { type ReadResult, readAiryYaml } from './read-airy-yaml.js';
import { putSetting, type RawValue } from './settings.js';

/** The key under which a ConfigMap may carry a whole airy.yaml. */
const AIRY_YAML_KEY = 'airy.yaml';

/**
 * Reads ConfigMap or Secret data: either one `airy.yaml` key, or the flat keys that Airy Core's
 * controller wrote into its `security` ConfigMap (`systemToken`, `jwtSecret`, `oidc.clientId`, ...).
 */
export function readFlatData(data: Readonly<Record<string, string>>, source: string): ReadResult {
  const keys = Object.keys(data);
  if (keys.includes(AIRY_YAML_KEY)) {
    if (keys.length > 1) {
      const issues = new IssueList();
      issues.error(`${source}`, `holds "${AIRY_YAML_KEY}" and flat keys (${keys.filter((k) => k !== AIRY_YAML_KEY).join(', ')})`, {
        fix: 'use one format: either the airy.yaml key or flat keys',
      });
      return { settings: new Map(), issues: issues.items };
    }
    return readAiryYaml(data[AIRY_YAML_KEY] ?? '', `${source} key ${AIRY_YAML_KEY}`);
  }
  const issues = new IssueList();
  const settings = new Map<SettingKey, RawValue>();
  const flatNames = ALL_KEYS.map((k) => (isOidcKey(k) ? `oidc.${k}` : k));
  // KEY.NAME.FIELD of a `named` key (policies.NAME.KEY): gathered into one mapping, as airy.yaml writes it.
  const named = new Map<SettingKey, Record<string, Record<string, string>>>();
  for (const [name, value] of Object.entries(data)) {
    const path = `${source} key ${name}`;
    const [head = '', entry, ...field] = name.split('.');
    if (isSecurityKey(head) && keyType(keySpec(head)) === 'named' && entry !== undefined) {
      if (entry === '' || field.length === 0 || field.join('.') === '') {
        issues.error(path, `is not ${head}.NAME.KEY`, { allowed: `${head}.NAME.${Object.keys(keySpec(head).fields ?? {}).join('|')}` });
        continue;
      }
      // Without a prototype: `policies.__proto__.KEY` is an entry (refused by its name) rather than the mapping's prototype, silently dropped.
      const entries = named.get(head) ?? (Object.create(null) as Record<string, Record<string, string>>);
      entries[entry] = Object.assign(Object.create(null) as Record<string, string>, entries[entry], { [field.join('.')]: value });
      named.set(head, entries);
      continue;
    }
    const key = name.startsWith('oidc.') ? name.slice(5) : name;
    if (name.startsWith('oidc.') ? !isOidcKey(key) : !isSecurityKey(key) && !isOidcKey(key)) {
      putSetting(settings, name, value, path, issues, flatNames);
      continue;
    }
    putSetting(settings, key, value, path, issues);
  }
  for (const [key, entries] of named) putSetting(settings, key, entries, `${source} key ${key}`, issues);
  return { settings, issues: issues.items };
}
