import type { KeyObject } from 'node:crypto';
import type { IssueList } from './issues.js';
import { decodeJwtSecret } from './jwt-secret.js';
import { SECRET_MAX_CHARS } from './secret-digest.js';
import { type Settings, settingPath } from './settings.js';
import { stringValue } from './values.js';

/** The two shared secrets of the seed: the system token machines send, and the key that signs sessions. */
export interface Credentials {
  readonly systemTokenText: string | undefined;
  readonly jwtSecretText: string | undefined;
  readonly sessionKey: KeyObject | undefined;
}

export function compileCredentials(settings: Settings, issues: IssueList): Credentials {
  const systemTokenText = stringValue(settings.get('systemToken'), issues);
  if (systemTokenText !== undefined) checkSystemToken(systemTokenText, settingPath(settings, 'systemToken'), issues);
  const jwtSecretText = stringValue(settings.get('jwtSecret'), issues);
  const sessionKey = jwtSecretText === undefined ? undefined : decodeJwtSecret(jwtSecretText, settingPath(settings, 'jwtSecret'), issues);
  return { systemTokenText, jwtSecretText, sessionKey };
}

function checkSystemToken(text: string, path: string, issues: IssueList): void {
  if (text.length < 16) {
    issues.warn(path, `is only ${text.length} characters; anyone who guesses it has full API access`, {
      fix: 'use a random value such as `openssl rand -hex 32`',
    });
  }
  if (text.length > SECRET_MAX_CHARS) {
    issues.error(path, `is ${text.length} characters; at most ${SECRET_MAX_CHARS} are allowed`, {
      fix: 'use a random value such as `openssl rand -hex 32`',
    });
  }
  if (/\s/.test(text)) issues.error(path, 'contains white space, which an Authorization header cannot carry intact');
}
