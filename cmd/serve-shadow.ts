import type { Policy } from '../src/config/policy.js';
import { decide } from '../src/core/decide.js';
import type { ServerDeps } from '../src/http/deps.js';
import { createShadow, type ShadowComparison } from '../src/http/shadow.js';
import type { Logger } from '../src/log.js';
import type { Metrics } from '../src/metrics/metrics.js';
import { parseObjectRef } from '../src/sources/kube/object-ref.js';
import { type ShadowTarget, startShadowSource } from '../src/sources/shadow-source.js';
import type { FlagSpec, UsageError } from './args.js';

/** The flags of `serve` that load a candidate config beside the live one. */
export const SHADOW_FLAGS: Record<string, FlagSpec> = {
  'shadow-config': {
    type: 'string',
    value: 'FILE',
    help: 'a candidate airy.yaml, watched like --config: every decision is also taken under it and disagreements counted; answers never change',
  },
  'shadow-configmap': { type: 'string', value: '[NS/]NAME', help: 'a candidate config in a watched ConfigMap, instead of --shadow-config' },
  'shadow-secret': { type: 'string', value: '[NS/]NAME', help: "Secret whose keys override the shadow ConfigMap's (with --shadow-configmap)" },
};

export interface RunningShadow {
  readonly name: string;
  readonly comparison: ShadowComparison;
  readonly ready: Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * The shadow source named by the flags, checked before anything starts; a mistake is `usage(message)`
 * (a UsageError: exit 2). Undefined: the shadow is off.
 */
export function shadowTargetOf(values: Record<string, string | undefined>, usage: (message: string) => UsageError): ShadowTarget | undefined {
  const file = values['shadow-config'];
  const configMap = values['shadow-configmap'];
  const secret = values['shadow-secret'];
  if (file && configMap) throw usage('serve takes at most one of --shadow-config FILE or --shadow-configmap [NS/]NAME');
  if (secret && !configMap) throw usage('--shadow-secret goes with --shadow-configmap');
  if (file) return { file };
  if (!configMap) return undefined;
  for (const [flag, text] of [
    ['shadow-configmap', configMap],
    ['shadow-secret', secret],
  ] as const) {
    try {
      if (text) parseObjectRef(text, 'default');
    } catch (err) {
      throw usage(`--${flag}: ${(err as Error).message}`);
    }
  }
  return { configMap, secret };
}

/**
 * Starts the shadow of `serve --shadow-config`/`--shadow-configmap`, or nothing when neither is
 * given. `deps` is read per comparison (the server's deps are built after this): the shadow
 * decision uses the same clock and evaluators as the live one: the same machine-token verifiers (so
 * the same JWKS cache and fetch cooldown), session memo (while jwtSecret is the same) and
 * revocation list.
 */
export async function startShadow(
  target: ShadowTarget | undefined,
  context: { readonly metrics: Metrics; readonly logger: Logger; readonly requireAuth: boolean },
  deps: () => ServerDeps,
): Promise<RunningShadow | undefined> {
  if (target === undefined) return undefined;
  const source = await startShadowSource(target, context);
  const comparison = createShadow<Policy>({
    candidate: source.store,
    decideUnder: (facts, policy) => {
      const d = deps();
      return decide(facts, d.evaluators.forPolicy(policy), d.now());
    },
    metrics: context.metrics,
    logger: context.logger,
    now: Date.now,
  });
  return { name: source.name, comparison, ready: source.ready, stop: source.stop };
}
