import { readFile } from 'node:fs/promises';
import { compilePolicy } from '../src/config/compile.js';
import { parseDuration } from '../src/config/duration.js';
import { type ConfigIssue, formatIssue } from '../src/config/issues.js';
import { readAiryYaml } from '../src/config/read-airy-yaml.js';
import { overlaySettings, type Settings } from '../src/config/settings.js';
import { mintSession } from '../src/session/mint.js';
import { type CommandSpec, parseCommand, usageError, usageOf } from './args.js';
import { readSecretFile } from './check.js';

export const TOKEN: CommandSpec = {
  name: 'token',
  summary:
    "Prints a session JWT signed with the config's jwtSecret, for service accounts and scripts (Authorization: Bearer <token>). " +
    'The key comes from --config, --secret-file, or both (the Secret overrides, as in the Helm layout).',
  flags: {
    config: { type: 'string', value: 'FILE', help: 'airy.yaml with the jwtSecret to sign with (this or --secret-file is required)' },
    'secret-file': { type: 'string', value: 'FILE', help: 'the Secret manifest (data or stringData) or flat key: value file holding jwtSecret' },
    sub: { type: 'string', value: 'ID', help: 'the subject: a user or service account id (required)' },
    email: { type: 'string', value: 'EMAIL', help: 'the email claim (checked against allowedEmailPatterns on every request)' },
    name: { type: 'string', value: 'NAME', help: "the display name in Airy Core's principal claim" },
    groups: { type: 'string', value: 'A,B', help: 'the groups claim, comma-separated: what allowedGroups and policies check' },
    ttl: { type: 'string', value: 'DURATION', default: '30d', help: 'lifetime, such as 30d, 12h, 90m' },
  },
};

/** `--groups a,b`: the names, trimmed; an empty name is a mistake, not "no group". */
function groupsOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const groups = value.split(',').map((g) => g.trim());
  if (groups.some((g) => g === '')) throw usageError(TOKEN, `--groups "${value}" has an empty group name; write them as a,b,c`);
  return [...new Set(groups)];
}

/** `airy-auth token`: a session JWT for service accounts and scripts, signed with the configured jwtSecret. */
export async function tokenCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(argv, TOKEN);
  if (parsed === 'help') {
    out(usageOf(TOKEN));
    return 0;
  }
  const values = parsed.values as Record<string, string | undefined>;
  const secretFile = values['secret-file'];
  if ((!values.config && !secretFile) || !values.sub) throw usageError(TOKEN, 'token needs --sub ID and --config FILE or --secret-file FILE');
  const ttl = parseDuration(values.ttl ?? '30d');
  if (ttl === undefined || ttl < 1) throw usageError(TOKEN, `--ttl "${values.ttl}" is not a duration such as 30d, 12h, 90m`);
  const groups = groupsOption(values.groups);
  let settings: Settings = new Map();
  const issues: ConfigIssue[] = [];
  if (values.config) {
    const read = readAiryYaml(await readFile(values.config, 'utf8'), values.config);
    settings = read.settings;
    issues.push(...read.issues);
  }
  if (secretFile) {
    const secret = await readSecretFile(secretFile);
    settings = overlaySettings(settings, secret.settings);
    issues.push(...secret.issues);
  }
  const result = compilePolicy(settings, issues);
  const where = [values.config, secretFile].filter(Boolean).join(' + ');
  if (!result.policy) {
    for (const issue of result.issues) if (issue.severity === 'error') err(`${formatIssue(issue)}\n`);
    return 1;
  }
  if (!result.policy.sessionKey) {
    err(`error: ${where}: security.jwtSecret is not set, so there is no key to sign with\n`);
    return 1;
  }
  const subject = { sub: values.sub, email: values.email, name: values.name, groups };
  out(`${await mintSession(result.policy.sessionKey, subject, ttl, Date.now())}\n`);
  return 0;
}
