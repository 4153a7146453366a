/**
 * The steps of one decision, for `airy-auth explain`: decide reports each check it makes, in order,
 * to an optional recorder. The server passes none, so the request path pays one undefined check
 * per step and builds no step objects.
 */
export type StepName =
  | 'config'
  | 'route_rule'
  | 'origin'
  | 'preflight'
  | 'public_path'
  | 'credential'
  | 'identity'
  | 'revocation'
  | 'recheck'
  | 'provider'
  | 'emails'
  | 'groups';

export interface Step {
  readonly step: StepName;
  /** Passed (or did not apply); false: this step refused the request. */
  readonly ok: boolean;
  /** The configuration key (or auth URL parameter) of the rule checked, when a rule was. */
  readonly key?: string | undefined;
  /** What was found, in words; never a token or secret. */
  readonly detail: string;
}

export type Trace = (step: Step) => void;
