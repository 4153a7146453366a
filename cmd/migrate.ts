import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { migrate } from '../src/migrate/migrate.js';
import { formatReport } from '../src/migrate/report.js';
import { parse, UsageError } from './args.js';

/**
 * `airy-auth migrate FILE --to traefik|gateway-api`: ingress-nginx auth annotations → equivalent
 * objects. Every annotation is reported (stderr); any that cannot be translated makes the exit
 * code 1 and withholds the output, unless --allow-partial.
 */
export async function migrateCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      to: { type: 'string' },
      gateway: { type: 'string', default: 'gateway' },
      'gateway-namespace': { type: 'string' },
      'allow-partial': { type: 'boolean', default: false },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('migrate takes exactly one FILE of Ingress objects');
  if (values.to !== 'traefik' && values.to !== 'gateway-api') throw new UsageError('--to must be traefik or gateway-api');
  const result = migrate(await readFile(positionals[0]!, 'utf8'), {
    target: values.to,
    gateway: values.gateway!,
    gatewayNamespace: values['gateway-namespace'],
  });
  err(`${formatReport(result.report)}\n`);
  const blocked = result.report.filter((l) => l.outcome === 'untranslatable').length;
  if (blocked > 0 && !values['allow-partial']) {
    err(`\n${blocked} annotation(s) could not be translated (above). Fix them, or pass --allow-partial to print the rest.\n`);
    return 1;
  }
  out(result.objects.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true })).join('---\n'));
  return 0;
}
