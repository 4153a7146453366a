import { readFile } from 'node:fs/promises';
import { compilePolicy } from '../src/config/compile.js';
import { type ConfigIssue, formatIssue, hasErrors } from '../src/config/issues.js';
import type { Policy } from '../src/config/policy.js';
import { readConfigInput, readSecretInput } from '../src/config/read-manifests.js';
import { overlaySettings, type Settings } from '../src/config/settings.js';
import { strictFindings } from '../src/config/strict-checks.js';
import { summarize } from '../src/config/summary.js';
import { nginxAnnotations, readIngresses } from '../src/migrate/ingress.js';
import { type CommandSpec, parseCommand, usageError, usageOf } from './args.js';

export const CHECK: CommandSpec = {
  name: 'check',
  positionals: 'FILE',
  summary:
    'Validates FILE (an airy.yaml; or what you are about to apply: a ConfigMap manifest with its Secret, or `helm template` output; ' +
    '- for stdin) and prints every problem at once, each with its key, what is wrong, the allowed values and a fix. ' +
    'Exits 1 on any error.',
  flags: {
    'secret-file': {
      type: 'string',
      value: 'FILE',
      multiple: true,
      help: "a Secret manifest (data or stringData) or a flat key: value file whose keys override FILE's, as the Secret does in the Helm layout",
    },
    strict: {
      type: 'boolean',
      default: false,
      help:
        'also exit 1 on warnings, when authentication would be off, and on settings unfit for production ' +
        '(allowedOrigins "*", allowedEmailPatterns "*" with GitHub, an http publicUrl): for CI pipelines',
    },
    ingresses: {
      type: 'string',
      value: 'FILE',
      help: 'kubectl get ingress -A -o yaml output: report every auth-url whose rules (allowed_*, policy=) this config does not know',
    },
  },
};

/** Also read by `token --secret-file`: the one reader of a Secret manifest on disk. */
export async function readSecretFile(path: string): Promise<{ settings: Settings; issues: readonly ConfigIssue[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { settings: new Map(), issues: [{ severity: 'error', path, problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }] };
  }
  return readSecretInput(text, path);
}

/**
 * What `check` and `explain` read: FILE (an airy.yaml, a ConfigMap manifest with its Secret, or
 * `helm template` output; `-` for stdin) with each --secret-file's keys over it. `unreadable`
 * names a FILE that could not be read at all.
 */
export async function readConfigFiles(
  file: string,
  secretFiles: readonly string[],
): Promise<{ settings: Settings; issues: ConfigIssue[]; unreadable?: string }> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    return { settings: new Map(), issues: [], unreadable: `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const read = readConfigInput(text, file);
  let settings = read.settings;
  const issues: ConfigIssue[] = [...read.issues];
  for (const secretFile of secretFiles) {
    const secret = await readSecretFile(secretFile);
    settings = overlaySettings(settings, secret.settings);
    issues.push(...secret.issues);
  }
  return { settings, issues };
}

/** `airy-auth check FILE`: every problem at once; exit 1 on any error (and, with --strict, on any warning). */
export async function checkCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, CHECK);
  if (parsed === 'help') {
    out(usageOf(CHECK));
    return 0;
  }
  const { positionals } = parsed;
  if (positionals.length !== 1) throw usageError(CHECK, 'check takes exactly one FILE');
  const strict = parsed.values.strict === true;
  const file = positionals[0]!;
  const read = await readConfigFiles(file, (parsed.values['secret-file'] as string[] | undefined) ?? []);
  if (read.unreadable) {
    out(`error: ${read.unreadable}\n`);
    return 1;
  }
  const result = compilePolicy(read.settings, read.issues);
  for (const issue of result.issues) out(`${formatIssue(issue)}\n`);
  if (hasErrors(result.issues) || !result.policy) {
    const n = result.issues.filter((i) => i.severity === 'error').length;
    out(`\n${file}: ${n} error${n === 1 ? '' : 's'}; this config would be refused (a running airy-auth keeps its last good config).\n`);
    return 1;
  }
  out(`${result.issues.length > 0 ? '\n' : ''}${file}: OK. ${summarize(result.policy)}\n`);
  out(
    'To apply it: with the Helm chart, `helm upgrade` with this config in values (the chart owns its ConfigMap); ' +
      'with a ConfigMap of your own (config.existingConfigMap), `airy-auth configmap FILE --secret-name NAME | kubectl apply -f -`.\n',
  );
  const ingressFile = parsed.values.ingresses as string | undefined;
  if (ingressFile !== undefined && !(await checkIngresses(ingressFile, result.policy, out))) return 1;
  if (!strict) return 0;
  // Valid, and Airy Core's defaults in places, but not for production: only --strict names them.
  const findings = strictFindings(result.policy);
  for (const finding of findings) out(`${formatIssue(finding)}\n`);
  if (result.issues.length > 0 || findings.length > 0 || !result.policy.enabled) {
    const n = result.issues.length + findings.length;
    out(`${file}: --strict: ${n} warning${n === 1 ? '' : 's'}${result.policy.enabled ? '' : ', and authentication would be OFF'}; failing.\n`);
    return 1;
  }
  return 0;
}

/**
 * Every Ingress auth-url with rules (a query): would this config apply them, or refuse every
 * request of that route? Items that are not readable Ingresses (no metadata, an annotation that is
 * not a string) are reported as errors, and every other Ingress is still checked.
 */
async function checkIngresses(file: string, policy: Policy, out: (s: string) => void): Promise<boolean> {
  let read: ReturnType<typeof readIngresses>;
  try {
    read = readIngresses(await readFile(file, 'utf8'));
  } catch (err) {
    out(`error: ${file}: cannot read Ingresses: ${err instanceof Error ? err.message.split('\n', 1)[0] : String(err)}\n`);
    return false;
  }
  let problems = 0;
  let routes = 0;
  for (const bad of read.malformed) {
    problems++;
    out(`error: ${file}: ${bad.id}: cannot be read as an Ingress: ${bad.problem}\n    fix: check the file is kubectl get ingress -A -o yaml output\n`);
  }
  for (const ing of read.ingresses) {
    const authUrl = nginxAnnotations(ing).get('auth-url');
    const q = authUrl?.indexOf('?') ?? -1;
    if (authUrl === undefined || q < 0 || q === authUrl.length - 1) continue;
    routes++;
    const rule = policy.routeRules.resolve(authUrl.slice(q + 1));
    if ('problem' in rule) {
      problems++;
      // The annotation is the operator's own, so check quotes the offending value (a log line never does).
      const problem = rule.value === undefined ? rule.problem : `${rule.problem} ${rule.value}`;
      out(`error: ${file}: Ingress ${ing.metadata.namespace ?? 'default'}/${ing.metadata.name}: auth-url ${problem}\n    fix: ${rule.fix}\n`);
    }
  }
  const total = read.ingresses.length + read.malformed.length;
  const unreadable = read.malformed.length > 0 ? `, ${read.malformed.length} unreadable` : '';
  out(`${file}: ${total} Ingress(es), ${routes} with rules on auth-url, ${problems - read.malformed.length} this config does not know${unreadable}.\n`);
  return problems === 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
