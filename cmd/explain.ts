import { Registry } from 'prom-client';
import { compilePolicy } from '../src/config/compile.js';
import { formatIssue, hasErrors } from '../src/config/issues.js';
import type { Policy } from '../src/config/policy.js';
import { decide } from '../src/core/decide.js';
import type { Decision } from '../src/core/decision.js';
import type { Facts } from '../src/core/facts.js';
import type { Step, Trace } from '../src/core/trace.js';
import { createEvaluators } from '../src/http/evaluators.js';
import { explainedFacts } from '../src/http/explain-request.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createMachineTokens } from '../src/oidc/machine-tokens.js';
import { SESSION_COOKIE } from '../src/session/claims.js';
import { mintSession } from '../src/session/mint.js';
import { type CommandSpec, parseCommand, usageError, usageOf } from './args.js';
import { readConfigFiles } from './check.js';

export const EXPLAIN: CommandSpec = {
  name: 'explain',
  positionals: 'CONFIG',
  summary:
    'Prints what the server would answer to one request under CONFIG (an airy.yaml, a ConfigMap manifest with its Secret, or ' +
    "`helm template` output), and every step that led there, naming the config key of each rule. Runs the server's own decision code.",
  flags: {
    url: { type: 'string', value: 'URL', help: "the app's URL as the client asks for it (required): https://app.example.com/path" },
    method: { type: 'string', value: 'METHOD', default: 'GET', help: 'the request method' },
    'auth-url': {
      type: 'string',
      value: 'URL',
      help: "the gateway's auth URL with its rules, such as 'http://airy-auth/auth?policy=grafana' (/auth or /forward-auth)",
    },
    cookie: { type: 'string', value: 'TOKEN', help: `a session JWT sent as the ${SESSION_COOKIE} cookie` },
    token: { type: 'string', value: 'TOKEN', help: 'sent as Authorization: Bearer TOKEN (the systemToken, a session JWT or a machine token)' },
    as: { type: 'string', value: 'EMAIL', help: "a session for this person, minted with CONFIG's jwtSecret (with --groups, --provider)" },
    groups: { type: 'string', value: 'A,B', help: 'the groups of the --as session' },
    provider: { type: 'string', value: 'NAME', help: 'the provider that signed the --as session in (security.providers)' },
    origin: { type: 'string', value: 'ORIGIN', help: 'the Origin header, such as https://other.example.com' },
    header: {
      type: 'string',
      value: "'NAME: VALUE'",
      multiple: true,
      help: 'another header the client sends (Access-Control-Request-Method, Sec-Fetch-Mode, a second cookie...)',
    },
    configmap: {
      type: 'string',
      value: 'FILE',
      help: 'a ConfigMap manifest (with its Secret, as `airy-auth configmap` prints them) instead of CONFIG; read as check reads it',
    },
    'secret-file': { type: 'string', value: 'FILE', multiple: true, help: "a Secret manifest or flat key: value file whose keys override CONFIG's" },
    json: { type: 'boolean', default: false, help: 'print one JSON object (status, reason, key, steps) for scripts' },
  },
};

/** `airy-auth explain`: the decision for one request, step by step; exit 0 when allowed, 1 when refused, 2 on a usage error. */
export async function explainCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, EXPLAIN);
  if (parsed === 'help') {
    out(usageOf(EXPLAIN));
    return 0;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const str = (name: string) => values[name] as string | undefined;
  const configmap = str('configmap');
  if (parsed.positionals.length + (configmap === undefined ? 0 : 1) !== 1)
    throw usageError(EXPLAIN, 'explain takes exactly one CONFIG (or --configmap FILE instead)');
  if (str('url') === undefined) throw usageError(EXPLAIN, 'explain needs --url URL');
  const credentials = ['cookie', 'token', 'as'].filter((f) => str(f) !== undefined);
  if (credentials.length > 1) throw usageError(EXPLAIN, `--${credentials.join(' and --')} are two credentials; give one`);
  if ((str('groups') !== undefined || str('provider') !== undefined) && str('as') === undefined) {
    throw usageError(EXPLAIN, '--groups and --provider describe the --as session; add --as EMAIL');
  }

  const file = configmap ?? parsed.positionals[0]!;
  const read = await readConfigFiles(file, (values['secret-file'] as string[] | undefined) ?? []);
  if (read.unreadable) {
    err(`error: ${read.unreadable}\n`);
    return 1;
  }
  const result = compilePolicy(read.settings, read.issues);
  if (hasErrors(result.issues) || result.policy === undefined) {
    for (const issue of result.issues) if (issue.severity === 'error') err(`${formatIssue(issue)}\n`);
    err(`${file}: the config has errors (airy-auth check ${file} lists them); a server would keep its last good config\n`);
    return 1;
  }
  const policy = result.policy;
  const nowMs = Date.now();

  let cookie = str('cookie') === undefined ? undefined : `${SESSION_COOKIE}=${str('cookie')}`;
  const as = str('as');
  if (as !== undefined) {
    if (policy.sessionKey === undefined) {
      err(`error: ${file}: security.jwtSecret is not set, so no session can be made for --as\n`);
      return 1;
    }
    const groups = str('groups')
      ?.split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const provider = str('provider');
    const token = await mintSession(policy.sessionKey, { sub: as, email: as, groups, ...(provider ? { provider } : {}) }, 300, nowMs);
    cookie = `${SESSION_COOKIE}=${token}`;
  }
  const token = str('token');
  const extra: [string, string][] = [];
  for (const h of (values.header as string[] | undefined) ?? []) {
    const colon = h.indexOf(':');
    // Not echoed: the value may be a credential given with the wrong separator.
    if (colon < 1) throw usageError(EXPLAIN, `--header number ${extra.length + 1} is not NAME: VALUE`);
    extra.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
  }
  const facts = explainedFacts({
    url: str('url')!,
    method: (str('method') ?? 'GET').toUpperCase(),
    authUrl: str('auth-url'),
    cookie,
    authorization: token === undefined ? undefined : `Bearer ${token}`,
    origin: str('origin'),
    headers: extra,
  });
  if (!facts.ok) {
    // What the server answers to a call it cannot read: explained as such, not as a usage error.
    const answer = { status: facts.status ?? 403, reason: facts.reason ?? 'bad_request', detail: facts.why };
    out(values.json ? `${JSON.stringify({ ...answer, steps: [] })}\n` : `${answer.status} ${answer.reason}: ${facts.why}\n`);
    return 1;
  }
  const steps: Step[] = [];
  const decision = await explainDecision(facts.facts, policy, nowMs, (s) => steps.push(s));
  out(values.json ? `${JSON.stringify(asJson(decision, steps, facts.adapter))}\n` : asText(decision, steps, str('url')!, facts.adapter));
  return decision.status === 200 ? 0 : 1;
}

/** The refusal's rule key, when the decision names one. */
function keyOf(decision: Decision): string | undefined {
  return 'ruleKey' in decision ? (decision.ruleKey as string | undefined) : undefined;
}

function asJson(decision: Decision, steps: readonly Step[], adapter: string) {
  const { status, reason } = decision;
  return { status, reason, key: keyOf(decision), adapter, user: 'user' in decision ? decision.user : undefined, steps };
}

function asText(decision: Decision, steps: readonly Step[], url: string, adapter: string): string {
  const lines = [`${url}  (as the gateway asks /${adapter})`];
  const width = Math.max(0, ...steps.map((s) => s.step.length));
  for (const s of steps) lines.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(width)}  ${s.detail}${s.key ? `  [${s.key}]` : ''}`);
  const key = keyOf(decision);
  lines.push(`=> ${decision.status} ${decision.reason}${key ? ` (${key})` : ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The server's own decision: the evaluator is built as `serve` builds it (machine tokens are
 * verified against their issuers' keys, fetched now), with the recorder attached. The cluster's
 * revocation list is not read: `explain` judges the configuration.
 */
async function explainDecision(facts: Facts, policy: Policy, nowMs: number, trace: Trace): Promise<Decision> {
  const evaluators = createEvaluators({ machineTokens: createMachineTokens(createMetrics(new Registry())) });
  return decide(facts, evaluators.forPolicy(policy), nowMs, trace);
}
