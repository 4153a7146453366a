import { readFile } from 'node:fs/promises';
import { parseDuration } from '../src/config/duration.js';
import { formatIssue } from '../src/config/issues.js';
import { compileAiryYaml } from '../src/config/load.js';
import { mintSession } from '../src/session/mint.js';
import { type CommandSpec, parseCommand, usageError, usageOf } from './args.js';

export const TOKEN: CommandSpec = {
  name: 'token',
  summary: "Prints a session JWT signed with the config's jwtSecret, for service accounts and scripts (Authorization: Bearer <token>).",
  flags: {
    config: { type: 'string', value: 'FILE', help: 'airy.yaml with the jwtSecret to sign with (required)' },
    sub: { type: 'string', value: 'ID', help: 'the subject: a user or service account id (required)' },
    email: { type: 'string', value: 'EMAIL', help: 'the email claim (checked against allowedEmailPatterns on every request)' },
    name: { type: 'string', value: 'NAME', help: "the display name in Airy Core's principal claim" },
    ttl: { type: 'string', value: 'DURATION', default: '30d', help: 'lifetime, such as 30d, 12h, 90m' },
  },
};

/** `airy-auth token`: a session JWT for service accounts and scripts, signed with the configured jwtSecret. */
export async function tokenCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, TOKEN);
  if (parsed === 'help') {
    out(usageOf(TOKEN));
    return 0;
  }
  const values = parsed.values as Record<string, string | undefined>;
  if (!values.config || !values.sub) throw usageError(TOKEN, 'token needs --config FILE and --sub ID');
  const ttl = parseDuration(values.ttl ?? '30d');
  if (ttl === undefined || ttl < 1) throw usageError(TOKEN, `--ttl "${values.ttl}" is not a duration such as 30d, 12h, 90m`);
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
