/** Why a login failed: a closed set, used as the metric's `result` label and to pick the page shown. */
export type LoginProblem =
  | 'state_missing'
  | 'state_invalid'
  | 'state_expired'
  | 'cancelled'
  | 'idp_unreachable'
  | 'idp_error'
  | 'id_token_invalid'
  | 'identity_missing'
  | 'email_missing'
  | 'email_unverified'
  | 'email_malformed'
  | 'email_not_allowed'
  | 'session_ended';

/** A login failure from untrusted input (the browser or the IdP); never a programming error. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly problem: LoginProblem,
    /** Said to the person; must not contain tokens or secrets. */
    readonly detail: string,
    readonly email?: string,
    /** The error this one stands for, kept for the log; never shown to the person. */
    options?: { cause: unknown },
  ) {
    super(`${problem}: ${detail}`, options);
  }

  /** The problem, under the name error codes have elsewhere (jose, openid-client). */
  get code(): LoginProblem {
    return this.problem;
  }
}

/** HTTP status shown for each problem: 400 start again, 403 not allowed, 502 the provider failed. */
export function statusOf(problem: LoginProblem): 400 | 403 | 502 {
  switch (problem) {
    case 'state_missing':
    case 'state_invalid':
    case 'state_expired':
      return 400;
    case 'cancelled':
    case 'email_missing':
    case 'email_unverified':
    case 'email_malformed':
    case 'email_not_allowed':
    case 'session_ended':
      return 403;
    default:
      return 502;
  }
}

/** A cause for a log line: its name and message only (never a stack, which may quote request data). */
export function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}
