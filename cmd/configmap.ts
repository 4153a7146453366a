import { readFile } from 'node:fs/promises';
import { compilePolicy } from '../src/config/compile.js';
import { formatIssue } from '../src/config/issues.js';
import { readAiryYaml } from '../src/config/read-airy-yaml.js';
import { configMapManifests, writeFlatData } from '../src/config/write-flat.js';
import { type CommandSpec, parseCommand, usageError, usageOf } from './args.js';

/**
 * `airy-auth configmap airy.yaml`: validates the file, then prints a ConfigMap in Airy Core's flat
 * format (a drop-in for its `security` ConfigMap) and, with --secret-name, a Secret holding the
 * secret keys, ready for `kubectl apply -f -`.
 */
export const CONFIGMAP: CommandSpec = {
  name: 'configmap',
  positionals: 'FILE',
  summary:
    "Validates FILE (an airy.yaml) and prints a ConfigMap in Airy Core's flat format and a Secret with its secret keys, for kubectl apply -f -. " +
    'Secrets never go into the ConfigMap.',
  flags: {
    name: { type: 'string', value: 'NAME', default: 'security', help: 'the ConfigMap name' },
    namespace: { type: 'string', value: 'NS', help: 'the namespace of both objects' },
    'secret-name': { type: 'string', value: 'NAME', help: 'the Secret for systemToken, jwtSecret and clientSecret (required when the file has any)' },
  },
};

export async function configmapCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, CONFIGMAP);
  if (parsed === 'help') {
    out(usageOf(CONFIGMAP));
    return 0;
  }
  const { positionals } = parsed;
  const values = parsed.values as Record<string, string | undefined>;
  if (positionals.length !== 1) throw usageError(CONFIGMAP, 'configmap takes exactly one airy.yaml');
  const file = positionals[0]!;
  const read = readAiryYaml(await readFile(file, 'utf8'), file);
  const compiled = compilePolicy(read.settings, read.issues);
  if (!compiled.policy) {
    for (const issue of compiled.issues) err(`${formatIssue(issue)}\n`);
    err(`\n${file}: refused; fix the errors above first.\n`);
    return 1;
  }
  const secretName = values['secret-name'];
  const flat = writeFlatData(read.settings);
  // Every key that goes into the Secret, a provider's `providers.NAME.clientSecret` included.
  const secretKeys = Object.keys(flat.secret).map((k) => k.replace(/^oidc\./, ''));
  if (!secretName && secretKeys.length > 0) {
    err(
      `${file}: has ${secretKeys.join(', ')}, which must not go into a ConfigMap (anyone who can read ConfigMaps could read them).\n` +
        '    fix: pass --secret-name NAME to write them into a Secret beside the ConfigMap, and serve with --secret NAME\n',
    );
    return 1;
  }
  out(configMapManifests(flat, { name: values.name!, namespace: values.namespace, secretName }));
  return 0;
}
