import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { migrate } from '../src/migrate/migrate.js';
import { formatReport } from '../src/migrate/report.js';
import { type CommandSpec, flagGiven, parseCommand, usageError, usageOf } from './args.js';

/**
 * `airy-auth migrate FILE --to traefik|gateway-api`: ingress-nginx auth annotations → equivalent
 * objects. Every annotation is reported (stderr); any that cannot be translated makes the exit
 * code 1 and withholds the output, unless --allow-partial. An Ingress refused (a rule that cannot
 * be read or carried, a port that cannot be resolved) never gets objects, and the exit code is 1.
 */
export const MIGRATE: CommandSpec = {
  name: 'migrate',
  positionals: 'FILE',
  summary:
    'Translates the ingress-nginx auth annotations of the Ingresses in FILE (kubectl get ingress -A -o yaml) into Traefik or Gateway API objects, ' +
    'reporting every annotation on stderr.',
  flags: {
    to: { type: 'string', value: 'traefik|gateway-api', help: 'the target (required)' },
    gateway: { type: 'string', value: 'NAME', default: 'gateway', help: 'Gateway API: the parent Gateway of the HTTPRoutes' },
    'gateway-namespace': { type: 'string', value: 'NS', help: "Gateway API: the parent Gateway's namespace" },
    'allow-partial': {
      type: 'boolean',
      default: false,
      help: 'print the translated objects even when some annotation could not be translated (never those of a refused Ingress; the exit code stays 1 then)',
    },
  },
};

const OTHERS_HINT = ', or pass --allow-partial to print the objects of the others';

export async function migrateCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, MIGRATE);
  if (parsed === 'help') {
    out(usageOf(MIGRATE));
    return 0;
  }
  const { positionals } = parsed;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (positionals.length !== 1) throw usageError(MIGRATE, 'migrate takes exactly one FILE of Ingress objects');
  if (values.to !== 'traefik' && values.to !== 'gateway-api') throw usageError(MIGRATE, '--to must be traefik or gateway-api');
  // Traefik objects have no parent Gateway: a --gateway there is a mistake about the target, not a no-op.
  const gatewayFlags = ['gateway', 'gateway-namespace'].filter((f) => flagGiven(argv, f));
  if (values.to === 'traefik' && gatewayFlags.length > 0)
    throw usageError(
      MIGRATE,
      `--${gatewayFlags.join(' and --')} ${gatewayFlags.length === 1 ? 'applies' : 'apply'} only to --to gateway-api; ` +
        'Traefik Middlewares have no parent Gateway',
    );
  const result = migrate(await readFile(positionals[0]!, 'utf8'), {
    target: values.to,
    gateway: values.gateway as string,
    gatewayNamespace: values['gateway-namespace'] as string | undefined,
  });
  if (result.ingresses === 0) {
    err(`${positionals[0]}: no Ingress found (expected the output of kubectl get ingress -A -o yaml)\n`);
    return 1;
  }
  err(`${formatReport(result.report)}\n`);
  const blocked = result.report.filter((l) => l.outcome === 'untranslatable').length;
  if (result.refused > 0) {
    err(
      `\n${result.refused} Ingress(es) refused (ERROR above): nothing is emitted for them, since a route without their rule would be open. ` +
        `Fix them and run again${values['allow-partial'] ? '; the objects of the other Ingresses follow' : OTHERS_HINT}.\n`,
    );
  } else if (blocked > 0 && !values['allow-partial']) {
    err(`\n${blocked} annotation(s) could not be translated (above). Fix them, or pass --allow-partial to print the rest.\n`);
    return 1;
  }
  if (values['allow-partial'] || (result.refused === 0 && blocked === 0))
    out(result.objects.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true })).join('---\n'));
  return result.refused > 0 ? 1 : 0;
}
