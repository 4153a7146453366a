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
  | 'machine_token'
  | 'invalid_token'
  | 'invalid_cookie'
  | 'no_credentials'
  | 'email_not_allowed'
  | 'group_not_allowed'
  | 'session_revoked'
  | 'recheck_due'
  | 'invalid_rule'
  | 'system_token_not_allowed'
  | 'provider_removed'
  | 'provider_not_allowed';

/** Which route rule decided (a policy name or `query`), for the metric; absent when none applied. */
interface RuleLabel {
  readonly rule?: string | undefined;
}

/** Every field is always present on an allow made from a session, undefined or not: one object shape. */
export type Allow = {
  readonly status: 200;
  readonly reason: Reason;
  readonly user?: string | undefined;
  readonly email?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  /** The session's `jti`, for the request log (one session can be revoked by it). */
  readonly jti?: string | undefined;
  /** The login provider that signed the person in (the session's `idp`); undefined for any other credential. */
  readonly provider?: string | undefined;
} & RuleLabel;

export type Decision =
  | Allow
  | ({
      readonly status: 401;
      readonly reason: Reason;
      readonly tokenProblem?: TokenProblem;
      readonly detail?: string;
      readonly jti?: string | undefined;
      /** The configuration key of the rule that refused (session_revoked), for the log and `explain`. */
      readonly ruleKey?: string;
    } & RuleLabel)
  | ({
      readonly status: 403;
      /** The configuration key (or auth URL parameter) of the rule that refused, for the log and `explain`. */
      readonly ruleKey?: string;
      readonly reason: Reason;
      /** The refused session's subject, for the request log. */
      readonly user?: string;
      readonly email?: string;
      /** The groups a refused session lacked one of (group_not_allowed), for the page. */
      readonly missingGroups?: readonly string[];
      /** Why the route's rule is unusable (invalid_rule): said once in the log, with the fix. */
      readonly ruleProblem?: string;
      /** The refused session's provider (provider_not_allowed), for the request log. */
      readonly provider?: string;
      /** The configured providers this route admits, in config order (provider_not_allowed), for the page. */
      readonly acceptedProviders?: readonly string[];
    } & RuleLabel)
  | ({ readonly status: 503; readonly reason: 'no_config' } & RuleLabel);

export { SYSTEM_TOKEN_USER } from '../session/claims.js';
