import { readFile } from 'node:fs/promises';
import { formatIssue, hasErrors } from '../src/config/issues.js';
import { compileAiryYaml } from '../src/config/load.js';
import { summarize } from '../src/config/summary.js';
import { parse, UsageError } from './args.js';

/** `airy-auth check FILE`: every problem at once; exit 1 on any error. */
export async function checkCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { positionals } = parse(argv, {}, true);
  if (positionals.length !== 1) throw new UsageError('check takes exactly one FILE');
  const file = positionals[0]!;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    out(`error: ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return 1;
  }
  const result = compileAiryYaml(text, file);
  for (const issue of result.issues) out(`${formatIssue(issue)}\n`);
  if (hasErrors(result.issues) || !result.policy) {
    const n = result.issues.filter((i) => i.severity === 'error').length;
    out(`\n${file}: ${n} error${n === 1 ? '' : 's'}; this config would be refused (a running airy-auth keeps its last good config).\n`);
    return 1;
  }
  out(`${result.issues.length > 0 ? '\n' : ''}${file}: OK. ${summarize(result.policy)}\n`);
  return 0;
}
