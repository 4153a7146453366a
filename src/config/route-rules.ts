import { compileEmails, type EmailMatcher } from './emails.js';
import type { IssueList } from './issues.js';
import { POLICY_FIELDS, POLICY_NAME, suggestKey } from './keys.js';
import { compileOrigins, type OriginMatcher } from './origins.js';
import { compilePublicPaths, type PathMatcher } from './public-paths.js';
import { describe, listValue } from './values.js';

/**
 * What one route asks beyond the global rules: a named policy, oauth2-proxy's query parameters on
 * the auth URL, or both. Every part narrows; none widens.
 */
export interface RouteRule {
  /** The policy name, or `query` for parameters alone: a bounded metric label. */
  readonly label: string;
  readonly emailPatterns: EmailMatcher | undefined;
  /** Exact addresses (`allowed_emails`) and domains (`allowed_email_domains`), lower case: set look-ups. */
  readonly emails: ReadonlySet<string> | undefined;
  readonly emailDomains: ReadonlySet<string> | undefined;
  /** Any of these (`allowed_groups` and the policy's allowedGroups, both required when both are set). */
  readonly groupSets: readonly ReadonlySet<string>[];
  /** Where each of groupSets was written (`security.policies.NAME.allowedGroups`, `allowed_groups`): said when it refuses. */
  readonly groupSetKeys: readonly string[];
  readonly origins: OriginMatcher | undefined;
  readonly publicPaths: PathMatcher | undefined;
  /** The policy's `providers`: a session must come from one of them (its `idp` claim). */
  readonly providers: ReadonlySet<string> | undefined;
  /**
   * False when the rule names people (emails, domains, groups or providers): the shared systemToken is no
   * person, so it does not pass such a rule unless the named policy says `allowSystemToken: true`.
   */
  readonly systemTokenAllowed: boolean;
}

/** A query that cannot be a rule: refused, never ignored (ignoring allowed_groups would widen access). */
export interface RuleProblem {
  /** What is wrong, naming the parameter but never quoting a value: it goes to warn lines, and the value may be a client's secret. */
  readonly problem: string;
  readonly fix: string;
  /** The offending value, quoted and cut short: only for `check`, which reads the operator's own annotations, never for a log line. */
  readonly value?: string;
}

export interface RouteRules {
  readonly names: readonly string[];
  /** Every group some policy names: what a session cookie keeps when all its groups would not fit. */
  readonly namedGroups: ReadonlySet<string>;
  /** The policies with `allowedGroups`, and the providers each admits (undefined: every one). */
  readonly groupPolicies: ReadonlyMap<string, ReadonlySet<string> | undefined>;
  /** The rule for a query string (without `?`); memoized per query, so a route costs one look-up. */
  resolve(query: string): RouteRule | RuleProblem;
}

interface NamedPolicy {
  readonly emailPatterns: EmailMatcher | undefined;
  readonly groups: ReadonlySet<string> | undefined;
  readonly origins: OriginMatcher | undefined;
  readonly publicPaths: PathMatcher | undefined;
  readonly providers: ReadonlySet<string> | undefined;
  readonly allowSystemToken: boolean;
}

const POLICY_KEYS = Object.keys(POLICY_FIELDS) as (keyof typeof POLICY_FIELDS)[];
/** The fields that narrow who passes; allowSystemToken and signedIdentity (read by signed-identity.ts) do not. */
const RULE_KEYS = POLICY_KEYS.filter((k) => k !== 'allowSystemToken' && k !== 'signedIdentity');
const QUERY_PARAMS = ['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy'];
const MEMO_LIMIT = 1000;
/** How a named policy's keys are named in refusals (`security.policies.grafana.allowedGroups`). */
export const POLICY_KEY_PREFIX = 'security.policies.';
/** Longer queries are parsed every time rather than remembered: the memo holds at most 1000 × 1 KB. */
const MEMO_QUERY_CHARS = 1024;
/** A key (or, for `check`, a value) from the query quoted in a problem is cut to this many characters. */
const SHOWN_CHARS = 64;

/** A client-chosen key or value as a problem quotes it: JSON-quoted (no control characters), and cut short. */
function shown(value: string): string {
  return JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value);
}

/**
 * Compiles `security.policies` (every error at once, with its path) into the route rule resolver.
 * `providerNames`: the configured login providers, which a policy's `providers` must name.
 */
export function compileRouteRules(raw: { value: unknown; path: string } | undefined, issues: IssueList, providerNames: readonly string[] = []): RouteRules {
  const policies = new Map<string, NamedPolicy>();
  if (raw !== undefined && raw.value !== null && raw.value !== undefined && raw.value !== '') {
    if (typeof raw.value !== 'object' || Array.isArray(raw.value)) {
      issues.error(raw.path, `must be a mapping of policy names to rules, got ${describe(raw.value)}`, { allowed: 'NAME: {allowedGroups: "sre"}' });
    } else {
      for (const [name, body] of Object.entries(raw.value as Record<string, unknown>)) {
        const path = `${raw.path}.${name}`;
        if (!POLICY_NAME.test(name)) {
          issues.error(path, `"${name}" is not a policy name`, { allowed: 'lower-case letters, digits, "-" and "_"' });
          continue;
        }
        const compiled = compilePolicy(body, path, issues, providerNames);
        if (compiled) policies.set(name, compiled);
      }
    }
  }
  const memo = new Map<string, RouteRule | RuleProblem>();
  return {
    names: [...policies.keys()],
    namedGroups: new Set([...policies.values()].flatMap((p) => [...(p.groups ?? [])])),
    groupPolicies: new Map([...policies].filter(([, p]) => p.groups !== undefined).map(([name, p]) => [name, p.providers])),
    resolve(query) {
      let rule = memo.get(query);
      if (rule === undefined) {
        rule = parseQuery(query, policies);
        if (query.length > MEMO_QUERY_CHARS) return rule;
        if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
        memo.set(query, rule);
      }
      return rule;
    },
  };
}

function compilePolicy(body: unknown, path: string, issues: IssueList, providerNames: readonly string[]): NamedPolicy | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    issues.error(path, `must be a mapping of rules, got ${describe(body)}`, { allowed: POLICY_KEYS.join(', ') });
    return undefined;
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      const guess = suggestKey(key, POLICY_KEYS);
      issues.error(`${path}.${key}`, `unknown policy key "${key}"`, { allowed: POLICY_KEYS.join(', '), ...(guess ? { fix: `did you mean "${guess}"?` } : {}) });
    }
  }
  const list = (key: (typeof RULE_KEYS)[number]) => listValue(fields[key] === undefined ? undefined : { value: fields[key], path: `${path}.${key}` }, issues);
  const emails = list('allowedEmailPatterns');
  const groups = list('allowedGroups');
  const origins = list('allowedOrigins');
  const paths = list('publicPaths');
  const providers = list('providers');
  checkProviderNames(providers, `${path}.providers`, providerNames, issues);
  if (emails.length + groups.length + origins.length + paths.length + providers.length === 0 && fields.signedIdentity === undefined) {
    issues.warn(path, 'sets no rule, so it only applies the global rules', { fix: `set one of ${RULE_KEYS.join(', ')}` });
  }
  const allowSystemToken = fields.allowSystemToken === true || fields.allowSystemToken === 'true';
  if (fields.allowSystemToken !== undefined && !allowSystemToken && fields.allowSystemToken !== false && fields.allowSystemToken !== 'false') {
    issues.error(`${path}.allowSystemToken`, `must be true or false, got ${describe(fields.allowSystemToken)}`, { allowed: 'true, false' });
  }
  return {
    emailPatterns: emails.length > 0 ? compileEmails(emails, `${path}.allowedEmailPatterns`, issues) : undefined,
    groups: groups.length > 0 ? new Set(groups) : undefined,
    origins: origins.length > 0 ? compileOrigins(origins, `${path}.allowedOrigins`, issues) : undefined,
    publicPaths: paths.length > 0 ? compilePublicPaths(paths, `${path}.publicPaths`, issues) : undefined,
    providers: providers.length > 0 ? new Set(providers) : undefined,
    allowSystemToken,
  };
}

/** Every name must be a configured login provider: a typo would otherwise refuse everyone, silently. */
export function checkProviderNames(names: readonly string[], path: string, configured: readonly string[], issues: IssueList): void {
  for (const name of names) {
    if (configured.includes(name)) continue;
    const guess = suggestKey(name, configured);
    issues.error(path, `"${name}" is not a configured login provider`, {
      allowed: configured.length > 0 ? configured.join(', ') : 'none: configure security.providers (or security.oidc) first',
      ...(guess ? { fix: `did you mean "${guess}"?` } : {}),
    });
  }
}

const split = (values: string[]) => values.flatMap((v) => v.split(',')).map((v) => v.trim());

/** oauth2-proxy's `/oauth2/auth` parameters (comma-separated, repeatable) and `policy=NAME`. */
function parseQuery(query: string, policies: ReadonlyMap<string, NamedPolicy>): RouteRule | RuleProblem {
  const params = new URLSearchParams(query);
  for (const key of new Set(params.keys())) {
    if (!QUERY_PARAMS.includes(key)) {
      return { problem: `unknown auth URL parameter ${shown(key)}`, fix: `use ${QUERY_PARAMS.join(', ')}, or remove it from the auth URL` };
    }
  }
  const groups = split(params.getAll('allowed_groups'));
  const emails = split(params.getAll('allowed_emails')).map((e) => e.toLowerCase());
  const domains = split(params.getAll('allowed_email_domains')).map((d) => d.toLowerCase().replace(/^@/, ''));
  const names = params.getAll('policy');
  if ([...groups, ...emails, ...domains].some((v) => v === ''))
    return { problem: 'an empty value in an allowed_* parameter', fix: 'list values separated by commas' };
  const badEmail = emails.find((e) => !/^[^@\s]+@[^@\s]+$/.test(e));
  if (badEmail !== undefined)
    return { problem: 'allowed_emails has an entry that is not one address', fix: 'list full addresses such as ann@example.com', value: shown(badEmail) };
  const badDomain = domains.find((d) => !/^[a-z0-9.-]+$/.test(d));
  if (badDomain !== undefined)
    return { problem: 'allowed_email_domains has an entry that is not a domain', fix: 'list domains such as example.com', value: shown(badDomain) };
  if (names.length > 1) return { problem: 'more than one policy= parameter', fix: 'name one policy per route' };
  const name = names[0];
  const named = name === undefined ? undefined : policies.get(name);
  if (name !== undefined && named === undefined) {
    return {
      problem: 'unknown policy',
      value: shown(name),
      fix: policies.size > 0 ? `configured policies: ${[...policies.keys()].join(', ')}` : 'define it under security.policies',
    };
  }
  const policyNamesPeople = named !== undefined && (named.emailPatterns !== undefined || named.groups !== undefined || named.providers !== undefined);
  const queryNamesPeople = groups.length + emails.length + domains.length > 0;
  return {
    label: name ?? 'query',
    emailPatterns: named?.emailPatterns,
    emails: emails.length > 0 ? new Set(emails) : undefined,
    emailDomains: domains.length > 0 ? new Set(domains) : undefined,
    groupSets: [...(named?.groups ? [named.groups] : []), ...(groups.length > 0 ? [new Set(groups)] : [])],
    groupSetKeys: [...(named?.groups ? [`${POLICY_KEY_PREFIX}${name}.allowedGroups`] : []), ...(groups.length > 0 ? ['auth URL allowed_groups'] : [])],
    origins: named?.origins,
    publicPaths: named?.publicPaths,
    providers: named?.providers,
    // The policy's permission covers its own people rules, never people named on the auth URL.
    systemTokenAllowed: !queryNamesPeople && (!policyNamesPeople || named.allowSystemToken),
  };
}
