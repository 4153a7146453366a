import type { IssueList } from './issues.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `30d`, `12h`, `90m`, `3600s` or plain seconds. Undefined (with an issue) when malformed or out of range. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] || 's'] ?? 1);
}

export function durationSetting(text: string | undefined, path: string, issues: IssueList, bounds: { min: number; max: number; fallback: number }): number {
  if (text === undefined) return bounds.fallback;
  const seconds = parseDuration(text);
  if (seconds === undefined) {
    issues.error(path, `"${text}" is not a duration`, { allowed: 'a number with a unit s, m, h or d, e.g. 30d, 12h, 90m' });
    return bounds.fallback;
  }
  if (seconds < bounds.min || seconds > bounds.max) {
    issues.error(path, `${text} is out of range`, { allowed: `between ${bounds.min}s and ${bounds.max / 86400}d` });
    return bounds.fallback;
  }
  return seconds;
}
