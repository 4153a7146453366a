import type { TokenProblem } from '../session/claims.js';

/** Why a request was allowed or refused: a closed set, used as a metric label. */
export type Reason =
  | 'no_config'
  | 'auth_disabled'
  | 'origin_not_allowed'
  | 'public_path'
  | 'preflight'
  | 'system_token'
  | 'session_token'
  | 'session_cookie'
  | 'invalid_token'
  | 'invalid_cookie'
  | 'no_credentials'
  | 'email_not_allowed';

export type Decision =
  | { readonly status: 200; readonly reason: Reason; readonly user?: string; readonly email?: string }
  | { readonly status: 401; readonly reason: Reason; readonly tokenProblem?: TokenProblem }
  | { readonly status: 403; readonly reason: Reason; readonly email?: string }
  | { readonly status: 503; readonly reason: 'no_config' };

export { SYSTEM_TOKEN_USER } from '../session/claims.js';
