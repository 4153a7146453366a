import type { IssueList } from './issues.js';
import type { Revocation } from './policy.js';
import { type Settings, settingPath } from './settings.js';
import { listValue, stringValue } from './values.js';

const RFC3339_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Sessions ended early without rotating jwtSecret: by issue time, by subject, by email. */
export function compileRevocation(settings: Settings, issues: IssueList): Revocation | undefined {
  const notBeforeText = stringValue(settings.get('sessionsNotBefore'), issues);
  const subjects = listValue(settings.get('revokedSubjects'), issues);
  const emails = listValue(settings.get('revokedEmails'), issues);
  let notBefore: number | undefined;
  if (notBeforeText !== undefined) {
    const ms = RFC3339_WITH_ZONE.test(notBeforeText) ? Date.parse(notBeforeText) : Number.NaN;
    if (Number.isNaN(ms))
      issues.error(settingPath(settings, 'sessionsNotBefore'), `"${notBeforeText}" is not a time`, {
        allowed: 'RFC 3339 with a zone, such as 2026-11-29T10:00:00Z',
      });
    else notBefore = Math.floor(ms / 1000);
  }
  if (notBefore === undefined && subjects.length === 0 && emails.length === 0) return undefined;
  return { notBefore, subjects: new Set(subjects), emails: new Set(emails.map((e) => e.toLowerCase())) };
}
