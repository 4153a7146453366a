import type { IssueList } from './issues.js';
import type { RawValue } from './settings.js';

/**
 * A setting as a trimmed string; empty means unset. Numbers and booleans are refused rather than
 * coerced, because YAML turns an unquoted `0123` or `yes` into something the user did not write.
 */
export function stringValue(raw: RawValue | undefined, issues: IssueList): string | undefined {
  if (raw === undefined || raw.value === null || raw.value === undefined) return undefined;
  if (typeof raw.value !== 'string') {
    issues.error(raw.path, `must be a string, got ${describe(raw.value)}`, { fix: 'put the value in double quotes' });
    return undefined;
  }
  const trimmed = raw.value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * A flag: `true` or `false`, as a YAML boolean or a string (ConfigMap data is always strings).
 * Anything else is an error naming both, never a silent false.
 */
export function booleanValue(raw: RawValue | undefined, issues: IssueList): boolean {
  if (raw === undefined || raw.value === null || raw.value === undefined || raw.value === '') return false;
  if (raw.value === true || raw.value === 'true') return true;
  if (raw.value === false || raw.value === 'false') return false;
  issues.error(raw.path, `must be true or false, got ${describe(raw.value)}`, { allowed: 'true, false' });
  return false;
}

/**
 * A comma-separated list (as Airy Core wrote it) or a YAML list of strings. Entries are trimmed
 * and empty entries dropped, so the seed's `"*,"` is the one entry `*`.
 */
export function listValue(raw: RawValue | undefined, issues: IssueList): string[] {
  if (raw === undefined || raw.value === null || raw.value === undefined) return [];
  if (Array.isArray(raw.value)) {
    const out: string[] = [];
    raw.value.forEach((item, i) => {
      if (typeof item !== 'string') {
        issues.error(`${raw.path}[${i}]`, `must be a string, got ${describe(item)}`, { fix: 'put the value in double quotes' });
        return;
      }
      out.push(...splitList(item));
    });
    return out;
  }
  const text = stringValue(raw, issues);
  return text === undefined ? [] : splitList(text);
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
