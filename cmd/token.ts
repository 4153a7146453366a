import { readFile } from 'node:fs/promises';
import { parseDuration } from '../src/config/duration.js';
import { formatIssue } from '../src/config/issues.js';
import { compileAiryYaml } from '../src/config/load.js';
import { mintSession } from '../src/session/mint.js';
import { parse, UsageError } from './args.js';

/** `airy-auth token`: a session JWT for service accounts and scripts, signed with the configured jwtSecret. */
export async function tokenCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values } = parse(argv, {
    config: { type: 'string' },
    sub: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    ttl: { type: 'string', default: '30d' },
  });
  if (!values.config || !values.sub) throw new UsageError('token needs --config FILE and --sub ID');
  const ttl = parseDuration(values.ttl ?? '30d');
  if (ttl === undefined || ttl < 1) throw new UsageError(`--ttl "${values.ttl}" is not a duration such as 30d, 12h, 90m`);
  const result = compileAiryYaml(await readFile(values.config, 'utf8'), values.config);
  if (!result.policy) {
    for (const issue of result.issues) if (issue.severity === 'error') err(`${formatIssue(issue)}\n`);
    return 1;
  }
  if (!result.policy.sessionKey) {
    err(`error: ${values.config}: security.jwtSecret is not set, so there is no key to sign with\n`);
    return 1;
  }
  out(`${await mintSession(result.policy.sessionKey, { sub: values.sub, email: values.email, name: values.name }, ttl, Date.now())}\n`);
  return 0;
}
