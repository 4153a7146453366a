import type { Credentials } from './credentials.js';
import type { IssueList } from './issues.js';
import type { PathMatcher } from './public-paths.js';

export interface AuthSwitch {
  readonly enabled: boolean;
  /** Why authentication is off, for the loud warning and the refusal of a reload to it. */
  readonly disabledBecause: string | undefined;
}

/**
 * Authentication is on with both seed secrets or a login provider. A public path that covers every
 * path lets every request in, exactly as auth off does, so it is treated as auth off: the loud
 * warning, and a reload to it is refused.
 */
/** `login`: at least one login provider is configured. */
export function compileAuthSwitch(credentials: Credentials, login: boolean, publicPaths: PathMatcher, issues: IssueList): AuthSwitch {
  const { systemTokenText, jwtSecretText } = credentials;
  const tokenAuth = systemTokenText !== undefined && jwtSecretText !== undefined;
  const enabled = (tokenAuth || login) && publicPaths.everything === undefined;
  if (enabled) return { enabled, disabledBecause: undefined };
  const disabledBecause =
    publicPaths.everything !== undefined
      ? `publicPaths "${publicPaths.everything}" makes every path public`
      : systemTokenText !== undefined
        ? 'jwtSecret is not set (the seed requires both systemToken and jwtSecret)'
        : jwtSecretText !== undefined
          ? 'systemToken is not set (the seed requires both systemToken and jwtSecret)'
          : 'neither systemToken and jwtSecret nor an OIDC provider is configured';
  issues.warn('security', `authentication is OFF: ${disabledBecause}; every request will be allowed`, {
    fix:
      publicPaths.everything !== undefined
        ? 'list only the paths that need no credentials, such as /webhooks/**'
        : 'set both systemToken and jwtSecret (and optionally OIDC) to protect the API',
  });
  return { enabled, disabledBecause };
}
