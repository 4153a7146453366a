/** One problem found in a configuration. Every problem is collected, never thrown, so `check` can list them all at once. */
export type Severity = 'error' | 'warning';

export interface ConfigIssue {
  readonly severity: Severity;
  /** Where the value lives, e.g. `security.oidc.scope` or `configmap key oidc.scope`. */
  readonly path: string;
  readonly problem: string;
  /** The values or shape that would be accepted. */
  readonly allowed?: string;
  /** What to change. */
  readonly fix?: string;
}

export function formatIssue(issue: ConfigIssue): string {
  let line = `${issue.severity}: ${issue.path}: ${issue.problem}`;
  if (issue.allowed) line += `\n    allowed: ${issue.allowed}`;
  if (issue.fix) line += `\n    fix: ${issue.fix}`;
  return line;
}

export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Collects issues for one configuration; keeps the call sites short. */
export class IssueList {
  readonly items: ConfigIssue[] = [];
  error(path: string, problem: string, extra: { allowed?: string; fix?: string } = {}): void {
    this.items.push({ severity: 'error', path, problem, ...extra });
  }
  warn(path: string, problem: string, extra: { allowed?: string; fix?: string } = {}): void {
    this.items.push({ severity: 'warning', path, problem, ...extra });
  }
}
