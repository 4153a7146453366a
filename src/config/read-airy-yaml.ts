import yaml from 'js-yaml';
import { type ConfigIssue, IssueList } from './issues.js';
import type { SettingKey } from './keys.js';
import { isOidcKey, isSecurityKey, OIDC_KEYS, SECURITY_KEYS } from './keys.js';
import { putSetting, type RawValue, type Settings } from './settings.js';

export interface ReadResult {
  readonly settings: Settings;
  readonly issues: readonly ConfigIssue[];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the `security:` section of a whole airy.yaml. Everything outside it is ignored, because
 * airy.yaml also configures the rest of Airy Core.
 */
export function readAiryYaml(text: string, source = 'airy.yaml'): ReadResult {
  const issues = new IssueList();
  const settings = new Map<SettingKey, RawValue>();
  let docs: unknown[];
  try {
    // CORE_SCHEMA: no timestamps or other surprises; a secret that looks like a date stays a string.
    docs = yaml.loadAll(text, null, { schema: yaml.CORE_SCHEMA, filename: source });
  } catch (err) {
    issues.error(source, `is not valid YAML: ${yamlProblem(err)}`);
    return { settings, issues: issues.items };
  }
  // Editors, Helm and kustomize add `---` lines: empty documents around the one that counts are fine.
  const nonEmpty = docs.filter((d) => d !== undefined && d !== null);
  if (nonEmpty.length > 1) {
    issues.error(source, `holds ${nonEmpty.length} YAML documents (separated by "---"); airy-auth reads one`, {
      fix: 'keep the one document with the "security:" section',
    });
    return { settings, issues: issues.items };
  }
  const doc = nonEmpty[0] ?? {};
  if (!isMapping(doc)) {
    issues.error(source, 'must be a YAML mapping with a "security:" section');
    return { settings, issues: issues.items };
  }
  const security = doc.security;
  if (security === undefined || security === null) {
    // A file with the keys at top level is almost certainly a mistake that would turn auth off.
    const stray = Object.keys(doc).filter((k) => isSecurityKey(k) || isOidcKey(k) || k === 'oidc');
    if (stray.length > 0) {
      issues.error(source, `${stray.join(', ')} found at the top level, where they are ignored`, {
        fix: 'indent them under "security:"',
      });
    } else {
      issues.warn(`${source}: security`, 'no security section: authentication is off');
    }
    return { settings, issues: issues.items };
  }
  if (!isMapping(security)) {
    issues.error('security', 'must be a mapping of keys');
    return { settings, issues: issues.items };
  }
  for (const [key, value] of Object.entries(security)) {
    if (key === 'oidc') {
      readOidcBlock(value, settings, issues);
      continue;
    }
    putSetting(settings, key, value, `security.${key}`, issues, [...Object.keys(SECURITY_KEYS), ...Object.keys(OIDC_KEYS), 'oidc']);
  }
  return { settings, issues: issues.items };
}

function readOidcBlock(block: unknown, settings: Map<SettingKey, RawValue>, issues: IssueList): void {
  if (block === null || block === undefined) return;
  if (!isMapping(block)) {
    issues.error('security.oidc', 'must be a mapping of OIDC keys');
    return;
  }
  for (const [key, value] of Object.entries(block)) {
    const path = `security.oidc.${key}`;
    if (isSecurityKey(key)) {
      issues.error(path, `"${key}" belongs directly under security:, not under oidc:`, { fix: `move it to security.${key}` });
      continue;
    }
    putSetting(settings, key, value, path, issues, Object.keys(OIDC_KEYS));
  }
}

/**
 * Only the reason and position: js-yaml's message quotes the surrounding lines, which may hold a
 * secret. The position is absent for some errors, so it is read with care.
 */
function yamlProblem(err: unknown): string {
  if (!(err instanceof yaml.YAMLException)) return 'unreadable';
  const mark = (err as { mark?: { line?: unknown; column?: unknown } }).mark;
  const reason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : 'unreadable';
  return typeof mark?.line === 'number' && typeof mark.column === 'number' ? `${reason} at line ${mark.line + 1}, column ${mark.column + 1}` : reason;
}
