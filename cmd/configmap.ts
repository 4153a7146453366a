import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { compilePolicy } from '../src/config/compile.js';
import { formatIssue } from '../src/config/issues.js';
import { isOidcKey, isSecretKey, type SettingKey } from '../src/config/keys.js';
import { readAiryYaml } from '../src/config/read-airy-yaml.js';
import { parse, UsageError } from './args.js';

/** The flat key Airy Core's controller used for a setting: OIDC keys get an `oidc.` prefix. */
function flatKey(key: SettingKey): string {
  return isOidcKey(key) ? `oidc.${key}` : key;
}

function flatValue(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * `airy-auth configmap airy.yaml`: validates the file, then prints a ConfigMap in Airy Core's flat
 * format (a drop-in for its `security` ConfigMap) and, with --secret-name, a Secret holding the
 * secret keys, ready for `kubectl apply -f -`.
 */
export async function configmapCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { name: { type: 'string', default: 'security' }, namespace: { type: 'string' }, 'secret-name': { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('configmap takes exactly one airy.yaml');
  const file = positionals[0]!;
  const read = readAiryYaml(await readFile(file, 'utf8'), file);
  const compiled = compilePolicy(read.settings, read.issues);
  if (!compiled.policy) {
    for (const issue of compiled.issues) err(`${formatIssue(issue)}\n`);
    err(`\n${file}: refused; fix the errors above first.\n`);
    return 1;
  }
  const secretName = values['secret-name'];
  const configData: Record<string, string> = {};
  const secretData: Record<string, string> = {};
  for (const [key, raw] of read.settings) {
    if (raw.value === null || raw.value === undefined || raw.value === '') continue;
    (secretName && isSecretKey(key) ? secretData : configData)[flatKey(key)] = flatValue(raw.value);
  }
  const metadata = (name: string) => ({
    name,
    ...(values.namespace ? { namespace: values.namespace } : {}),
    labels: { 'app.kubernetes.io/part-of': 'airy-auth' },
  });
  const docs: object[] = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(values.name!), data: configData }];
  if (secretName) docs.push({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: metadata(secretName), stringData: secretData });
  out(docs.map((d) => yaml.dump(d, { lineWidth: -1, quotingType: '"', forceQuotes: true })).join('---\n'));
  return 0;
}
